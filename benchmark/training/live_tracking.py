"""Live MLflow tracking: a run's curves and mixture weights appear while it trains.

Rank 0 opens the MLflow run when training starts (ending KILLED any run of the same record left
RUNNING by a killed process), logs the config as params, then streams new curve points and mixture
weights in batches — after each evaluation and at least every `flush_seconds`. The run lifecycle
closes it: final metrics and artifacts, then FINISHED; FAILED on an error, KILLED on a signal.
A resumed run opens a new MLflow run and logs the whole history restored from the checkpoint.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import lightning as L

from .. import tracking


class LiveTracking(L.Callback):
    def __init__(self, uri: str | None, identity: dict[str, Any], domains: list[str],
                 curves: Callable[[], dict[str, list]], trajectory: Callable[[], dict[str, list]],
                 flush_seconds: float = 10.0) -> None:
        self.uri = tracking.tracking_uri(uri)
        self.identity = identity          # run_id, task, method, seed, config_hash, config, git_commit
        self.domains = domains
        self.curves = curves
        self.trajectory = trajectory
        self.flush_seconds = flush_seconds
        self.run_id: str | None = None
        self._done: dict[str, int] = {}
        self._last_flush = 0.0
        self._evaluations = 0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self.start()

    def start(self) -> None:
        """Open the MLflow run (also called directly by loops outside Lightning, e.g. FLAD's)."""
        if self.run_id is None:
            self.run_id = tracking.guarded(self.uri, self._open)
            self._last_flush = time.monotonic()

    def _open(self, client: Any) -> str:
        identity = self.identity
        experiment_id = tracking.experiment_id(client, identity["task"])
        tracking.end_stale_runs(client, experiment_id, identity["run_id"])
        run = client.create_run(experiment_id, run_name=identity["run_id"],
                                tags={**tracking.identity_tags(identity), "status": "running"})
        tracking.log_params(client, run.info.run_id, identity["config"], identity.get("git_commit"))
        return run.info.run_id

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        if self.run_id is None:
            return
        evaluations = len(self.curves().get("eval_steps", []))
        if evaluations != self._evaluations or time.monotonic() - self._last_flush >= self.flush_seconds:
            self._evaluations = evaluations
            self.flush()

    def flush(self) -> None:
        """Log the points not logged yet."""
        rows = tracking.curve_metrics(self.curves(), self.trajectory(), self.domains, self._done)
        if rows and self.run_id:
            now = int(time.time() * 1000)
            tracking.guarded(self.uri, lambda client: tracking.log_rows(client, self.run_id, rows, now))
        self._last_flush = time.monotonic()

    def close(self, record: dict[str, Any], artifacts: list[Any]) -> str | None:
        """Finish the run from the written record: last points, final metrics, artifacts."""
        if self.run_id is None:
            return None
        self.flush()

        def finish(client: Any) -> str:
            tracking.close_run(client, self.run_id, record, tracking.final_metric_rows(record), artifacts)
            return self.run_id

        return tracking.guarded(self.uri, finish)

    def abandon(self, status: str) -> None:
        """End the run FAILED (an error) or KILLED (a signal), keeping what was logged."""
        if self.run_id is not None:
            self.flush()
            tracking.guarded(self.uri, lambda client: client.set_terminated(self.run_id, status=status))
