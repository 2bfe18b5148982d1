"""MLflow tracking: a sqlite store, a real `mlflow server` on loopback, and an unreachable server."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

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


@pytest.mark.slow
def test_real_mlflow_server_on_loopback(tracked_run, tmp_path):
    record, path, _, out = tracked_run
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"],
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
        run_id = log_record(record, [path], uri)
        assert run_id
        assert path.name in check_logged(MlflowClient(tracking_uri=uri), run_id, record)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_unreachable_server_warns_and_keeps_the_record(tracked_run):
    record, path, _, _ = tracked_run
    with pytest.warns(RuntimeWarning, match="unavailable"):
        assert log_record(record, [path], f"http://127.0.0.1:{_free_port()}") is None
    assert path.exists()
