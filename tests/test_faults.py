"""Nothing lost, ever: real `python -m benchmark run` subprocesses with real signals and faults.

Each scenario ends with the stated message and exit status, the last good checkpoint intact and
a rerun of the same command finishing the run (with the same numbers as an uninterrupted run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

from benchmark.training.checkpoints import FAULT_ENV, checkpoint_steps, verify

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "training.checkpoint_every=10", "--set", "training.eval_every=20", "--no-progress"]
NO_DOWNSTREAM = ["--set", "evaluation.downstream=null"]


def command(out: Path, steps: int = 30, method: str = "uniform", *extra: str, downstream: bool = False) -> list[str]:
    return [sys.executable, "-m", "benchmark", "run", "--method", method, "--seed", "0",
            "--set", f"training.steps={steps}", "--output-dir", str(out), *TINY,
            *([] if downstream else NO_DOWNSTREAM), *extra]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    return {**base, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": "", **extra}


def run(cmd: list[str], cwd: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def start(cmd: list[str], cwd: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def only_record(out: Path) -> dict:
    (path,) = list((out / "records").glob("*.json"))
    return json.loads(path.read_text())


def checkpoints(out: Path) -> dict[int, Path]:
    (run_dir,) = list((out / "runs").iterdir())
    return dict(checkpoint_steps(run_dir / "checkpoints"))


def wait_for_checkpoint(out: Path, step: int, proc: subprocess.Popen, limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run ended early ({proc.returncode}): {proc.stderr.read()}")
        if list(out.glob(f"runs/*/checkpoints/step-{step:08d}.ckpt")):
            return
        time.sleep(0.2)
    raise AssertionError(f"no step-{step} checkpoint after {limit} s")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted 30-step run every recovered run must equal."""
    where = tmp_path_factory.mktemp("reference")
    done = run(command(where / "out", 30, "uniform", "--no-tracking"), where)
    assert done.returncode == 0, done.stderr
    return only_record(where / "out")["final"]


def test_run_shorter_than_checkpoint_interval_keeps_its_record_quietly_outside_git(tmp_path):
    done = run(command(tmp_path / "out", 3, "uniform", "--no-tracking",
                       downstream=True), tmp_path, GIT_DIR=str(tmp_path / "none"))
    assert done.returncode == 0, done.stderr
    record = only_record(tmp_path / "out")
    assert record["status"] == "completed" and record["downstream"]["mini_mmlu"]["acc"] is not None  # lm-eval ran
    assert "fatal" not in done.stdout + done.stderr                     # git (also lm-eval's lookup) asked quietly


