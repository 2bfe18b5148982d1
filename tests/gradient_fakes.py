"""A tiny model and a fake Lightning module for the domain-gradients capability tests (DGA, DoGE)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from benchmark.training.model import build_model

TINY_MODEL = {"family": "gpt_neox", "hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32,
              "max_positions": 16, "rotary_pct": 0.25, "parallel_residual": True, "tie_embeddings": False}
VOCAB = 40


def tiny_model() -> torch.nn.Module:
    return build_model(TINY_MODEL, VOCAB, seed=0)


class Recorder:
    """The strategy side: always due, records what it is handed, combines with fixed weights."""

    def __init__(self, weights: np.ndarray | None = None):
        self.seen: list[tuple[int, np.ndarray, np.ndarray | None, float]] = []
        self.weights = weights

    def gradients_due(self, step: int) -> bool:
        return True

    def observe_gradients(self, step: int, domain_gradients: np.ndarray, target_gradient: Any, lr: float) -> None:
        self.seen.append((step, domain_gradients.copy(), None if target_gradient is None else target_gradient.copy(), lr))

    def combination_weights(self) -> np.ndarray:
        return self.weights


def fake_module(model: torch.nn.Module, objective: Any, strategy: Any, global_step: int = 0, lr: float = 0.1) -> Any:
    trainer = SimpleNamespace(global_rank=0, world_size=1, global_step=global_step,
                              optimizers=[SimpleNamespace(param_groups=[{"lr": lr}])],
                              datamodule=SimpleNamespace(feeder=SimpleNamespace(strategy=strategy)))
    return SimpleNamespace(model=model, objective=objective, device=torch.device("cpu"), trainer=trainer)


def flat(grads: list[torch.Tensor | None], parameters: list[torch.nn.Parameter]) -> torch.Tensor:
    return torch.cat([torch.zeros(p.numel()) if g is None else g.flatten() for g, p in zip(grads, parameters)])
