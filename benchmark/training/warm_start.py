"""The warm start of UCB1-FLAD and Exploit-Only (capability WARM_START_REWARDS), on any benchmark.

At the initial weights, in train mode (dropout on, as the released trainer computes every gradient),
the parameter subset's gradient of
    the target: every batch of its shuffled few-shot train half, and
    each arm:   every batch of its first min(N, size) examples, shuffled (N = 1000),
each batch's token-mean loss divided by G and the batches SUMMED (the code's gradient accumulation
over ⌈n/B⌉ batches). Each arm is scored against the target with `flad_reward` (ga, gms and agg).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..capabilities import Capability, needs
from ..records import write_json_atomic

from ..capabilities.gradient_rewards import FLAD_REWARDS, flad_reward
from .gradient_capability import examples_batch, subset_parameter


def summed_batch_gradient(model: torch.nn.Module, objective: Any, examples: list[Any], batch_size: int,
                          grad_accum: int, parameter: str, seed: int,
                          collate: Callable[[list[Any]], dict[str, Any]] = examples_batch) -> tuple[torch.Tensor, int]:
    """Σ over shuffled batches of ∇_subset (batch mean loss / G), and the tokens it ran through the model."""
    head = subset_parameter(model, parameter)
    device = head.device
    order = np.random.Generator(np.random.PCG64([seed, 11, len(examples)])).permutation(len(examples))
    total, tokens = torch.zeros_like(head, dtype=torch.float32), 0
    for start in range(0, len(examples), batch_size):
        batch = [examples[i] for i in order[start:start + batch_size]]
        result = objective(model, collate(batch), device)
        (grad,) = torch.autograd.grad(result.loss / grad_accum, [head])
        total += grad.float()
        tokens += result.model_tokens
    return total, tokens


def warm_start_rewards(model: torch.nn.Module, objective: Any, arms: list[Any], target_examples: list[Any],
                       batch_size: int, grad_accum: int, first: int = 1000, parameter: str = "lm_head",
                       seed: int = 0, collate: Callable[[list[Any]], dict[str, Any]] = examples_batch,
                       ) -> tuple[dict[str, dict[str, float]], int]:
    """({arm: {ga, gms, agg}}, tokens probed). The model is left in the mode it was in."""
    was_training = model.training
    model.train()
    try:
        target, tokens = summed_batch_gradient(model, objective, target_examples, batch_size, grad_accum,
                                               parameter, seed, collate)
        out: dict[str, dict[str, float]] = {}
        for arm in arms:
            grad, arm_tokens = summed_batch_gradient(model, objective, arm.examples[:first],
                                                     batch_size, grad_accum, parameter, seed, collate)
            tokens += arm_tokens
            out[arm.name] = {kind: flad_reward(grad, target, kind) for kind in FLAD_REWARDS}
    finally:
        model.train(was_training)
    return out, tokens


def apply_warm_start(strategy: Any, model: torch.nn.Module, objective: Any, arms: list[Any],
                     target_items: list[Any], training: dict[str, Any], seed: int, cache_path: Path,
                     collate: Callable[[list[Any]], dict[str, Any]] = examples_batch) -> dict[str, Any] | None:
    """Give a method that declared WARM_START_REWARDS its rewards (cached at `cache_path`); returns the
    warm start as an extra run of the record's compute (with its `rewards`), or None."""
    if not needs(strategy, Capability.WARM_START_REWARDS):
        return None
    start = time.perf_counter()
    if cache_path.exists():
        cached, fresh = json.loads(cache_path.read_text()), False
    else:
        rewards, tokens = warm_start_rewards(model, objective, arms, target_items, training["batch_size"],
                                             training.get("grad_accum", 1), training.get("warm_start_examples", 1000),
                                             seed=seed, collate=collate)
        cached, fresh = {"rewards": rewards, "tokens": tokens}, True
        write_json_atomic(cache_path, cached)
    kind = strategy.reward_settings().kind
    strategy.set_warm_start_rewards([cached["rewards"][a.name][kind] for a in arms])
    return {"kind": "warm_start", "cached": not fresh, "path": str(cache_path), "tokens": cached["tokens"],
            "seconds": time.perf_counter() - start, "steps": 0, "flops": 0.0, "rewards": cached["rewards"],
            "note": "probe passes: counted in extra_forward_tokens / extra_backward_tokens"}


def cache_file(directory: Path, name: str, payload: Any) -> Path:
    """`directory/name__<hash of payload>.json`: one cached warm start per model, data, target and settings."""
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return directory / f"{name}__{key}.json"
