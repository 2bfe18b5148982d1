"""The thin Lightning adapter: feeds each finished step's statistics to the strategy, evaluates
per domain every N steps, and keeps the curves in the checkpoint so a resumed run is identical."""

from __future__ import annotations

import time
from typing import Any

import lightning as L

from ..evaluation.per_domain import evaluate_per_domain


class MixingCallback(L.Callback):
    def __init__(self, data: Any, total_steps: int, eval_every: int, eval_batch_size: int, log_every: int = 10):
        self.total_steps = total_steps
        self.data = data
        self.eval_every = eval_every
        self.eval_batch_size = eval_batch_size
        self.log_every = log_every
        self.curves: dict[str, list] = {"eval_steps": [], "val_loss": [], "train_steps": [], "train_loss": []}
        self.eval_seconds = 0.0
        self.train_seconds = 0.0  # time in training steps (strategy included), evaluation excluded
        self._clock = 0.0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._clock = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        feeder = trainer.datamodule.feeder
        step = trainer.global_step
        now = time.perf_counter()
        self.train_seconds += now - self._clock
        stats = module.pop_step_stats()
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        feeder.update_strategy(step, stats, lr)
        if step % self.log_every == 0 or step == 1:
            tokens = stats.tokens.sum()
            self.curves["train_steps"].append(step)
            self.curves["train_loss"].append(float(stats.token_loss_sum.sum() / max(tokens, 1)))
        if step % self.eval_every == 0 or step == self.total_steps:
            self.evaluate(trainer, module, step)
        self._clock = time.perf_counter()

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, step: int) -> None:
        if self.curves["eval_steps"] and self.curves["eval_steps"][-1] == step:
            return
        start = time.perf_counter()
        losses = evaluate_per_domain(module.model, self.data.validation_blocks, self.eval_batch_size,
                                     self.data.token_offset, module.device, trainer.world_size,
                                     trainer.global_rank)
        self.eval_seconds += time.perf_counter() - start
        self.curves["eval_steps"].append(step)
        self.curves["val_loss"].append(losses)

    def state_dict(self) -> dict[str, Any]:
        return {"curves": self.curves, "eval_seconds": self.eval_seconds, "train_seconds": self.train_seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curves = state["curves"]
        self.eval_seconds = state["eval_seconds"]
        self.train_seconds = state["train_seconds"]
