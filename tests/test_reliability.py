"""Reliability pieces in-process: checkpoint files, YAML numbers, typos in mixtures, corrupt and
leftover files, failed records, idempotent tracking (the subprocess scenarios are in test_faults.py)."""

from __future__ import annotations

import json
import os
import time

import pytest
import torch

from benchmark.config import ConfigError, parse_override, published_mixture_notes, resolve_config
from benchmark.records import load_records, remove_stale_temp_files, write_json_atomic, write_text_if_changed
from benchmark.training.checkpoints import (CheckpointError, checkpoint_name, checkpoint_steps,
                                            find_resume_checkpoint, prune, verify, write_checkpoint)
from benchmark.yaml_io import safe_load


# -- checkpoint files ---------------------------------------------------------------------------
def _save(directory, step):
    write_checkpoint(directory / checkpoint_name(step), {"step": step, "w": torch.arange(step, dtype=torch.float32)})


def test_checkpoint_round_trip_and_verification(tmp_path):
    _save(tmp_path, 4)
    path = tmp_path / checkpoint_name(4)
    assert verify(path) is None and torch.load(path)["step"] == 4
    data = bytearray(path.read_bytes())
    data[-10] ^= 1
    path.write_bytes(bytes(data))
    assert verify(path) == "checksum mismatch (corrupted bytes)"
    path.write_bytes(bytes(data[:100]))
    assert verify(path).startswith("truncated (100 of")


def test_resume_falls_back_to_the_previous_checkpoint_and_says_so(tmp_path):
    for step in (4, 8):
        _save(tmp_path, step)
    (tmp_path / checkpoint_name(8)).write_bytes(b"")
    warnings = []
    point = find_resume_checkpoint(tmp_path, warn=warnings.append)
    assert point.step == 4 and point.path.name == checkpoint_name(4)
    assert len(warnings) == 1 and "truncated (0 of" in warnings[0] and "falling back to step-00000004.ckpt" in warnings[0]


def test_no_intact_checkpoint_is_refused_naming_the_file(tmp_path):
    _save(tmp_path, 4)
    (tmp_path / checkpoint_name(4)).write_bytes(b"x")
    with pytest.raises(CheckpointError, match=r"step-00000004\.ckpt is unusable.*--fresh"):
        find_resume_checkpoint(tmp_path)
    assert find_resume_checkpoint(tmp_path / "none").path is None     # nothing yet: start at step 0


