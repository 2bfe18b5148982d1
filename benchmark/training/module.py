"""The Lightning module: a language model trained on whatever micro-batches the mixture feeder serves.

One module for every benchmark family: what a micro-batch's loss is comes from the objective
(objectives.py), and what a method needs beyond loss statistics comes from the step capabilities
it declared (e.g. gradient rewards, gradient_capability.py). A static mixture declares none.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Protocol

import lightning as L
import torch

from ..capabilities import Capability, needs
from ..strategies.base import DomainStats
from .objectives import MicrobatchLoss


def lr_multiplier(step: int, total_steps: int, warmup_steps: int, schedule: str = "cosine",
                  min_ratio: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to `min_ratio` (ODM: 2.5e-4 → 2.5e-5) or constant (FLAD)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(model: torch.nn.Module, o: dict[str, Any]) -> tuple[Any, Any]:
    """AdamW with weight decay on matrices only (ODM), or Adafactor with a fixed LR (FLAD)."""
    if o.get("optimizer", "adamw") == "adafactor":
        from transformers.optimization import Adafactor
        optimizer = Adafactor(model.parameters(), lr=o["lr"], relative_step=False, scale_parameter=False,
                              warmup_init=False, weight_decay=o["weight_decay"])
    else:
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
    warmup = max(1, int(round(o["warmup_fraction"] * o["total_steps"])))
    schedule, min_ratio = o.get("schedule", "cosine"), o.get("min_lr_ratio", 0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_multiplier(s, o["total_steps"], warmup, schedule, min_ratio))
    return optimizer, scheduler


class StepCapability(Protocol):
    """A capability that acts inside the optimizer step (see gradient_capability.py)."""

    local_gradients: bool   # True: keep gradients per rank until `before_optimizer_step` is done

    def before_microbatch(self, module: "MixingLanguageModel", batch: dict[str, Any]) -> None: ...
    def after_microbatch(self, module: "MixingLanguageModel", result: MicrobatchLoss) -> None: ...
    def before_optimizer_step(self, module: "MixingLanguageModel") -> None: ...
    def after_optimizer_step(self, module: "MixingLanguageModel", stats: torch.Tensor) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _no_gradient_sync(strategy: Any, skip: bool) -> Any:
    """DDP's `no_sync` where asked; nothing to skip in one process."""
    block = getattr(strategy, "block_backward_sync", None)
    return block() if skip and block is not None else contextlib.nullcontext()


