"""Optuna pruning for step-based training.

`optuna_integration.PyTorchLightningPruningCallback` reports at `step=trainer.current_epoch`; our
runs are one long epoch, so it would record only step 0 and never prune. This callback reports at
the GLOBAL optimizer step, once per new evaluation point of `MixingCallback` (it must come after it
in the callback list, as `runner.train(..., extra_callbacks=[...])` places it), the family's
VALIDATION metric, and raises `optuna.TrialPruned` when the pruner says so:
- pre-training (`val/avg_ppl`): the validation average perplexity (ODM's metric, unweighted mean
  of per-domain perplexities) of `curves["val_loss"][-1]` — the study minimises;
- FLAD (`val/acc`): the few-shot validation accuracy `curves["val_acc"][-1]` that
  `FewShotValidation` just appended — the study maximises (the pruner follows the study's direction);
- `val/mean_loss`: the mean per-domain validation loss, for a study of the mean excess loss (the
  floors are constants, so the pruner ranks trials the same on either).

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

METRICS = {"pretrain": "val/avg_ppl", "flad": "val/acc"}      # the metric each family's sweep reports
DESCRIPTIONS = {"val/avg_ppl": "validation avg ppl", "val/acc": "few-shot validation accuracy",
                "val/mean_loss": "validation mean per-domain loss"}


class StepPruningCallback(L.Callback):
    def __init__(self, trial: optuna.trial.BaseTrial, metric: str = "val/avg_ppl", family: str | None = None) -> None:
        if family is not None:
            if family not in METRICS:
                raise ValueError(f"StepPruningCallback: no pruning metric for family {family!r}; "
                                 f"known: {', '.join(METRICS)}")
            metric = METRICS[family]
        if metric not in DESCRIPTIONS:
            raise ValueError(f"StepPruningCallback: unknown metric {metric!r}; known: {', '.join(DESCRIPTIONS)}")
        self.trial = trial
        self.metric = metric
        self.reported: list[tuple[int, float]] = []
        self.pruned_at: int | None = None
        self.should_prune_calls: list[int] = []
        self.tokens_trained = 0      # the module's training tokens at the last report

    @staticmethod
    def _mixing_callback(trainer: L.Trainer) -> Any:
        from .training.callback import MixingCallback

        for callback in trainer.callbacks:
            if isinstance(callback, MixingCallback):
                return callback
        raise RuntimeError("StepPruningCallback needs the MixingCallback in the trainer's callbacks")

    def value(self, curves: dict[str, list]) -> float:
        """The metric at the latest evaluation point."""
        if self.metric == "val/acc":
            return float(curves["val_acc"][-1])
        if self.metric == "val/mean_loss":
            return float(sum(curves["val_loss"][-1]) / len(curves["val_loss"][-1]))
        return curve_avg_ppl(curves["val_loss"][-1])

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        curves = self._mixing_callback(trainer).curves
        steps = curves["eval_steps"]
        if not steps or (self.reported and self.reported[-1][0] >= steps[-1]):
            return  # no new evaluation point since the last report
        step, value = int(steps[-1]), self.value(curves)
        if trainer.global_rank != 0:
            return
        self.trial.report(value, step)
        self.reported.append((step, value))
        self.tokens_trained = int(getattr(module, "tokens_seen", 0))
        if self.metric == "val/acc":
            # FLAD steps differ in tokens: keep the count so far on the trial (a dead worker's trial is
            # then counted with it).
            self.trial.set_user_attr("tokens", self.tokens_trained)
        self.should_prune_calls.append(step)
        if self.trial.should_prune():
            self.pruned_at = step
            raise optuna.TrialPruned(f"pruned at global step {step} ({DESCRIPTIONS[self.metric]} {value:.4g})")


def is_pruned(exc: BaseException) -> bool:
    """True if `exc` (e.g. RunFailed) was caused, directly or through its chain, by TrialPruned."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, optuna.TrialPruned):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
