"""The thin Lightning adapter: feeds each finished step's statistics to the strategy, evaluates
every N steps, and keeps the curves in the checkpoint so a resumed run is identical.

What "evaluate" means belongs to the benchmark: per-domain held-out losses for pre-training
(`PerDomainValidation`), few-shot validation accuracy with early stopping for FLAD
(benchmark/flad/validation.py). An evaluator appends to the curves and may ask training to stop.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import lightning as L
import numpy as np

from ..evaluation.per_domain import evaluate_per_domain


class Evaluator(Protocol):
    curve_keys: tuple[str, ...]

    def __call__(self, trainer: L.Trainer, module: L.LightningModule, step: int,
                 curves: dict[str, list]) -> bool: ...   # True: stop training now
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class PerDomainValidation:
    """Per-domain mean token loss on the fixed validation blocks (curve `val_loss`)."""

    curve_keys = ("val_loss",)

    def __init__(self, data: Any, eval_batch_size: int):
        self.data, self.eval_batch_size = data, eval_batch_size

    def __call__(self, trainer: L.Trainer, module: L.LightningModule, step: int, curves: dict[str, list]) -> bool:
        curves["val_loss"].append(evaluate_per_domain(module.model, self.data.validation_blocks, self.eval_batch_size,
                                                      self.data.token_offset, module.device, trainer.world_size,
                                                      trainer.global_rank))
        return False

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class MixingCallback(L.Callback):
    def __init__(self, evaluator: Evaluator, total_steps: int, eval_every: int, log_every: int = 10,
                 extra_curves: tuple[str, ...] = ()):
        self.evaluator = evaluator
        self.total_steps = total_steps
        self.eval_every = eval_every
        self.log_every = log_every
        self.curves: dict[str, list] = {k: [] for k in ("eval_steps", *evaluator.curve_keys, "train_steps",
                                                          "train_loss", *extra_curves)}
        self.eval_seconds = 0.0
        self.train_seconds = 0.0  # time in training steps (strategy included), evaluation excluded
        self.stopped_early = False
        self._clock = 0.0
        self._draws: np.ndarray | None = None   # draws per domain since the last logged step

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
        self._draws = stats.sequences if self._draws is None else self._draws + stats.sequences
        if step % self.log_every == 0 or step == 1:
            self._log_train(step, stats, lr)
        if step % self.eval_every == 0 or step == self.total_steps:
            self.evaluate(trainer, module, step)
        self._clock = time.perf_counter()

    def _log_train(self, step: int, stats: Any, lr: float) -> None:
        tokens = stats.tokens.sum()
        self.curves["train_steps"].append(step)
        self.curves["train_loss"].append(float(stats.token_loss_sum.sum() / max(tokens, 1)))
        if "lr" in self.curves:
            self.curves["lr"].append(lr)
        if "draws" in self.curves:
            self.curves["draws"].append(self._draws.tolist())
        self._draws = None

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, step: int) -> None:
        if self.curves["eval_steps"] and self.curves["eval_steps"][-1] == step:
            return
        start = time.perf_counter()
        self.curves["eval_steps"].append(step)
        stop = self.evaluator(trainer, module, step, self.curves)
        self.eval_seconds += time.perf_counter() - start
        if stop:
            self.stopped_early = True
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"curves": self.curves, "eval_seconds": self.eval_seconds, "train_seconds": self.train_seconds,
                "evaluator": self.evaluator.state_dict(), "stopped_early": self.stopped_early,
                "draws": None if self._draws is None else self._draws.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curves = state["curves"]
        self.eval_seconds = state["eval_seconds"]
        self.train_seconds = state["train_seconds"]
        self.evaluator.load_state_dict(state.get("evaluator", {}))
        self.stopped_early = state.get("stopped_early", False)
        self._draws = None if state.get("draws") is None else np.asarray(state["draws"])
