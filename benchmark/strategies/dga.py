"""Dynamic Gradient Alignment (Fan, Grangier, Ablin 2024, arXiv 2410.02498; no public code).

Online, in the run itself (no proxy): training samples from the mixture α. Every T steps, at the
current weights, the trainer measures each domain's gradient g_i on a fresh batch of that domain
and the target's gradient g_T on a batch of the target (DOMAIN_GRADIENTS + TARGET_GRADIENT,
benchmark/training/domain_gradients.py, source "extra"); then

    α̂ ← softmax(log α̂ + η·⟨g_i, g_T⟩)          (exponentiated gradient: α̂ ⊙ exp(η·⟨g_i, g_T⟩), normalised)
    α ← β·α + (1 − β)·α̂                          (EMA of the weights; β = 0: none)

with η optionally scaled by the current learning rate (`lr_scaled`). The one-step-unrolled
outer gradient of the target loss w.r.t. α_i is −lr·⟨g_i, g_T⟩, hence the sign. See
docs/methods/dga.md for what is read from the paper and what is our choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..capabilities import Capability, GradientSettings
from .base import DomainStats, MixingStrategy, StrategyConfigError
from .odm import initial_mixture, softmax


def check_positive_int(value: Any, field_name: str) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise StrategyConfigError(f"{field_name}: must be a positive integer, got {value!r}")


def check_parameters(value: Any) -> None:
    if not (isinstance(value, str) and value):
        raise StrategyConfigError(f"parameters: 'lm_head', 'all' or a parameter name, got {value!r}")


@dataclass
class DGAStrategy(MixingStrategy):
    name = "dga"

    update_every: int = 10            # T
    step_size: float = 1.0            # η
    ema: float = 0.9                  # β: weight of the previous sampling mixture
    lr_scaled: bool = False           # η·lr_t instead of η
    domain_batch_size: int | None = None   # sequences per domain batch; None: the training batch size
    parameters: str = "lm_head"
    initial_weights: Any = "uniform"

    granularity = "sample"
    capabilities = frozenset({Capability.DOMAIN_GRADIENTS, Capability.TARGET_GRADIENT})

    def validate(self) -> None:
        check_positive_int(self.update_every, "update_every")
        if not (isinstance(self.step_size, (int, float)) and self.step_size > 0):
            raise StrategyConfigError(f"step_size: must be > 0, got {self.step_size!r}")
        if not (isinstance(self.ema, (int, float)) and 0.0 <= self.ema < 1.0):
            raise StrategyConfigError(f"ema: must be in [0, 1), got {self.ema!r}")
        if not isinstance(self.lr_scaled, bool):
            raise StrategyConfigError(f"lr_scaled: must be true or false, got {self.lr_scaled!r}")
        if self.domain_batch_size is not None:
            check_positive_int(self.domain_batch_size, "domain_batch_size")
        check_parameters(self.parameters)
        self.alpha = initial_mixture(self.initial_weights, self.domains, self.sizes)   # sampled (EMA)
        self.alpha_hat = self.alpha.copy()                                              # mirror-descent iterate
        self.last_alignment = np.full(self.num_domains, np.nan)

    def gradient_settings(self) -> GradientSettings:
        return GradientSettings(parameters=self.parameters, source="extra", target=True,
                                batch_size=self.domain_batch_size)

    def gradients_due(self, step: int) -> bool:
        return step % self.update_every == 0

    def observe_gradients(self, step: int, domain_gradients: np.ndarray, target_gradient: np.ndarray | None,
                          lr: float) -> None:
        if target_gradient is None:
            raise ValueError("dga: the trainer must hand the target's gradient (run with --target DOMAIN)")
        alignment = np.asarray(domain_gradients, dtype=np.float64) @ np.asarray(target_gradient, dtype=np.float64)
        eta = self.step_size * (lr if self.lr_scaled else 1.0)
        self.alpha_hat = softmax(np.log(self.alpha_hat) + eta * alignment)
        self.alpha = self.ema * self.alpha + (1.0 - self.ema) * self.alpha_hat
        self.last_alignment = alignment

    def current_weights(self, step: int) -> np.ndarray:
        return self.alpha

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        pass   # the weights move in observe_gradients

    def reward_log(self) -> list[float] | None:
        """The last alignments ⟨g_i, g_T⟩ (none before the first measurement)."""
        return None if np.isnan(self.last_alignment).all() else self.last_alignment.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"alpha": self.alpha.tolist(), "alpha_hat": self.alpha_hat.tolist(),
                "last_alignment": self.last_alignment.tolist()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.alpha = np.asarray(state["alpha"], dtype=np.float64)
        self.alpha_hat = np.asarray(state["alpha_hat"], dtype=np.float64)
        self.last_alignment = np.asarray(state["last_alignment"], dtype=np.float64)
