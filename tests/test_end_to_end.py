"""A whole run: determinism, resume equivalence, the record's contents, NaN handling."""

import json

import pytest
import torch

from benchmark.config import resolve_config
from benchmark.runner import RunFailed, execute, prepare_run
from benchmark.training.checkpoints import checkpoint_steps


def run(tmp_path, overrides, method="odm-code", seed=0, **kwargs):
    config = resolve_config("embedded-pretrain", method, seed, overrides)
    return execute(prepare_run(config, tmp_path), tmp_path, progress=False, track=False, **kwargs)


def comparable(record):
    return {"final": record["final"], "curves": record["curves"], "mixture": record["mixture"],
            "downstream": record["downstream"], "sampling": record["sampling"]}


def test_same_config_and_seed_give_identical_metrics(tmp_path, tiny_overrides):
    first, path = run(tmp_path / "a", tiny_overrides)
    second, _ = run(tmp_path / "b", tiny_overrides)
    assert comparable(first) == comparable(second)           # bitwise equal floats
    other_seed, _ = run(tmp_path / "c", tiny_overrides, seed=1)
    assert other_seed["final"] != first["final"]
    on_disk = json.loads(path.read_text())
    for key in ("config", "config_hash", "versions", "git_commit", "data_manifest", "curves", "mixture",
                "final", "downstream", "timing", "seed"):
        assert key in on_disk
    assert on_disk["status"] == "completed"
    assert on_disk["data_manifest"]["hash"] and on_disk["timing"]["strategy_seconds"] > 0
    test = on_disk["final"]["test"]
    assert test["avg_ppl"] == pytest.approx(sum(test[f"ppl/{d}"] for d in on_disk["mixture"]["domains"]) / 10)
    assert "mini_mmlu" in on_disk["downstream"]


def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path, tiny_overrides):
    whole, _ = run(tmp_path / "whole", tiny_overrides)
    partial, _ = run(tmp_path / "split", tiny_overrides, stop_after_steps=6)   # "crash" after step 6
    assert partial["status"] == "interrupted"
    assert [s for s, _ in checkpoint_steps(tmp_path / "split" / "runs" / partial["run_id"] / "checkpoints")] == [4]
    resumed, _ = run(tmp_path / "split", tiny_overrides)                       # checkpoint at step 4
    assert comparable(resumed) == comparable(whole)


def test_nan_loss_fails_clearly_and_keeps_partial_output(tmp_path, tiny_overrides, monkeypatch):
    from benchmark.training import objectives

    real = objectives.token_losses
    calls = {"n": 0}

    def poisoned(model, ids):
        calls["n"] += 1
        losses = real(model, ids)
        return losses * float("nan") if calls["n"] > 10 else losses

    monkeypatch.setattr(objectives, "token_losses", poisoned)
    with pytest.raises(RunFailed, match="non-finite training loss"):
        run(tmp_path, tiny_overrides)
    failed = list((tmp_path / "failed").glob("*.json"))
    assert len(failed) == 1 and json.loads(failed[0].read_text())["status"] == "failed"
    assert list((tmp_path / "runs").rglob("step-*.ckpt"))                     # checkpoint kept
    torch.set_grad_enabled(True)


def test_evaluate_command_reloads_saved_weights(tmp_path, tiny_overrides, capsys):
    from benchmark.cli import main

    record, path = run(tmp_path, tiny_overrides, method="uniform")
    assert main(["evaluate", str(path)]) == 0
    again = json.loads(path.read_text())
    assert again["final"] == record["final"]                 # same weights, same numbers
    assert again["downstream"]["mini_mmlu"]["acc"] == record["downstream"]["mini_mmlu"]["acc"]
