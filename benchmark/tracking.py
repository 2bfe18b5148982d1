"""MLflow tracking of finished runs, replayed from the result record.

The record is written first, so tracking can never lose a result: if the server is unreachable we
warn once and keep going; `python -m benchmark track RECORD...` logs it later.
Default store: sqlite `mlflow.db` in the working directory; `MLFLOW_TRACKING_URI` overrides it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

MAX_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call
_warned: set[str] = set()


def tracking_uri(explicit: str | None = None) -> str:
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


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


def log_record(record: dict[str, Any], artifacts: list[Path], uri: str | None = None) -> str | None:
    """Log one record as an MLflow run; returns the MLflow run id, or None if tracking failed."""
    uri = tracking_uri(uri)
    if not is_reachable(uri):
        warn_once(uri, "no answer from the server")
        return None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        # after the import: mlflow configures its own loggers then; no table-migration chatter
        logging.getLogger("mlflow").setLevel(logging.WARNING)

        client = MlflowClient(tracking_uri=uri)
        experiment_name = f"benchmark/{record['task']}"
        experiment = client.get_experiment_by_name(experiment_name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
        run = client.create_run(experiment_id, run_name=record["run_id"],
                                tags={"method": record["method"], "seed": str(record["seed"]),
                                      "config_hash": record["config_hash"], "status": record["status"]})
        run_id = run.info.run_id
        params = flatten("", {"config": record["config"], "git_commit": record.get("git_commit")}, {})
        params = {k[:250]: v for k, v in params.items()}
        items = list(params.items())
        for start in range(0, len(items), 90):
            client.log_batch(run_id, params=[Param(k, v) for k, v in items[start:start + 90]])
        timestamp = int(record.get("created_unix", 0) * 1000)
        metrics = [Metric(metric_name(k), float(v), timestamp, int(s)) for k, v, s in record_metrics(record)]
        for start in range(0, len(metrics), MAX_BATCH):
            client.log_batch(run_id, metrics=metrics[start:start + MAX_BATCH])
        for path in artifacts:
            client.log_artifact(run_id, str(path))
        client.set_terminated(run_id, status="FINISHED" if record["status"] == "completed" else "FAILED")
        return run_id
    except Exception as exc:  # noqa: BLE001 — tracking must never lose the run
        warn_once(uri, f"{type(exc).__name__}: {exc}")
        return None
