"""The gradient-rewards capability: per-arm gradients against the target's, inside the optimizer step.

Served to strategies that declare `Capability.GRADIENT_REWARDS` (EXP3-FLAD, UCB1-FLAD). Every
optimizer update, following the released FLAD trainer (docs/methods/flad-bandits.md):

    for each micro-batch (one arm each):  Δ = change of the parameter subset's .grad it caused
    Δ̄_arm = mean of the Δ of the arm's micro-batches in this update
    target pass: every batch of the shuffled few-shot target train half, loss = batch mean / G,
                 backpropagated into the same gradients (the model trains on the target each update)
    clip, step
    ∇T = the subset's gradient of the same target pass at the NEW weights ("after", the code), or
         the target pass's own change of .grad before the step ("before", the paper's pseudo-code)
    reward_arm = flad_reward(Δ̄_arm, ∇T, kind)   → DomainStats.rewards (NaN for arms not pulled)

Under DDP each rank keeps its own gradients until the target pass is done (the module reduces them
by hand afterwards); per-arm sums, counts and ∇T are all-reduced, and the target's batches are
shared out between ranks, so the rewards equal those of one process with the same global batch.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import torch

from ..capabilities import RewardSettings
from ..capabilities.gradient_rewards import flad_reward


def examples_batch(items: list[Any]) -> dict[str, Any]:
    """A batch of prompted examples (FLAD) for the objective; the domain index is unused."""
    return {"examples": items, "domain": torch.zeros(len(items), dtype=torch.long)}


def blocks_batch(token_offset: int) -> Callable[[list[Any]], dict[str, Any]]:
    """Batches of token blocks (pre-training targets) for the objective."""
    def collate(items: list[Any]) -> dict[str, Any]:
        ids = torch.from_numpy(np.stack(items).astype(np.int64) + token_offset)
        return {"input_ids": ids, "domain": torch.zeros(len(items), dtype=torch.long)}
    return collate


class TargetBatches:
    """The target's training items as shuffled batches, one fresh order (and template draw) per pass;
    `items(pass_index)` gives the pass's items, a function of the seed and the pass only; `collate`
    turns a list of items into the objective's batch."""

    def __init__(self, items: Callable[[int], list[Any]], batch_size: int, seed: int,
                 collate: Callable[[list[Any]], dict[str, Any]] = examples_batch):
        self.items, self.batch_size, self.seed, self.collate = items, batch_size, seed, collate

    def batches(self, pass_index: int, rank: int = 0, world_size: int = 1) -> list[list[Any]]:
        items = self.items(pass_index)
        order = np.random.Generator(np.random.PCG64([self.seed, 9, pass_index])).permutation(len(items))
        shuffled = [items[i] for i in order]
        all_batches = [shuffled[i:i + self.batch_size] for i in range(0, len(shuffled), self.batch_size)]
        return all_batches[rank::world_size]


def subset_parameter(model: torch.nn.Module, name: str) -> torch.nn.Parameter:
    """The parameter subset the rewards use: `lm_head` (the output projection) or a parameter name."""
    if name == "lm_head":
        return model.get_output_embeddings().weight
    parameters = dict(model.named_parameters())
    if name not in parameters:
        raise ValueError(f"reward parameters: {name!r} is not a parameter of the model")
    return parameters[name]