def test_prune_keeps_the_two_newest_and_drops_an_abandoned_future(tmp_path):
    for step in (2, 4, 6, 8):
        _save(tmp_path, step)
    (tmp_path / ".step-00000010.ckpt.123.tmp").write_bytes(b"torn")
    prune(tmp_path, current_step=6)               # resumed from 6 after 8 was found corrupt, say
    assert [s for s, _ in checkpoint_steps(tmp_path)] == [6, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-00000004.ckpt", "step-00000004.ckpt.sha256", "step-00000006.ckpt", "step-00000006.ckpt.sha256"]


# -- YAML numbers and typos in mixtures ---------------------------------------------------------------
def test_exponent_notation_is_a_number_everywhere(tmp_path):
    assert parse_override("training.lr=1e-3") == (["training", "lr"], 0.001)
    assert safe_load("a: 3e-4\nb: 1.0e6\nc: 1_000\nd: '1e-3'\ne: 1e3x") == \
        {"a": 3e-4, "b": 1e6, "c": 1000, "d": "1e-3", "e": "1e3x"}
    config = resolve_config("embedded-pretrain", "uniform", 0, ["training.lr=3e-4", "training.eps=1e-8"])
    assert config.task["training"]["lr"] == 3e-4 and config.task["training"]["eps"] == 1e-8


def test_unknown_domain_next_to_known_ones_is_an_error(tmp_path):
    from benchmark.runner import prepare_run

    config = resolve_config("embedded-pretrain", "odm-code", 0, ["method.initial_weights={web: 1, nosuch: 1}"])
    with pytest.raises(ConfigError, match=r"method\.initial_weights: unknown domain\(s\) \['nosuch'\]; allowed: .*'web'"):
        prepare_run(config, tmp_path)


def test_published_mixture_over_absent_domains_is_renormalised_and_marked():
    config = resolve_config("embedded-pretrain", "uniform", 0)
    config.recipe["hyperparameters"]["initial_weights"] = "published:the_pile_weights"
    notes = published_mixture_notes(config, ["Pile-CC", "Github", "ArXiv"])
    assert notes["initial_weights"]["renormalised"] is True
    assert "FreeLaw" in notes["initial_weights"]["dropped_domains"]
    assert "Pile-CC" not in notes["initial_weights"]["dropped_domains"]


# -- files: generated, corrupt, leftover -----------------------------------------------------------------
def test_generated_files_are_written_only_when_their_content_changes(tmp_path):
    path = tmp_path / "manifest.json"
    assert write_text_if_changed(path, "one") is True
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert write_text_if_changed(path, "one") is False and path.stat().st_mtime_ns == before
    assert write_text_if_changed(path, "two") is True and path.read_text() == "two"


def test_a_corrupt_record_is_skipped_with_a_warning_unless_strict(tmp_path, capsys):
    write_json_atomic(tmp_path / "good.json", {"schema": 1, "run_id": "good", "status": "completed"})
    (tmp_path / "bad.json").write_text('{"schema": 1, "run_')
    records = load_records([tmp_path])
    assert [r["run_id"] for r in records] == ["good"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"warning: skipping {tmp_path / 'bad.json'}: ")
    with pytest.raises(ValueError, match="bad.json: not a readable result record"):
        load_records([tmp_path], strict=True)


def test_stale_temporary_files_are_cleaned(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    mine = records / ".run-a.json.abc.tmp"
    old = records / ".run-b.json.def.tmp"
    fresh = records / ".run-c.json.ghi.tmp"
    for path in (mine, old, fresh):
        path.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    remove_stale_temp_files(tmp_path, "run-a")
    assert not mine.exists() and not old.exists() and fresh.exists()   # another run may be writing it


# -- failed records ------------------------------------------------------------------------------------
def test_failure_before_the_first_checkpoint_says_nothing_is_kept(tmp_path, monkeypatch):
    from benchmark.runner import RunFailed, execute, prepare_run
    from benchmark.training import objectives
    from tests.conftest import TINY

    def broken(model, ids):
        raise RuntimeError("boom")

    monkeypatch.setattr(objectives, "token_losses", broken)
    config = resolve_config("embedded-pretrain", "uniform", 0, TINY)
    with pytest.raises(RunFailed, match="no checkpoint was written yet"):
        execute(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    (failed,) = (tmp_path / "failed").glob("*.json")
    payload = json.loads(failed.read_text())
    assert payload["kept"]["checkpoint_step"] is None and "starts from step 0" in payload["kept"]["note"]
    assert payload["curves"] == {"eval_steps": [], "val_loss": [], "train_steps": [], "train_loss": []}


# -- idempotent tracking --------------------------------------------------------------------------------
def test_tracking_twice_reuses_the_run_and_ends_a_stale_one_killed(tmp_path):
    from mlflow.tracking import MlflowClient

    from benchmark.tracking import RUN_ID_TAG, track_record
    from tests.test_leaderboard import embedded_records

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    record = embedded_records()[0]
    path = write_json_atomic(tmp_path / f"{record['run_id']}.json", record)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(f"benchmark/{record['task']}")
    stale = client.create_run(experiment, tags={RUN_ID_TAG: record["run_id"]})   # a killed logger's run
    first = track_record(record, path, [], uri)
    second = track_record(json.loads(path.read_text()), path, [], uri)
    assert first == second == json.loads(path.read_text())["mlflow_run_id"]
    assert client.get_run(stale.info.run_id).info.status == "KILLED"
    runs = client.search_runs([experiment], filter_string=f"tags.{RUN_ID_TAG} = '{record['run_id']}'")
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"]
