"""Real 2-process DDP on CPU (gloo): both ranks hold the same strategy state, equal to a
single-process run with the same global batch."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


def cli_run(out: Path, *extra: str) -> None:
    overrides = [x for item in TINY for x in ("--set", item)]
    subprocess.run([sys.executable, "-m", "benchmark", "run", "--method", "odm-code", "--output-dir", str(out),
                    "--no-tracking", "--no-progress", *overrides, *extra], cwd=ROOT, check=True, timeout=600,
                   capture_output=True)


def only_record(out: Path) -> dict:
    (path,) = (out / "records").glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_two_rank_ddp_matches_single_process(tmp_path):
    # ODM with no warm-up: one domain per micro-batch, so both runs draw 2 domains per step
    common = ["--set", "method.warmup_fraction=0.0"]
    cli_run(tmp_path / "ddp", "--devices", "2", *common)
    cli_run(tmp_path / "single", "--set", "training.grad_accum=2", *common)
    ddp, single = only_record(tmp_path / "ddp"), only_record(tmp_path / "single")
    (rank1_file,) = (tmp_path / "ddp" / "runs").rglob("rank1_mixture.json")
    rank1 = json.loads(rank1_file.read_text())

    # both ranks: bitwise the same weight and reward trajectory (shared RNG, all-reduced stats)
    assert rank1["steps"] == ddp["mixture"]["steps"]
    assert rank1["weights"] == ddp["mixture"]["weights"]
    assert rank1["rewards"] == ddp["mixture"]["rewards"]
    # ... and the same as one process with the same global batch (up to float summation order)
    assert ddp["mixture"]["steps"] == single["mixture"]["steps"]
    np.testing.assert_allclose(ddp["mixture"]["weights"], single["mixture"]["weights"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ddp["final"]["test"]["avg_ppl"], single["final"]["test"]["avg_ppl"], rtol=1e-3)


@pytest.mark.slow
def test_two_rank_ddp_flad_matches_single_process(tmp_path):
    """EXP3-FLAD on embedded-flad: 2 gloo ranks × 1 micro-batch per update equal one process × 2
    (per-arm gradients, the target pass shared out between ranks, rewards all-reduced)."""
    from tests.test_flad_runs import TINY as FLAD_TINY

    def flad_run(out: Path, *extra: str) -> dict:
        overrides = [x for item in FLAD_TINY for x in ("--set", item)]
        subprocess.run([sys.executable, "-m", "benchmark", "run", "--task", "embedded-flad", "--method", "exp3-flad",
                        "--target", "tgt_c", "--seed", "42", "--output-dir", str(out), "--no-tracking",
                        "--no-progress", *overrides, *extra], cwd=ROOT, check=True, timeout=900, capture_output=True)
        return only_record(out)

    single = flad_run(tmp_path / "single")                                  # G = 2 (TINY)
    ddp = flad_run(tmp_path / "ddp", "--devices", "2", "--set", "training.grad_accum=1")
    (rank1_file,) = (tmp_path / "ddp" / "runs").rglob("rank1_mixture.json")
    rank1 = json.loads(rank1_file.read_text())
    assert rank1["weights"] == ddp["mixture"]["weights"] and rank1["rewards"] == ddp["mixture"]["rewards"]
    assert ddp["mixture"]["steps"] == single["mixture"]["steps"]
    np.testing.assert_allclose(ddp["mixture"]["rewards"], single["mixture"]["rewards"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ddp["mixture"]["weights"], single["mixture"]["weights"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ddp["curves"]["train_loss"], single["curves"]["train_loss"], rtol=1e-4)
    assert ddp["curves"]["val_acc"] == single["curves"]["val_acc"]
