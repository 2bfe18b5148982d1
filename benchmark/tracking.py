"""MLflow tracking of finished runs, replayed from the result record.

The record is written first, so tracking can never lose a result: if the server is unreachable we
warn once and keep going; `python -m benchmark track RECORD...` logs it later.
Default store: sqlite `mlflow.db` in the working directory; `MLFLOW_TRACKING_URI` overrides it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")

MAX_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call
RUN_ID_TAG = "benchmark_run_id"   # finds the MLflow run of a record again (idempotent tracking)
CREATED_TAG = "record_created_unix"
LOCK_TIMEOUT_SECONDS = 300
RETRIES = 4
_warned: set[str] = set()


def tracking_uri(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def ui_hint(uri: str) -> str:
    """How to browse the store in use: a server has its own UI; a local store needs `mlflow ui`."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"browse with `mlflow ui --backend-store-uri {uri}`"


def is_reachable(uri: str, timeout: float = 3.0) -> bool:
    if not uri.startswith(("http://", "https://")):
        return True
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def warn_once(uri: str, reason: str) -> None:
    if uri not in _warned:
        _warned.add(uri)
        warnings.warn(f"MLflow tracking at {uri} is unavailable ({reason}); runs continue and their "
                      "records are kept locally — log them later with `python -m benchmark track`.",
                      RuntimeWarning, stacklevel=2)


def flatten(prefix: str, value: Any, out: dict[str, str]) -> dict[str, str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = json.dumps(value)[:6000] if not isinstance(value, str) else value[:6000]
    return out


def curve_metrics(curves: dict[str, list], trajectory: dict[str, list], domains: list[str],
                  done: dict[str, int] | None = None) -> list[tuple[str, float, int]]:
    """(key, value, step) rows of the per-step curves and the weight trajectory. `done` counts the
    points already logged per series (live tracking logs only what is new) and is updated."""
    done = {} if done is None else done
    rows: list[tuple[str, float, int]] = []

    def new(series: str, points: list) -> list:
        start, done[series] = done.get(series, 0), len(points)
        return points[start:]

    for step, loss in new("train", list(zip(curves.get("train_steps", []), curves.get("train_loss", [])))):
        rows.append(("train/loss", loss, step))
    for step, losses in new("val", list(zip(curves.get("eval_steps", []), curves.get("val_loss", [])))):
        rows.append(("val/avg_ppl", curves_avg_ppl(losses), step))
        rows.extend((f"val/loss/{d}", v, step) for d, v in zip(domains, losses))
    for step, accuracy in new("acc", list(zip(curves.get("eval_steps", []), curves.get("val_acc", [])))):
        rows.append(("val/acc", accuracy, step))   # FLAD: few-shot validation accuracy
    for step, weights in new("weights", list(zip(trajectory.get("steps", []), trajectory.get("weights", [])))):
        rows.extend((f"weight/{d}", w, step) for d, w in zip(domains, weights))
    return rows


SPLIT_PREFIX = {"validation": "val", "test": "test"}  # one naming scheme: val/... per step and final


def _curve_keys(record: dict[str, Any], final_step: int) -> set[str]:
    """Validation metrics the curves already hold at the final step (the same evaluation)."""
    if final_step not in record["curves"].get("eval_steps", []):
        return set()
    return {"val/avg_ppl"} | {f"val/loss/{d}" for d in record["mixture"]["domains"]}


def final_metric_rows(record: dict[str, Any]) -> list[tuple[str, float, int]]:
    """Final metrics, downstream accuracy and timing, at the run's last step."""
    rows: list[tuple[str, float, int]] = []
    final_step = record["compute"].get("steps") or record["config"]["task"]["training"]["steps"]
    curve_keys = _curve_keys(record, final_step)
    for split in ("test", "validation"):
        for key, value in record["final"].get(split, {}).items():
            name = f"{SPLIT_PREFIX[split]}/{key}"
            if isinstance(value, (int, float)) and name not in curve_keys:
                rows.append((name, value, final_step))
    for task, result in record.get("downstream", {}).items():
        if isinstance(result, dict) and result.get("acc") is not None:
            rows.append((f"downstream/{task}/acc", result["acc"], final_step))
    for key, value in record["timing"].items():
        rows.append((f"timing/{key}", value, final_step))
    return rows


def record_metrics(record: dict[str, Any]) -> list[tuple[str, float, int]]:
    """Every metric row of a finished record: curves, weight trajectory, final metrics."""
    mixture = record["mixture"]
    return curve_metrics(record["curves"], mixture, mixture["domains"]) + final_metric_rows(record)


def metric_name(key: str) -> str:
    """MLflow accepts letters, digits, '_-./ ' in metric names: e.g. 'Gutenberg (PG-19)' → 'Gutenberg__PG-19_'."""
    return re.sub(r"[^\w\-./]", "_", key)


def curves_avg_ppl(losses: list[float]) -> float:
    return sum(math.exp(min(v, 50.0)) for v in losses) / len(losses)


def _sqlite_lock(uri: str) -> Any:
    """A file lock beside a sqlite store: MLflow's first use of a fresh database creates its tables,
    and two processes doing that at once break the store for good. Other stores need none."""
    from filelock import FileLock

    if not uri.startswith("sqlite:///"):
        return contextlib.nullcontext()
    database = Path(uri[len("sqlite:///"):])
    database.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(database) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)