def test_unwritable_output_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run(command(blocker / "out", 3, "uniform", "--no-tracking"), tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--output-dir: cannot write to" in done.stderr


def test_error_after_training_goes_through_the_failure_path(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "records").write_text("a file where the records folder should be")
    done = run(command(out, 12, "uniform", "--no-tracking"), tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "checkpoint at step 10 kept" in done.stderr
    (failed,) = list((out / "failed").glob("*.json"))
    partial = json.loads(failed.read_text())
    assert partial["status"] == "failed" and partial["kept"]["checkpoint_step"] == 10
    assert partial["curves"]["eval_steps"] == [12]                       # the curves so far are kept


def test_kill_during_checkpoint_save_loses_only_that_save(tmp_path, reference):
    out = tmp_path / "out"
    killed = run(command(out, 30, "uniform", "--no-tracking"), tmp_path, **{FAULT_ENV: "kill:20"})
    assert killed.returncode == -signal.SIGKILL
    assert list(checkpoints(out)) == [10] and verify(checkpoints(out)[10]) is None
    resumed = run(command(out, 30, "uniform", "--no-tracking"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert only_record(out)["final"] == reference


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_full_disk_during_checkpoint_save_keeps_the_previous_checkpoint(tmp_path):
    disk = tmp_path / "disk"
    mounted = _tmpfs(disk, "9m")   # room for the data and one checkpoint, not for two
    try:
        extra = {} if mounted else {FAULT_ENV: "enospc:20"}
        done = run(command(disk / "out", 30, "uniform", "--no-tracking"), tmp_path, **extra)
        assert done.returncode == 1, done.stderr
        assert "No space left on device" in done.stderr and "checkpoint at step 10 kept" in done.stderr
        assert list(checkpoints(disk / "out")) == [10] and verify(checkpoints(disk / "out")[10]) is None
        assert not list((disk / "out").rglob("*.tmp"))
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_checkpoints_at_the_step_boundary_and_stops_the_whole_command(tmp_path, reference, signum, status):
    out = tmp_path / "out"
    proc = start(command(out, 30, "uniform,proportional", "--no-tracking",
                         "--set", "training.checkpoint_every=5"), tmp_path)
    wait_for_checkpoint(out, 5, proc)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    step = int(stderr.split(" at step ")[1].split(";")[0])
    assert f"interrupted by {signal.Signals(signum).name} at step {step}; checkpoint at step {step} kept; " \
           "rerun the same command to resume" in stderr
    assert "[2/2]" not in stdout                                          # the second configuration never started
    (failed,) = list((out / "failed").glob("*.json"))
    assert json.loads(failed.read_text())["status"] == "interrupted"
    assert step in checkpoints(out)


def test_sigterm_then_rerun_equals_uninterrupted_run(tmp_path, reference):
    out = tmp_path / "out"
    proc = start(command(out, 30, "uniform", "--no-tracking", "--set", "training.checkpoint_every=5"), tmp_path)
    wait_for_checkpoint(out, 5, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 143
    resumed = run(command(out, 30, "uniform", "--no-tracking", "--set", "training.checkpoint_every=5"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert only_record(out)["final"] == reference
    assert not list((out / "failed").glob("*.json"))                     # superseded by the success


def test_corrupt_newest_checkpoint_falls_back_and_empty_ones_are_refused(tmp_path, reference):
    out = tmp_path / "out"
    assert run(command(out, 30, "uniform", "--no-tracking"), tmp_path, **{FAULT_ENV: "kill:30"}).returncode < 0
    newest = checkpoints(out)[20]
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF                                         # one flipped byte in the weights
    newest.write_bytes(bytes(data))
    resumed = run(command(out, 30, "uniform", "--no-tracking"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "checksum mismatch" in resumed.stderr and "falling back to step-00000010.ckpt" in resumed.stderr
    assert only_record(out)["final"] == reference


def test_zero_byte_checkpoint_is_refused_with_one_line(tmp_path):
    out = tmp_path / "out"
    assert run(command(out, 30, "uniform", "--no-tracking"), tmp_path, **{FAULT_ENV: "kill:20"}).returncode < 0
    checkpoints(out)[10].write_bytes(b"")
    refused = run(command(out, 30, "uniform", "--no-tracking"), tmp_path)
    assert refused.returncode == 1
    message = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "step-00000010.ckpt" in message[0] and "--fresh" in message[0]
    assert "truncated (0 of" in message[0]


def test_same_command_twice_at_once_trains_once(tmp_path):
    out = tmp_path / "out"
    first = start(command(out, 400, "uniform", "--no-tracking"), tmp_path)
    wait_for_checkpoint(out, 10, first)
    second = run(command(out, 400, "uniform", "--no-tracking"), tmp_path)
    assert second.returncode == 75
    assert f"is in progress in process {first.pid}" in second.stderr
    waiting = start(command(out, 400, "uniform", "--no-tracking", "--wait"), tmp_path)
    lock = next((out / "runs").iterdir()) / "run.lock"
    time.sleep(8)
    assert waiting.poll() is None and lock.read_text() == str(first.pid)   # --wait blocks on the lock
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 143
    deadline = time.monotonic() + 60
    while lock.read_text() != str(waiting.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    waiting.send_signal(signal.SIGTERM)                                  # it took over; stop it too
    _, stderr = waiting.communicate(timeout=120)
    assert waiting.returncode == 143 and "interrupted by SIGTERM" in stderr


def test_three_processes_on_a_fresh_tracking_store_all_tracked(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [start(command(tmp_path / f"out{seed}", 2, "uniform", "--seed", str(seed)), tmp_path,
                   MLFLOW_TRACKING_URI=uri) for seed in range(3)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        assert "unavailable" not in stderr
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("benchmark/embedded-pretrain")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * 3
    ids = {only_record(tmp_path / f"out{seed}")["mlflow_run_id"] for seed in range(3)}
    assert ids == {r.info.run_id for r in runs}