class GradientRewards:
    local_gradients = True

    def __init__(self, settings: RewardSettings, target: TargetBatches, num_arms: int, grad_accum: int):
        self.settings, self.target, self.num_arms, self.grad_accum = settings, target, num_arms, grad_accum
        self.passes = 0            # target passes so far (their order and templates derive from it)
        self.extra_tokens = 0      # forward+backward tokens beyond training (the "after" target pass)
        self.trained_tokens = 0    # tokens of the target passes (trained on, on top of the micro-batches)
        self.seconds = 0.0
        self.last_target_loss = float("nan")
        self._reset()

    def _reset(self) -> None:
        self._before: torch.Tensor | None = None
        self._sums: dict[int, torch.Tensor] = {}
        self._counts = np.zeros(self.num_arms)
        self._target_before: torch.Tensor | None = None

    def _head(self, module: Any) -> torch.nn.Parameter:
        return subset_parameter(module.model, self.settings.parameters)

    def _grad(self, module: Any) -> torch.Tensor:
        head = self._head(module)
        return torch.zeros_like(head, dtype=torch.float32) if head.grad is None else head.grad.detach().float().clone()

    def before_microbatch(self, module: Any, batch: dict[str, Any]) -> None:
        self._before = self._grad(module)

    def after_microbatch(self, module: Any, result: Any) -> None:
        domains = result.domains
        if not bool((domains == domains[0]).all()):
            raise ValueError("gradient rewards need one arm per micro-batch (granularity 'microbatch')")
        arm = int(domains[0])
        delta = self._grad(module) - self._before
        self._sums[arm] = self._sums[arm] + delta if arm in self._sums else delta
        self._counts[arm] += 1

    def _target_loss(self, module: Any, batch: list[Any]) -> Any:
        return module.objective(module.model, self.target.collate(batch), module.device)

    def before_optimizer_step(self, module: Any) -> None:
        """The target pass (trained on) — and, for "before", its own change of the subset's gradient."""
        before = self._grad(module)
        trainer = module.trainer
        batches = self.target.batches(self.passes, trainer.global_rank, trainer.world_size)
        total, count = 0.0, 0
        for batch in batches:
            result = self._target_loss(module, batch)
            module.manual_backward(result.loss / self.grad_accum)
            self.trained_tokens += result.model_tokens   # the target pass trains the model
            total, count = total + float(result.example_sums.sum()), count + int(result.example_tokens.sum())
        self.last_target_loss = total / max(count, 1)
        self._target_before = self._grad(module) - before

    def _target_after(self, module: Any) -> torch.Tensor:
        """The subset's gradient of the whole target pass at the updated weights (autograd on the subset only)."""
        trainer, head = module.trainer, self._head(module)
        total = torch.zeros_like(head, dtype=torch.float32)
        for batch in self.target.batches(self.passes, trainer.global_rank, trainer.world_size):
            result = self._target_loss(module, batch)
            (grad,) = torch.autograd.grad(result.loss / self.grad_accum, [head])
            total += grad.float()
            self.extra_tokens += result.model_tokens
        return total

    def after_optimizer_step(self, module: Any, stats: torch.Tensor) -> None:
        start = time.perf_counter()
        target = self._target_after(module) if self.settings.target_gradient == "after" else self._target_before
        target = _sum_over_ranks(module, target)
        counts = _sum_over_ranks(module, torch.as_tensor(self._counts, device=target.device)).cpu().numpy()
        rewards = np.full(self.num_arms, np.nan)
        for arm in range(self.num_arms):
            local = self._sums.get(arm, torch.zeros_like(target))
            total = _sum_over_ranks(module, local) if module.trainer.world_size > 1 else local
            if counts[arm] > 0:
                rewards[arm] = flad_reward(total / counts[arm], target, self.settings.kind)
        stats[6] = torch.as_tensor(rewards, dtype=stats.dtype, device=stats.device)
        self.passes += 1
        self._reset()
        self.seconds += time.perf_counter() - start

    def state_dict(self) -> dict[str, Any]:
        return {"passes": self.passes, "extra_tokens": self.extra_tokens, "trained_tokens": self.trained_tokens,
                "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.passes, self.extra_tokens, self.seconds = state["passes"], state["extra_tokens"], state["seconds"]
        self.trained_tokens = state["trained_tokens"]


def _sum_over_ranks(module: Any, tensor: torch.Tensor) -> torch.Tensor:
    if module.trainer.world_size <= 1:
        return tensor
    tensor = tensor.clone()
    torch.distributed.all_reduce(tensor)
    return tensor