def _is_transient(exc: BaseException) -> bool:
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def guarded(uri: str | None, action: Callable[[Any], T]) -> T | None:
    """Run `action(client)` against the store: serialised on a sqlite store, retried while the
    database is locked; any other failure warns once and returns None (tracking never fails a run)."""
    uri = tracking_uri(uri)
    if not is_reachable(uri):
        warn_once(uri, "no answer from the server")
        return None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    for attempt in range(RETRIES):
        try:
            with _sqlite_lock(uri):
                return action(_client(uri))
        except Exception as exc:  # noqa: BLE001 — tracking must never lose the run
            if _is_transient(exc) and attempt + 1 < RETRIES:
                time.sleep(0.5 * 2 ** attempt)
                continue
            warn_once(uri, f"{type(exc).__name__}: {exc}")
            return None
    return None


def log_record(record: dict[str, Any], artifacts: list[Path], uri: str | None = None) -> str | None:
    """Log one record as an MLflow run; returns the MLflow run id, or None if tracking failed.

    Idempotent: a finished MLflow run already tagged with this record's run id (and creation time)
    is reused; one left RUNNING by a killed process is ended KILLED and replaced."""
    return guarded(uri, lambda client: _log(client, record, artifacts))


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    # after the import: mlflow configures its own loggers then; no table-migration chatter
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def end_stale_runs(client: Any, experiment_id: str, run_id: str) -> list[Any]:
    """End KILLED every MLflow run of this record still RUNNING (its process died); returns all
    MLflow runs tagged with the record's run id."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.{RUN_ID_TAG} = '{run_id}'")
    for run in runs:
        if run.info.status in ("RUNNING", "SCHEDULED"):
            client.set_terminated(run.info.run_id, status="KILLED")
    return runs


def _existing_run(client: Any, experiment_id: str, record: dict[str, Any]) -> str | None:
    """The finished MLflow run of exactly this record, if any; unfinished ones are ended KILLED."""
    created = str(record.get("created_unix"))
    for run in end_stale_runs(client, experiment_id, record["run_id"]):
        if run.info.status == "FINISHED" and run.data.tags.get(CREATED_TAG) == created:
            return run.info.run_id
    return None


def experiment_id(client: Any, task: str) -> str:
    name = f"benchmark/{task}"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # noqa: BLE001 — created meanwhile by another process (server stores)
        return client.get_experiment_by_name(name).experiment_id


def identity_tags(record: dict[str, Any]) -> dict[str, str]:
    return {"method": record["method"], "seed": str(record["seed"]), "config_hash": record["config_hash"],
            RUN_ID_TAG: record["run_id"]}


def log_params(client: Any, run_id: str, config: dict[str, Any], commit: str | None) -> None:
    params = flatten("", {"config": config, "git_commit": commit}, {})
    items = [(k[:250], v) for k, v in params.items()]
    from mlflow.entities import Param
    for start in range(0, len(items), 90):
        client.log_batch(run_id, params=[Param(k, v) for k, v in items[start:start + 90]])


def log_rows(client: Any, run_id: str, rows: list[tuple[str, float, int]], timestamp_ms: int) -> None:
    from mlflow.entities import Metric
    metrics = [Metric(metric_name(k), float(v), timestamp_ms, int(s)) for k, v, s in rows]
    for start in range(0, len(metrics), MAX_BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + MAX_BATCH])


def close_run(client: Any, run_id: str, record: dict[str, Any], rows: list[tuple[str, float, int]],
              artifacts: list[Path], timestamp_ms: int | None = None) -> None:
    """The end of a run's logging: remaining metrics, artifacts, FINISHED (or FAILED)."""
    log_rows(client, run_id, rows, timestamp_ms or int(time.time() * 1000))
    for path in map(Path, artifacts):
        if path.is_dir():   # e.g. the run's Hugging Face model directory
            client.log_artifacts(run_id, str(path), artifact_path=path.name)
        else:
            client.log_artifact(run_id, str(path))
    client.set_tag(run_id, CREATED_TAG, str(record.get("created_unix")))
    client.set_tag(run_id, "status", record["status"])
    client.set_terminated(run_id, status="FINISHED" if record["status"] == "completed" else "FAILED")


def _log(client: Any, record: dict[str, Any], artifacts: list[Path]) -> str:
    """Replay a finished record as one MLflow run (metrics stamped with the record's time)."""
    experiment = experiment_id(client, record["task"])
    existing = _existing_run(client, experiment, record)
    if existing:
        return existing
    run_id = client.create_run(experiment, run_name=record["run_id"], tags=identity_tags(record)).info.run_id
    try:
        log_params(client, run_id, record["config"], record.get("git_commit"))
        log_rows(client, run_id, curve_metrics(record["curves"], record["mixture"], record["mixture"]["domains"]),
                 int(record.get("created_unix", 0) * 1000))
        close_run(client, run_id, record, final_metric_rows(record), artifacts,
                  int(record.get("created_unix", 0) * 1000))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    return run_id


def track_record(record: dict[str, Any], path: Path, artifacts: list[Path], uri: str | None = None) -> str | None:
    """Log a written record (plus `artifacts`) and write the MLflow run id back into its file."""
    run_id = log_record(record, [path, *artifacts], uri)
    if run_id and record.get("mlflow_run_id") != run_id:
        from .records import write_json_atomic

        record["mlflow_run_id"] = run_id
        write_json_atomic(path, {k: v for k, v in record.items() if k != "_path"})
    return run_id
