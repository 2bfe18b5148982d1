"""MLflow: one parent run per study, one child run per trial and per final run. Tracking never
fails a trial: errors become a warning."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .common import PARENT_ATTR
from .family import objective_of
from .objective import objective_value
from .spec import SweepSpec


def mlflow_client(uri: str | None) -> tuple[Any, str] | None:
    """(client, resolved URI), or None with a warning when the tracking server does not answer."""
    from ..tracking import is_reachable, tracking_uri, warn_once

    uri = tracking_uri(uri)
    if not is_reachable(uri):
        warn_once(uri, "no answer from the server")
        return None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=uri), uri


def _experiment_id(client: Any, task: str) -> str:
    from ..tracking import experiment_id   # one place creates the per-task experiment
    return experiment_id(client, task)


def _warn(uri: str | None, exc: Exception) -> None:
    from ..tracking import tracking_uri, warn_once
    warn_once(tracking_uri(uri), f"{type(exc).__name__}: {exc}")


def _set_tags(client: Any, run_id: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def parent_run_id(study: Any, track: bool) -> str | None:
    """The study's MLflow parent run (kept in the study by `ensure_parent_run`), if tracking."""
    return study.user_attrs.get(PARENT_ATTR) if track else None


def ensure_parent_run(study: Any, spec: SweepSpec) -> str | None:
    """The study's parent run: created on the first run of the sweep, set RUNNING again on a resume."""
    if not spec.track:
        return None
    existing = study.user_attrs.get(PARENT_ATTR)
    try:
        got = mlflow_client(spec.tracking_uri)
        if got is None:
            return None
        client, _ = got
        if existing:
            client.update_run(existing, status="RUNNING")
            return existing
        from mlflow.entities import Param
        run = client.create_run(_experiment_id(client, spec.task), run_name=f"sweep {spec.study}",
                                tags={"sweep.study": spec.study, "sweep.role": "parent", "method": spec.method,
                                      "sweep.objective": spec.objective.name})
        params = {"task": spec.task, "method": spec.method, "trials": str(spec.trials), "seed": str(spec.seed),
                  "target": str(spec.target), "direction": spec.objective.direction,
                  "overrides": json.dumps(spec.overrides), "pruner": spec.pruner, "quick": str(spec.quick),
                  "search_space": json.dumps(spec.search_space)[:6000]}
        client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
        study.set_user_attr(PARENT_ATTR, run.info.run_id)
        return run.info.run_id
    except Exception as exc:  # noqa: BLE001
        _warn(spec.tracking_uri, exc)
        return None


def log_trial(spec: dict[str, Any], parent: str | None, trial: Any, params: dict[str, Any], state: str,
              record: dict[str, Any] | None, path: Path | None, reported: list[tuple[int, float]],
              role: str = "trial") -> str | None:
    """One child run: the trial's record when it finished, else its parameters and reports."""
    if not spec.get("track") or parent is None:
        return None
    objective = objective_of(spec.get("family"), spec.get("objective_key"))
    try:
        got = mlflow_client(spec.get("tracking_uri"))
        if got is None:
            return None
        client, uri = got
        from mlflow.entities import Metric, Param
        tags = {"mlflow.parentRunId": parent, "sweep.study": spec["study"], "sweep.role": role,
                "optuna.trial": str(trial.number if trial is not None else ""), "optuna.state": state}
        if record is not None:
            from ..tracking import log_record
            run_id = log_record(record, [path] if path else [], uri)
            if run_id is None:
                return None
            _set_tags(client, run_id, tags)
        else:
            run_id = client.create_run(_experiment_id(client, spec["task"]),
                                       run_name=f"{spec['study']} trial {trial.number}",
                                       tags={**tags, "method": spec["method"]}).info.run_id
            client.log_batch(run_id, params=[Param(f"method.{k}", json.dumps(v)) for k, v in params.items()])
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(objective.metric, v, now, s) for s, v in reported])
            client.set_terminated(run_id, status="KILLED" if state == "PRUNED" else "FAILED")
        if record is not None and trial is not None:
            value = objective_value(record, spec.get("family"), spec.get("objective_key"))
            client.log_batch(run_id, metrics=[Metric(f"objective/{objective.short}", value,
                                                     int(time.time() * 1000), 0)])
        return run_id
    except Exception as exc:  # noqa: BLE001
        _warn(spec.get("tracking_uri"), exc)
        return None


def log_final_run(spec: SweepSpec, parent: str | None, record: dict[str, Any], path: Path, output_dir: Path,
                  log: Any = print) -> str | None:
    """Log a final run's record (with its mixture plot) as a child of the parent run."""
    from ..plots import plot_mixture
    from ..tracking import log_record

    plot = plot_mixture(record, output_dir / "runs" / record["run_id"] / "mixture.png")
    run_id = log_record(record, [path, plot], spec.tracking_uri)
    if run_id and parent:
        try:
            got = mlflow_client(spec.tracking_uri)
            if got:
                _set_tags(got[0], run_id, {"mlflow.parentRunId": parent, "sweep.study": spec.study,
                                           "sweep.role": "final"})
        except Exception as exc:  # noqa: BLE001
            log(f"warning: MLflow tags not set ({type(exc).__name__}: {exc})")
    return run_id


def close_parent_run(spec: SweepSpec, study: Any, parent: str, trials_done: int, artifacts: list[Path],
                     log: Any = print) -> None:
    """Best value, trials done, best parameters (as tags) and the sweep's files on the parent run; FINISHED."""
    try:
        got = mlflow_client(spec.tracking_uri)
        if got:
            client, _ = got
            from mlflow.entities import Metric
            now = int(time.time() * 1000)
            client.log_batch(parent, metrics=[Metric(f"best/{spec.objective.short}", study.best_value, now, 0),
                                              Metric("trials/done", trials_done, now, 0)])
            for key, value in study.best_params.items():
                client.set_tag(parent, f"best.{key}", json.dumps(value))
            for p in artifacts:
                client.log_artifact(parent, str(p))
            client.set_terminated(parent, status="FINISHED")
    except Exception as exc:  # noqa: BLE001
        log(f"warning: MLflow parent run not updated ({type(exc).__name__}: {exc})")


def fail_parent_run(spec: SweepSpec, study: Any, log: Any = print) -> None:
    """A sweep that ends without its final run leaves its parent run FAILED, never RUNNING."""
    try:
        study = study if study is not None else _stored_study(spec)
        parent = parent_run_id(study, spec.track) if study is not None else None
        if not parent:
            return
        got = mlflow_client(spec.tracking_uri)
        if got:
            got[0].set_terminated(parent, status="FAILED")
    except Exception as exc:  # noqa: BLE001
        log(f"warning: MLflow parent run not updated ({type(exc).__name__}: {exc})")


def _stored_study(spec: SweepSpec) -> Any:
    """The study as stored (when the sweep failed before handing it back), or None."""
    from .common import load_optuna
    from .storage import make_storage

    try:
        storage = make_storage(spec.storage, spec.heartbeat_interval, spec.grace_period)
        return load_optuna().load_study(study_name=spec.study, storage=storage)
    except Exception:  # noqa: BLE001 — no study yet: nothing to close
        return None
