"""The Lightning module: a causal LM trained on whatever micro-batches the mixture feeder serves."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import lightning as L
import torch

from ..strategies.base import DomainStats
from .model import token_losses


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, min_ratio: float) -> float:
    """LR multiplier: linear warm-up, then cosine decay to `min_ratio` (ODM: 2.5e-4 → 2.5e-5)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _no_gradient_sync(strategy: Any) -> Any:
    """DDP's `no_sync` for all but the last micro-batch of a step; nothing to skip in one process."""
    block = getattr(strategy, "block_backward_sync", None)
    return block() if block is not None else contextlib.nullcontext()


class MixingLanguageModel(L.LightningModule):
    """One `training_step` = one optimizer update made of G micro-batches (manual optimization), so
    per-step statistics, the strategy update and capabilities that need each micro-batch's own
    gradient all see the same unit everywhere. Numerically this is exactly Lightning's automatic
    accumulation: each micro-batch's loss / G is backpropagated, then clip, step, zero, schedule."""

    def __init__(self, model: torch.nn.Module, num_domains: int, optim: dict[str, Any],
                 reference_model: torch.nn.Module | None = None, grad_accum: int = 1, grad_clip: float | None = None):
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        # DoReMi's frozen reference model: kept out of the module's parameters and checkpoints.
        self._reference = [reference_model.eval().requires_grad_(False)] if reference_model is not None else []
        self.num_domains = num_domains
        self.optim = optim
        self.grad_accum = grad_accum
        self.grad_clip = grad_clip or None
        # Per-domain statistics of the current optimizer step: the five rows of DomainStats plus the
        # excess-loss sums. A plain attribute, not a buffer: DDP would broadcast rank 0's buffers.
        self.step_stats = torch.zeros(6, num_domains, dtype=torch.float64)

    def training_step(self, _tick: Any, batch_idx: int) -> torch.Tensor:
        optimizer = self.optimizers()
        feeder = self.trainer.datamodule.feeder
        total = torch.zeros((), device=self.device)
        for index in range(self.grad_accum):
            last = index == self.grad_accum - 1
            # Under DDP gradients are all-reduced once, on the step's last micro-batch.
            sync = contextlib.nullcontext() if last else _no_gradient_sync(self.trainer.strategy)
            with sync:
                loss = self._microbatch_loss(feeder.next_microbatch())  # planned live, see datamodule.py
                self.manual_backward(loss / self.grad_accum)
            total += loss.detach()
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()
        optimizer.zero_grad()
        self.lr_schedulers().step()
        mean = total / self.grad_accum
        self.log("train/loss", mean, prog_bar=True, on_step=True, batch_size=1)
        return mean

    def _microbatch_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        ids = batch["input_ids"].to(self.device)
        domains = batch["domain"].to(self.device)
        losses = token_losses(self.model, ids)
        strategy = self.trainer.datamodule.feeder.strategy
        if "loss_weights" in strategy.hooks:   # e.g. scalarization: per-example w_i / p_i
            weights = torch.as_tensor(strategy.loss_weights(batch["domain"].numpy()),
                                      dtype=losses.dtype, device=self.device)
            loss = (losses.mean(dim=1) * weights).mean()
        else:
            loss = losses.mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite training loss ({loss.item()}) at step {self.global_step + 1} "
                f"on domains {sorted(set(domains.tolist()))}; the last checkpoint is kept")
        self._accumulate(losses.detach(), domains)
        if self._reference:
            reference = self._reference[0].to(self.device)
            with torch.no_grad():
                excess = (losses.detach() - token_losses(reference, ids)).clamp(min=0)
            self.step_stats[5].index_add_(0, domains, excess.sum(dim=1).double())
        return loss

    def _accumulate(self, losses: torch.Tensor, domains: torch.Tensor) -> None:
        if self.step_stats.device != losses.device:
            self.step_stats = self.step_stats.to(losses.device)
        stats = self.step_stats
        per_seq = losses.sum(dim=1).double()
        stats[0].index_add_(0, domains, per_seq)
        stats[1].index_add_(0, domains, torch.full_like(per_seq, losses.shape[1]))
        stats[4].index_add_(0, domains, torch.ones_like(per_seq))
        if bool((domains == domains[0]).all()):  # a single-domain ("mixed minibatch") micro-batch
            stats[2, domains[0]] += losses.mean().double()
            stats[3, domains[0]] += 1

    def pop_step_stats(self) -> DomainStats:
        """Per-domain stats of the finished step, summed over all ranks, then reset."""
        reduced = self.trainer.strategy.reduce(self.step_stats.clone(), reduce_op="sum")
        self.step_stats.zero_()
        return DomainStats.from_array(reduced.cpu().numpy())

    def configure_optimizers(self) -> Any:
        o = self.optim
        decay = [p for n, p in self.model.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
        warmup = max(1, int(round(o["warmup_fraction"] * o["total_steps"])))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: warmup_cosine(s, o["total_steps"], warmup, o["min_lr_ratio"]))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