class MixingLanguageModel(L.LightningModule):
    """One `training_step` = one optimizer update made of G micro-batches (manual optimization), so
    per-step statistics, the strategy update and capabilities that need each micro-batch's own
    gradient all see the same unit everywhere. Each micro-batch's loss / G is backpropagated, then
    clip, step, zero, schedule — exactly Lightning's automatic accumulation."""

    def __init__(self, model: torch.nn.Module, objective: Any, num_domains: int, optim: dict[str, Any],
                 reference_model: torch.nn.Module | None = None, grad_accum: int = 1,
                 grad_clip: float | None = None, capabilities: list[StepCapability] | None = None):
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.objective = objective
        # DoReMi's frozen reference model: kept out of the module's parameters and checkpoints.
        self._reference = [reference_model.eval().requires_grad_(False)] if reference_model is not None else []
        self.num_domains = num_domains
        self.optim = optim
        self.grad_accum = grad_accum
        self.grad_clip = grad_clip or None
        self.capabilities = list(capabilities or [])
        self.local_gradients = any(c.local_gradients for c in self.capabilities)
        # Per-domain statistics of the current optimizer step: the five rows of DomainStats, the
        # excess-loss sums and the rewards (NaN: not measured). A plain attribute, not a buffer:
        # DDP would broadcast rank 0's buffers.
        self.step_stats = self._empty_stats()
        self.tokens_seen = 0   # tokens through the model in training updates (checkpointed)

    def _empty_stats(self) -> torch.Tensor:
        stats = torch.zeros(7, self.num_domains, dtype=torch.float64)
        stats[6] = float("nan")
        return stats

    def training_step(self, _tick: Any, batch_idx: int) -> torch.Tensor:
        optimizer = self.optimizers()
        feeder = self.trainer.datamodule.feeder
        total = torch.zeros((), device=self.device)
        for index in range(self.grad_accum):
            # Under DDP gradients are all-reduced once: on the step's last micro-batch, or by hand
            # after the capabilities have read each rank's own gradients.
            skip = self.local_gradients or index < self.grad_accum - 1
            with _no_gradient_sync(self.trainer.strategy, skip):
                batch = feeder.next_microbatch()   # planned live, see datamodule.py
                for capability in self.capabilities:
                    capability.before_microbatch(self, batch)
                result = self._microbatch_loss(batch)
                self.manual_backward(result.loss / self.grad_accum)
                for capability in self.capabilities:
                    capability.after_microbatch(self, result)
            total += result.loss.detach()
        with _no_gradient_sync(self.trainer.strategy, self.local_gradients):
            for capability in self.capabilities:   # e.g. the target pass, trained on
                capability.before_optimizer_step(self)
        if self.local_gradients:
            self._all_reduce_gradients()
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()
        optimizer.zero_grad()
        self.lr_schedulers().step()
        for capability in self.capabilities:
            capability.after_optimizer_step(self, self.step_stats)
        mean = total / self.grad_accum
        self.log("train/loss", mean, prog_bar=True, on_step=True, batch_size=1)
        return mean

    def _all_reduce_gradients(self) -> None:
        """The mean gradient over ranks, as DDP's own reduction gives (a no-op in one process)."""
        if self.trainer.world_size <= 1:
            return
        for parameter in self.model.parameters():
            if parameter.grad is not None:
                torch.distributed.all_reduce(parameter.grad)
                parameter.grad /= self.trainer.world_size

    def _microbatch_loss(self, batch: dict[str, Any]) -> MicrobatchLoss:
        strategy = self.trainer.datamodule.feeder.strategy
        weights = strategy.loss_weights(batch["domain"].numpy()) if needs(strategy, Capability.LOSS_WEIGHTS) else None
        result = self.objective(self.model, batch, self.device, weights)
        if not torch.isfinite(result.loss):
            raise FloatingPointError(
                f"non-finite training loss ({result.loss.item()}) at step {self.global_step + 1} "
                f"on domains {sorted(set(result.domains.tolist()))}; the last checkpoint is kept")
        self._accumulate(result)
        self.tokens_seen += result.model_tokens
        if self._reference:
            excess = self.objective.excess_over(self._reference[0].to(self.device), result)
            self.step_stats[5].index_add_(0, result.domains, excess.double())
        return result

    def _accumulate(self, result: MicrobatchLoss) -> None:
        if self.step_stats.device != result.loss.device:
            self.step_stats = self.step_stats.to(result.loss.device)
        stats, domains = self.step_stats, result.domains
        stats[0].index_add_(0, domains, result.example_sums.double())
        stats[1].index_add_(0, domains, result.example_tokens.double())
        stats[4].index_add_(0, domains, torch.ones_like(result.example_sums, dtype=torch.float64))
        if bool((domains == domains[0]).all()):  # a single-domain ("mixed minibatch") micro-batch
            stats[2, domains[0]] += result.mean_loss.double()
            stats[3, domains[0]] += 1

    def pop_step_stats(self) -> DomainStats:
        """Per-domain stats of the finished step, summed over all ranks, then reset. Rewards are
        already global (the capability reduced them) and pass through unchanged."""
        reduced = self.trainer.strategy.reduce(self.step_stats[:6].clone(), reduce_op="sum")
        rewards = self.step_stats[6].cpu().numpy().copy()
        self.step_stats = self._empty_stats().to(self.step_stats.device)
        stats = DomainStats.from_array(reduced.cpu().numpy())
        if not all(r != r for r in rewards):   # some arm was scored this step
            stats.rewards = rewards
        return stats

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["capabilities"] = [c.state_dict() for c in self.capabilities]
        checkpoint["tokens_seen"] = self.tokens_seen

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.tokens_seen = checkpoint.get("tokens_seen", 0)
        for capability, state in zip(self.capabilities, checkpoint.get("capabilities", [])):
            capability.load_state_dict(state)

    def configure_optimizers(self) -> Any:
        optimizer, scheduler = build_optimizer(self.model, self.optim)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
