"""FLAD runs on the one lifecycle: killed and resumed runs equal uninterrupted ones, and the run
lock, skip-completed and failure path of pre-training apply to them too (real CLI subprocesses)."""

from __future__ import annotations

import json
import signal

import pytest

from tests.test_faults import run
from tests.test_flad_runs import TINY

pytestmark = pytest.mark.slow

from benchmark.training.checkpoints import FAULT_ENV, checkpoint_steps  # noqa: E402


def flad_command(out, *extra: str) -> list[str]:
    import sys
    sets = [x for item in TINY + ["training.steps=8", "training.checkpoint_every=2", "training.eval_every=4"]
            for x in ("--set", item)]
    return [sys.executable, "-m", "benchmark", "run", "--task", "embedded-flad", "--method", "exp3-flad",
            "--target", "tgt_a", "--seed", "42", "--output-dir", str(out), "--no-tracking", "--no-progress",
            *sets, *extra]


def comparable(record: dict) -> dict:
    keep = ("final", "curves", "mixture", "downstream", "flad", "run_id")
    out = {k: record[k] for k in keep}
    out["curves"] = {k: v for k, v in record["curves"].items()}
    out["flad"] = {k: v for k, v in record["flad"].items() if k != "base_model"}
    return json.loads(json.dumps(out))


def only(out) -> dict:
    (path,) = list((out / "records").glob("*.json"))
    return json.loads(path.read_text())


def test_flad_run_killed_after_its_first_checkpoint_resumes_to_the_same_record(tmp_path):
    whole = run(flad_command(tmp_path / "whole"), tmp_path)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "split"
    killed = run(flad_command(out), tmp_path, **{FAULT_ENV: "kill:4"})   # SIGKILL while saving step 4
    assert killed.returncode == -signal.SIGKILL
    (run_dir,) = list((out / "runs").iterdir())
    assert [s for s, _ in checkpoint_steps(run_dir / "checkpoints")] == [2]
    resumed = run(flad_command(out), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert comparable(only(out)) == comparable(only(tmp_path / "whole"))
    again = run(flad_command(out), tmp_path)                               # completed: skipped
    assert again.returncode == 0 and "already completed" in again.stdout
