"""Sweeps on FLAD tasks: the study maximises the few-shot VALIDATION accuracy of one target (never the
test split), prunes on it at each evaluation, and ends with the tuned recipe and its final run."""

import json
from pathlib import Path

import optuna
import pytest
import yaml

from benchmark.cli import build_parser, main
from benchmark.config import ConfigError, load_recipe
from benchmark.sweep import account, all_accounted, default_storage, distributions, run_trial, search_space_of
from benchmark.sweep.spec import SweepSpec, build_spec
from tests.test_flad_runs import TINY


def _set(overrides):
    return [arg for item in overrides for arg in ("--set", item)]


def test_flad_sweep_maximises_validation_accuracy_and_writes_the_tuned_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sweep"
    code = main(["sweep", "--task", "embedded-flad", "--method", "exp3-flad", "--trials", "4", "--study", "fs",
                 "--output-dir", str(out), "--no-tracking", *_set(TINY)])
    assert code == 0

    study = optuna.load_study(study_name="fs", storage=default_storage(out))
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.metric_names == ["few-shot validation accuracy"]
    ok, why = all_accounted(study, 4)
    assert ok, why
    acc = account(study)
    assert acc["done"] == 4 and len(acc["complete"]) >= 2 and not acc["failed_by_run"]
    spec = study.user_attrs["sweep_spec"]
    assert spec["family"] == "flad" and spec["target"] == "tgt_a" and spec["seed"] == 42   # the task's defaults
    for trial in study.trials:
        # pruning reports the few-shot validation accuracy at each evaluation step (eval_every=2 of 4 steps)
        assert set(trial.intermediate_values) <= {2, 4} and trial.intermediate_values
        assert all(0.0 <= v <= 1.0 for v in trial.intermediate_values.values())
        if trial.state != optuna.trial.TrialState.COMPLETE:
            continue
        record = json.loads(Path(trial.user_attrs["record"]).read_text())
        assert 0.0 <= trial.value <= 1.0 and trial.value == record["final"]["validation"]["acc"]
        assert trial.value == max(record["curves"]["val_acc"])
        assert record["target"] == "tgt_a" and record["seed"] == 42
        assert record["final"]["test"]["acc"] is None          # trials never score the test split
        assert trial.user_attrs["tokens"] == record["compute"]["train_tokens"] > 0
    assert study.best_value == max(t.value for t in study.trials if t.value is not None)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["direction"] == "maximize" and summary["target"] == "tgt_a"
    recipe_path = out / "recipes" / "exp3-flad-tuned.yaml"
    assert Path(summary["recipe"]) == recipe_path
    recipe = yaml.safe_load(recipe_path.read_text())
    best = study.best_trial.params
    assert set(best) == {"reward", "exploration_scale", "beta"}
    assert {k: recipe["hyperparameters"][k] for k in best} == best
    assert recipe["strategy"] == "exp3-flad"
    assert recipe["tuning"]["objective"] == "few-shot validation accuracy"
    assert recipe["tuning"]["direction"] == "maximize"
    assert recipe["tuning"]["target"] == "tgt_a" and recipe["tuning"]["best_value"] == study.best_value
    assert load_recipe(str(recipe_path))["hyperparameters"] == recipe["hyperparameters"]    # a usable recipe file

    record = json.loads(Path(summary["final_records"][0]).read_text())
    assert record["method"] == "exp3-flad-tuned" and record["status"] == "completed"
    assert record["target"] == "tgt_a" and record["seed"] == 42
    assert 0.0 <= record["final"]["test"]["acc"] <= 1.0                  # the final run is tested
    assert summary["final_validation_acc"] == [record["final"]["validation"]["acc"]]
    assert record["tuning"]["direction"] == "maximize" and record["tuning"]["trials"] == 4
    assert record["tuning"]["params"] == best
    assert [e["kind"] for e in record["compute"]["extra_runs"]].count("sweep-trial") == 4
    for name in ("history.png", "importance.png"):
        assert (out / name).stat().st_size > 0


def test_flad_trial_is_pruned_on_validation_accuracy(tmp_path):
    """A fabricated finished trial with validation accuracy 1.0 at every evaluation: a real trial
    (accuracy < 1 on this tiny model) is judged at its first evaluation, global step 2 of 4, and pruned."""
    space = search_space_of("exp3-flad")
    spec = SweepSpec(task="embedded-flad", method="exp3-flad", trials=1, study="p", storage="sqlite://",
                     output_dir=str(tmp_path), overrides=list(TINY), seed=42, search_space=space, track=False,
                     family="flad", target="tgt_a").to_dict()
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0))
    study.add_trial(optuna.trial.create_trial(
        params={"reward": "agg", "exploration_scale": 1.0, "beta": 1.0}, distributions=distributions(space),
        value=1.0, intermediate_values={2: 1.0, 4: 1.0}))
    study.optimize(lambda t: run_trial(t, spec, tmp_path / "w"), n_trials=1)
    trial = study.trials[1]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["pruned_at_step"] == 2 and list(trial.intermediate_values) == [2]
    assert 0.0 <= trial.intermediate_values[2] < 1.0
    assert trial.user_attrs["steps"] == 2 and trial.user_attrs["tokens"] > 0


def test_flad_sweep_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def spec_of(*extra):
        args = build_parser().parse_args(["sweep", "--method", "exp3-flad", "--trials", "1", *extra])
        return build_spec(args, args.method)

    spec = spec_of("--task", "embedded-flad", "--target", "tgt_b", "--seed", "100", *_set(TINY))
    assert (spec.family, spec.target, spec.seed, spec.final_seeds) == ("flad", "tgt_b", 100, [100])
    assert spec.study == "sweep-embedded-flad-tgt_b-exp3-flad" and spec.objective.direction == "maximize"
    for bad, match in ((["--target", "all"], "one target"), (["--target", "nope"], "unknown target")):
        with pytest.raises(ConfigError, match=match):
            spec_of("--task", "embedded-flad", *bad, *_set(TINY))
    args = build_parser().parse_args(["sweep", "--method", "odm-code", "--trials", "1", "--target", "tgt_a"])
    with pytest.raises(ConfigError, match="only FLAD tasks"):
        build_spec(args, args.method)
    args = build_parser().parse_args(["sweep", "--method", "odm-code", "--trials", "1"])
    pretrain = build_spec(args, args.method)
    assert (pretrain.family, pretrain.target, pretrain.seed) == ("pretrain", None, 0)
    assert pretrain.objective.direction == "minimize"
