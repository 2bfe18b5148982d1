"""The warm start of UCB1-FLAD and Exploit-Only (capability WARM_START_REWARDS).

At the initial weights, in train mode (dropout on, as the released trainer computes every gradient),
the parameter subset's gradient of
    the target: every batch of its shuffled few-shot train half, and
    each arm:   every batch of its first min(N, size) examples, shuffled (N = 1000),
each batch's token-mean loss divided by G and the batches SUMMED (the code's gradient accumulation
over ⌈n/B⌉ batches). Each arm is scored against the target with `flad_reward` (ga, gms and agg).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..capabilities.gradient_rewards import FLAD_REWARDS, flad_reward
from ..training.gradient_capability import subset_parameter


def summed_batch_gradient(model: torch.nn.Module, objective: Any, examples: list[Any], batch_size: int,
                          grad_accum: int, parameter: str, seed: int) -> tuple[torch.Tensor, int]:
    """Σ over shuffled batches of ∇_subset (batch mean loss / G), and the tokens it ran through the model."""
    head = subset_parameter(model, parameter)
    device = head.device
    order = np.random.Generator(np.random.PCG64([seed, 11, len(examples)])).permutation(len(examples))
    total, tokens = torch.zeros_like(head, dtype=torch.float32), 0
    for start in range(0, len(examples), batch_size):
        batch = [examples[i] for i in order[start:start + batch_size]]
        result = objective(model, {"examples": batch, "domain": torch.zeros(len(batch), dtype=torch.long)}, device)
        (grad,) = torch.autograd.grad(result.loss / grad_accum, [head])
        total += grad.float()
        tokens += result.model_tokens
    return total, tokens


def warm_start_rewards(model: torch.nn.Module, objective: Any, arms: list[Any], target_examples: list[Any],
                       batch_size: int, grad_accum: int, first: int = 1000, parameter: str = "lm_head",
                       seed: int = 0) -> tuple[dict[str, dict[str, float]], int]:
    """({arm: {ga, gms, agg}}, tokens probed). The model is left in the mode it was in."""
    was_training = model.training
    model.train()
    try:
        target, tokens = summed_batch_gradient(model, objective, target_examples, batch_size, grad_accum,
                                               parameter, seed)
        out: dict[str, dict[str, float]] = {}
        for arm in arms:
            grad, arm_tokens = summed_batch_gradient(model, objective, arm.examples[:first],
                                                     batch_size, grad_accum, parameter, seed)
            tokens += arm_tokens
            out[arm.name] = {kind: flad_reward(grad, target, kind) for kind in FLAD_REWARDS}
    finally:
        model.train(was_training)
    return out, tokens
