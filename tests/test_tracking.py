"""MLflow tracking: a sqlite store, a real `mlflow server` on loopback, and an unreachable server."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from benchmark.config import resolve_config
from benchmark.runner import execute, prepare_run
from benchmark.tracking import log_record


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    from tests.conftest import TINY

    out = tmp_path_factory.mktemp("tracked")
    uri = f"sqlite:///{out / 'mlflow.db'}"
    cwd = os.getcwd()
    os.chdir(out)                        # sqlite stores put artifacts under ./mlruns
    try:
        config = resolve_config("embedded-pretrain", "odm-code", 0, TINY)
        record, path = execute(prepare_run(config, out), out, progress=False, track=True, tracking_uri=uri)
    finally:
        os.chdir(cwd)
    return record, path, uri, out


def check_logged(client, run_id, record):
    run = client.get_run(run_id)
    assert run.data.params["config.recipe.strategy"] == "odm"
    assert run.data.tags["method"] == "odm-code"
    history = client.get_metric_history(run_id, "val/avg_ppl")
    assert [m.step for m in history] == record["curves"]["eval_steps"]
    weights = client.get_metric_history(run_id, "weight/noise")
    assert len(weights) == len(record["mixture"]["steps"])
    assert run.data.metrics["test/avg_ppl"] == pytest.approx(record["final"]["test"]["avg_ppl"])
    return {a.path for a in client.list_artifacts(run_id)}


def test_sqlite_store_holds_params_metrics_and_artifacts(tracked_run):
    record, path, uri, out = tracked_run
    assert record["mlflow_run_id"]
    artifacts = check_logged(MlflowClient(tracking_uri=uri), record["mlflow_run_id"], record)
    assert path.name in artifacts and "mixture.png" in artifacts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on loopback with its own sqlite store and artifact folder."""
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2):
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    pytest.fail("mlflow server did not start")
                time.sleep(0.5)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_real_mlflow_server_on_loopback(tracked_run, mlflow_server):
    record, path, _, out = tracked_run
    run_id = log_record(record, [path], mlflow_server)
    assert run_id
    assert path.name in check_logged(MlflowClient(tracking_uri=mlflow_server), run_id, record)
    assert log_record(record, [path], mlflow_server) == run_id          # idempotent: no second run


@pytest.mark.slow
def test_metrics_are_visible_on_the_server_while_the_run_trains(mlflow_server, tmp_path):
    import signal

    from benchmark.tracking import RUN_ID_TAG

    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "benchmark", "run", "--method", "odm-code", "--no-progress",
           "--set", "training.steps=2000", "--set", "training.eval_every=20", "--set", "training.log_every=5",
           "--output-dir", str(tmp_path / "out"), "--tracking-uri", mlflow_server]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = MlflowClient(tracking_uri=mlflow_server)
    seen = None
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None and seen is None:
            experiment = client.get_experiment_by_name("benchmark/embedded-pretrain")
            runs = client.search_runs([experiment.experiment_id], filter_string="attributes.status = 'RUNNING'") \
                if experiment else []
            for run in runs:
                train = client.get_metric_history(run.info.run_id, "train/loss")
                val = client.get_metric_history(run.info.run_id, "val/avg_ppl")
                weights = client.get_metric_history(run.info.run_id, "weight/noise")
                if len({m.timestamp for m in train}) >= 2 and val and weights:   # logged at 2+ moments
                    seen = run
            time.sleep(1)
        assert seen is not None and proc.poll() is None, "no live metrics while the run was training"
        assert seen.data.tags[RUN_ID_TAG].startswith("embedded-pretrain__odm-code__seed0__")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert client.get_run(seen.info.run_id).info.status == "KILLED"     # interrupted runs never stay RUNNING


def test_unreachable_server_warns_and_keeps_the_record(tracked_run):
    record, path, _, _ = tracked_run
    with pytest.warns(RuntimeWarning, match="unavailable"):
        assert log_record(record, [path], f"http://127.0.0.1:{_free_port()}") is None
    assert path.exists()
