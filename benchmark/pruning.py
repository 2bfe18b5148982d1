"""Optuna pruning for step-based training.

`optuna_integration.PyTorchLightningPruningCallback` reports at `step=trainer.current_epoch`; our
runs are one long epoch, so it would record only step 0 and never prune. This callback reports at
the GLOBAL optimizer step, once per new evaluation point of `MixingCallback` (it must come after it
in the callback list, as `runner.train(..., extra_callbacks=[...])` places it), the VALIDATION
average perplexity (ODM's metric, unweighted mean of per-domain perplexities), and raises
`optuna.TrialPruned` when the pruner says so.

Lightning lets the exception through `trainer.fit` after tearing the trainer down cleanly (the
checkpoint of the last save stays on disk); `runner.execute` then writes the partial output and
raises `RunFailed` *from* the TrialPruned — `is_pruned(exc)` recognises that, and the sweep's
objective re-raises TrialPruned so Optuna records the trial as PRUNED, not FAILED.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import optuna

from .leaderboard import curve_avg_ppl


class StepPruningCallback(L.Callback):
    def __init__(self, trial: optuna.trial.BaseTrial, metric: str = "val/avg_ppl") -> None:
        self.trial = trial
        self.metric = metric
        self.reported: list[tuple[int, float]] = []
        self.pruned_at: int | None = None
        self.should_prune_calls: list[int] = []

    @staticmethod
    def _mixing_callback(trainer: L.Trainer) -> Any:
        from .training.callback import MixingCallback

        for callback in trainer.callbacks:
            if isinstance(callback, MixingCallback):
                return callback
        raise RuntimeError("StepPruningCallback needs the MixingCallback in the trainer's callbacks")

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        curves = self._mixing_callback(trainer).curves
        steps = curves["eval_steps"]
        if not steps or (self.reported and self.reported[-1][0] >= steps[-1]):
            return  # no new evaluation point since the last report
        step, value = int(steps[-1]), curve_avg_ppl(curves["val_loss"][-1])
        if trainer.global_rank != 0:
            return
        self.trial.report(value, step)
        self.reported.append((step, value))
        self.should_prune_calls.append(step)
        if self.trial.should_prune():
            self.pruned_at = step
            raise optuna.TrialPruned(f"pruned at global step {step} (validation avg ppl {value:.4g})")


def is_pruned(exc: BaseException) -> bool:
    """True if `exc` (e.g. RunFailed) was caused, directly or through its chain, by TrialPruned."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, optuna.TrialPruned):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
