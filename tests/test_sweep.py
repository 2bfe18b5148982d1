"""Optuna sweeps: step-level pruning, MLflow parent/child runs, the tuned recipe and record, resume
with a different configuration refused, and two worker processes on one sqlite study surviving a
SIGKILL of one worker (all trials accounted for after the resume)."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from benchmark.config import ConfigError, load_recipe
from benchmark.sweep import (
    SweepSpec, account, all_accounted, default_storage, distributions, install_recipe, make_storage, open_study,
    run_sweep, run_trial, search_space_of,
)
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parent.parent
FAST = TINY + ["evaluation.downstream=null"]      # the objective never needs lm-eval


def spec_for(tmp_path, trials=2, **kw):
    base = dict(task="embedded-pretrain", method="odm-code", trials=trials, study="s", storage=default_storage(tmp_path),
                output_dir=str(tmp_path), overrides=list(FAST), seed=0, final_seeds=[0], pruner="median",
                search_space=search_space_of("odm-code"), track=False, heartbeat_interval=1, grace_period=3)
    base.update(kw)
    return SweepSpec(**base)


def test_pruning_fires_at_a_global_step(tmp_path):
    """MedianPruner(n_startup_trials=0) + one fabricated finished trial far better than any real run:
    the real trial is judged at its first evaluation (global step 8 of 16) and ends PRUNED."""
    spec = spec_for(tmp_path).to_dict()
    study = optuna.create_study(direction="minimize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0))
    dists = distributions(spec["search_space"])
    study.add_trial(optuna.trial.create_trial(params={"alpha": 0.5, "exploration_scale": 1.0}, distributions=dists,
                                              value=1.0, intermediate_values={8: 1.0, 16: 1.0}))
    study.optimize(lambda t: run_trial(t, spec, tmp_path / "w"), n_trials=1)
    trial = study.trials[1]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["pruned_at_step"] == 8                     # global step > 0, not an epoch index
    assert list(trial.intermediate_values) == [8] and trial.intermediate_values[8] > 1.0
    assert trial.user_attrs["steps"] == 8 and trial.user_attrs["tokens"] == 8 * trial.user_attrs["tokens_per_step"]
    assert not list((tmp_path / "w" / "records").glob("*.json"))       # the run stopped before its end


def test_search_space_and_resume_checks(tmp_path):
    with pytest.raises(ConfigError, match="no search_space"):
        search_space_of("uniform")
    storage = make_storage(default_storage(tmp_path))
    open_study(spec_for(tmp_path), storage)
    open_study(spec_for(tmp_path, trials=5), storage)                   # more trials: a resume, allowed
    with pytest.raises(ConfigError, match="different overrides"):
        open_study(spec_for(tmp_path, overrides=FAST + ["training.lr=0.01"]), storage)
    with pytest.raises(ConfigError, match="--storage"):
        make_storage("optuna.db")


def _open_storage_after(url, barrier, results):
    barrier.wait()                       # every process creates the schema at the same moment
    try:
        make_storage(url)
        results.put("ok")
    except ConfigError as exc:
        results.put(str(exc))


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    """The coordinator, its workers and a user's second `sweep` can create the same new sqlite file
    at once; without the creation lock most of these rounds lose one process to a duplicate schema row."""
    context = multiprocessing.get_context("fork")
    for round_ in range(3):
        url, barrier, results = f"sqlite:///{tmp_path / f'race{round_}.db'}", context.Barrier(6), context.Queue()
        processes = [context.Process(target=_open_storage_after, args=(url, barrier, results)) for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [results.get(timeout=5) for _ in processes] == ["ok"] * 6


def test_install_recipe_copies_into_baselines(tmp_path):
    recipe = tmp_path / "odm-code-tuned.yaml"
    recipe.write_text("strategy: odm\n")
    (tmp_path / "baselines").mkdir()
    target = install_recipe(recipe, tmp_path / "baselines")
    assert target == tmp_path / "baselines" / recipe.name and target.read_text() == "strategy: odm\n"


def test_sweep_mlflow_children_tuned_recipe_and_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                          # MLflow artifacts land in ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = spec_for(tmp_path / "out", trials=2, pruner="none", track=True, tracking_uri=uri)
    code, summary = run_sweep(spec, workers=1, log=lambda *a: None)
    assert code == 0, summary
    recipe = yaml.safe_load(Path(summary["recipe"]).read_text())
    assert recipe["strategy"] == "odm" and recipe["tuning"]["tuned"] is True and recipe["tuning"]["trials"] == 2
    assert {k: recipe["hyperparameters"][k] for k in summary["best_params"]} == summary["best_params"]
    assert set(load_recipe("odm-code")["hyperparameters"]) <= set(recipe["hyperparameters"])
    record = json.loads(Path(summary["final_records"][0]).read_text())
    assert record["method"] == "odm-code-tuned" and record["status"] == "completed"
    assert record["tuning"]["tuned"] is True and record["tuning"]["trials"] == 2
    assert record["tuning"]["study"] == "s" and record["tuning"]["objective"] == "validation avg ppl"
    assert [e["kind"] for e in record["compute"]["extra_runs"]] == ["sweep-trial"] * 2
    assert sum(e["tokens"] for e in record["compute"]["extra_runs"]) == 2 * record["compute"]["train_tokens"]
    for name in ("history.png", "importance.png", "summary.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    # Objective = final VALIDATION avg ppl of each trial's record.
    study = optuna.load_study(study_name="s", storage=spec.storage)
    for trial in study.trials:
        trial_record = json.loads(Path(trial.user_attrs["record"]).read_text())
        assert trial.value == trial_record["final"]["validation"]["avg_ppl"]
    # MLflow: one parent, one child run per trial (+ the final run), linked by mlflow.parentRunId.
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    parent = study.user_attrs["mlflow_parent_run_id"]
    experiment = client.get_experiment_by_name("benchmark/embedded-pretrain")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    roles = sorted(r.data.tags["sweep.role"] for r in runs)
    assert roles == ["final", "trial", "trial"]
    assert sorted(r.data.tags["optuna.trial"] for r in runs if r.data.tags["sweep.role"] == "trial") == ["0", "1"]
    assert client.get_run(parent).info.status == "FINISHED"
    assert record["mlflow_run_id"] in {r.info.run_id for r in runs}


def _sweep_command(out: Path) -> list[str]:
    command = [sys.executable, "-m", "benchmark.sweep", "--method", "odm-code", "--trials", "4", "--workers", "2",
               "--study", "mp", "--output-dir", str(out), "--no-tracking", "--pruner", "none",
               "--heartbeat-interval", "1", "--grace-period", "3"]
    # 96 steps, not 16: the window in which a trial is seen RUNNING must outlast a loaded machine's polls.
    for item in FAST + ["training.steps=96", "training.eval_every=48"]:
        command += ["--set", item]
    return command


@pytest.mark.slow
def test_two_workers_one_killed_mid_trial_then_resumed_all_trials_accounted(tmp_path):
    out = tmp_path / "sweep"
    storage_url = default_storage(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    coordinator = subprocess.Popen(_sweep_command(out), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
    killed_trial = None
    try:
        deadline = time.time() + 150
        while killed_trial is None and time.time() < deadline and coordinator.poll() is None:
            time.sleep(0.3)
            if not (out / "optuna.db").exists():
                continue
            try:
                study = optuna.load_study(study_name="mp", storage=make_storage(storage_url))
                running = [t for t in study.get_trials(deepcopy=False)
                           if t.state == optuna.trial.TrialState.RUNNING and "tokens_per_step" in t.user_attrs]
            except Exception:  # noqa: BLE001 — the study is being created
                continue
            if running:                   # parameters drawn, data built: the trial is training
                os.kill(running[0].user_attrs["worker_pid"], signal.SIGKILL)
                killed_trial = running[0].number
        if killed_trial is None:
            coordinator.kill()
            pytest.fail("no running trial was seen:\n" + coordinator.communicate()[0][-4000:])
        output, _ = coordinator.communicate(timeout=300)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
    study = optuna.load_study(study_name="mp", storage=storage_url)
    state = study.trials[killed_trial].state
    assert state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL), output   # died mid-trial
    assert "killed by SIGKILL" in output or coordinator.returncode == 0, output

    # Resume at once: the dead worker's trial is recognised (same host, process gone) without waiting
    # for the heartbeat's grace period; on another host the heartbeat would mark it after 3 s.
    resumed = subprocess.run(_sweep_command(out), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    study = optuna.load_study(study_name="mp", storage=storage_url)
    ok, why = all_accounted(study, 4)
    assert ok, why
    acc = account(study)
    assert acc["failed_stale"] == [killed_trial]                       # marked FAILED, not left RUNNING
    retry = study.trials[acc["retried_as"][killed_trial]]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == study.trials[killed_trial].params
    assert len(acc["complete"]) == 4 and not acc["running"] and not acc["waiting"]
    summary = json.loads((out / "summary.json").read_text())
    record = json.loads(Path(summary["final_records"][0]).read_text())
    states = sorted(e["state"] for e in record["compute"]["extra_runs"])
    assert states == ["COMPLETE"] * 4 + ["FAIL"]                       # the lost trial's compute is counted too
    assert record["tuning"]["trials"] == 4


def test_a_failed_sweep_ends_its_parent_run_failed_and_names_its_objective(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from benchmark.sweep import driver
    from benchmark.sweep.common import OBJECTIVE, PARENT_ATTR

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = spec_for(tmp_path / "out", trials=2, pruner="none", track=True, tracking_uri=uri)
    opened = {}

    def optimise_then_fail(spec, workers, log):
        study = open_study(spec, make_storage(spec.storage, spec.heartbeat_interval, spec.grace_period))
        from benchmark.sweep.mlflow_runs import ensure_parent_run
        ensure_parent_run(study, spec)
        opened["study"] = study
        raise RuntimeError("every worker died")

    monkeypatch.setattr(driver, "optimise", optimise_then_fail)
    with pytest.raises(RuntimeError, match="every worker died"):
        run_sweep(spec, workers=1, log=lambda *a: None)
    study = opened["study"]
    assert study.metric_names == [OBJECTIVE]                              # optuna-dashboard's label
    parent = study.user_attrs[PARENT_ATTR]
    assert MlflowClient(tracking_uri=uri).get_run(parent).info.status == "FAILED"
