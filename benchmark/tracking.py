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
from typing import Any

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


def record_metrics(record: dict[str, Any]) -> list[tuple[str, float, int]]:
    """(key, value, step) triples: per-step curves, the weight trajectory, and final metrics."""
    rows: list[tuple[str, float, int]] = []
    domains = record["mixture"]["domains"]
    curves = record["curves"]
    for step, loss in zip(curves.get("train_steps", []), curves.get("train_loss", [])):
        rows.append(("train/loss", loss, step))
    for step, losses in zip(curves.get("eval_steps", []), curves.get("val_loss", [])):
        rows.append(("val/avg_ppl", curves_avg_ppl(losses), step))
        rows.extend((f"val/loss/{d}", v, step) for d, v in zip(domains, losses))
    for step, accuracy in zip(curves.get("eval_steps", []), curves.get("val_acc", [])):
        rows.append(("val/acc", accuracy, step))   # FLAD: few-shot validation accuracy
    for step, weights in zip(record["mixture"]["steps"], record["mixture"]["weights"]):
        rows.extend((f"weight/{d}", w, step) for d, w in zip(domains, weights))
    final_step = record["compute"].get("steps") or record["config"]["task"]["training"]["steps"]
    for split in ("test", "validation"):
        for key, value in record["final"].get(split, {}).items():
            if isinstance(value, (int, float)):
                rows.append((f"{split}/{key}", value, final_step))
    for task, result in record.get("downstream", {}).items():
        if isinstance(result, dict) and result.get("acc") is not None:
            rows.append((f"downstream/{task}/acc", result["acc"], final_step))
    for key, value in record["timing"].items():
        rows.append((f"timing/{key}", value, final_step))
    return rows


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


def log_record(record: dict[str, Any], artifacts: list[Path], uri: str | None = None) -> str | None:
    """Log one record as an MLflow run; returns the MLflow run id, or None if tracking failed.

    Idempotent: a finished MLflow run already tagged with this record's run id (and creation time)
    is reused; one left RUNNING by a killed process is ended KILLED and replaced."""
    uri = tracking_uri(uri)
    if not is_reachable(uri):
        warn_once(uri, "no answer from the server")
        return None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    for attempt in range(RETRIES):
        try:
            with _sqlite_lock(uri):
                return _log(record, artifacts, uri)
        except Exception as exc:  # noqa: BLE001 — tracking must never lose the run
            if _is_transient(exc) and attempt + 1 < RETRIES:
                time.sleep(0.5 * 2 ** attempt)
                continue
            warn_once(uri, f"{type(exc).__name__}: {exc}")
            return None
    return None


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    # after the import: mlflow configures its own loggers then; no table-migration chatter
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def _existing_run(client: Any, experiment_id: str, record: dict[str, Any]) -> str | None:
    """The finished MLflow run of exactly this record, if any; unfinished ones are ended KILLED."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.{RUN_ID_TAG} = '{record['run_id']}'")
    created = str(record.get("created_unix"))
    reusable = None
    for run in runs:
        if run.info.status in ("RUNNING", "SCHEDULED"):
            client.set_terminated(run.info.run_id, status="KILLED")
        elif run.info.status == "FINISHED" and run.data.tags.get(CREATED_TAG) == created:
            reusable = run.info.run_id
    return reusable


def _log(record: dict[str, Any], artifacts: list[Path], uri: str) -> str:
    from mlflow.entities import Metric, Param

    client = _client(uri)
    experiment_name = f"benchmark/{record['task']}"
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    existing = _existing_run(client, experiment_id, record)
    if existing:
        return existing
    run = client.create_run(experiment_id, run_name=record["run_id"],
                            tags={"method": record["method"], "seed": str(record["seed"]),
                                  "config_hash": record["config_hash"], "status": record["status"],
                                  RUN_ID_TAG: record["run_id"], CREATED_TAG: str(record.get("created_unix"))})
    run_id = run.info.run_id
    try:
        params = flatten("", {"config": record["config"], "git_commit": record.get("git_commit")}, {})
        items = [(k[:250], v) for k, v in params.items()]
        for start in range(0, len(items), 90):
            client.log_batch(run_id, params=[Param(k, v) for k, v in items[start:start + 90]])
        timestamp = int(record.get("created_unix", 0) * 1000)
        metrics = [Metric(metric_name(k), float(v), timestamp, int(s)) for k, v, s in record_metrics(record)]
        for start in range(0, len(metrics), MAX_BATCH):
            client.log_batch(run_id, metrics=metrics[start:start + MAX_BATCH])
        for path in artifacts:
            client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED" if record["status"] == "completed" else "FAILED")
    return run_id


def track_record(record: dict[str, Any], path: Path, artifacts: list[Path], uri: str | None = None) -> str | None:
    """Log a written record (plus `artifacts`) and write the MLflow run id back into its file."""
    run_id = log_record(record, [path, *artifacts], uri)
    if run_id and record.get("mlflow_run_id") != run_id:
        from .records import write_json_atomic

        record["mlflow_run_id"] = run_id
        write_json_atomic(path, {k: v for k, v in record.items() if k != "_path"})
    return run_id
