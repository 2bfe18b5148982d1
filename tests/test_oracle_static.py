"""The oracle static mixture: a search space over the simplex of the task's domains (bound by the
sweep, first trial uniform), its tuned final run as the leaderboard's reference row, and every
method's paired regret to it."""

import json
import math
from argparse import Namespace
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml

from benchmark.config import ConfigError
from benchmark.leaderboard import format_csv, format_markdown, leaderboard_rows
from benchmark.records import is_comparable
from benchmark.sweep import SweepSpec, default_storage, distributions, run_sweep, search_space_of
from benchmark.sweep.space import hyperparameters_of, initial_points, with_domains
from benchmark.sweep.spec import build_spec
from tests.conftest import TINY
from tests.test_leaderboard import KNOWN, SEEDS, make_record

DOMAINS = ["web", "code", "noise"]


def test_simplex_draws_become_normalised_weights_and_the_static_baselines_are_the_first_points():
    space = with_domains(search_space_of("oracle-static"), DOMAINS, [400, 100, 0])
    assert set(distributions(space)) == {"weights/web", "weights/code", "weights/noise"}
    uniform, proportional, temperature = (hyperparameters_of(space, p)["weights"] for p in initial_points(space))
    assert uniform == pytest.approx({d: 1 / 3 for d in DOMAINS})
    assert proportional == pytest.approx({"web": 0.8, "code": 0.2, "noise": 0.0})
    assert temperature == pytest.approx({"web": 2 / 3, "code": 1 / 3, "noise": 0.0})        # ∝ size^(1/2)
    with pytest.raises(ConfigError, match="size-based starting point needs the task's domain sizes"):
        initial_points(with_domains(search_space_of("oracle-static"), DOMAINS))
    weights = hyperparameters_of(space, {"weights/web": 0.1, "weights/code": 0.5, "weights/noise": 1.0})["weights"]
    mass = np.array([-math.log(0.1), -math.log(0.5), 0.0])
    assert list(weights.values()) == pytest.approx(list(mass / mass.sum()))      # u = 1 → weight exactly 0
    assert weights["noise"] == 0.0


def test_independent_uniform_draws_cover_the_simplex_evenly():
    """-ln(u) normalised is Dirichlet(1): each weight's mean is 1/K and P(w_1 > 1/2) = (1/2)^(K-1)."""
    space = with_domains(search_space_of("oracle-static"), DOMAINS)
    rng = np.random.default_rng(0)
    draws = [list(hyperparameters_of(space, {f"weights/{d}": u for d, u in zip(DOMAINS, rng.random(3))})["weights"]
                  .values()) for _ in range(20000)]
    draws = np.array(draws)
    assert draws.mean(axis=0) == pytest.approx([1 / 3] * 3, abs=0.01)
    assert (draws[:, 0] > 0.5).mean() == pytest.approx(0.25, abs=0.015)


def test_bad_simplex_spaces_are_refused_naming_the_field(tmp_path):
    scalar = tmp_path / "bad-scalar.yaml"
    scalar.write_text(yaml.safe_dump({"strategy": "temperature", "hyperparameters": {"temperature": 2.0},
                                      "search_space": {"temperature": {"type": "simplex"}}}))
    with pytest.raises(ConfigError, match="search_space.temperature.type: simplex needs a mapping"):
        search_space_of(str(scalar))
    start = tmp_path / "bad-start.yaml"
    start.write_text(yaml.safe_dump({"strategy": "fixed", "hyperparameters": {"normalize": True},
                                     "search_space": {"weights": {"type": "simplex", "start": ["zipf"]}}}))
    with pytest.raises(ConfigError, match=r"search_space.weights.start: unknown starting point"):
        search_space_of(str(start))


def _args(task: str, out: Path, **kw) -> Namespace:
    base = dict(task=task, seed=None, target=None, trials=2, study=None, output_dir=out, storage=None,
                overrides=list(TINY), quick=False, final_seeds=None, pruner="none", trial_downstream=False,
                heartbeat_interval=1, grace_period=3, no_tracking=True, tracking_uri=None)
    base.update(kw)
    return Namespace(**base)


def test_the_sweep_binds_the_tasks_domains_and_refuses_flad(tmp_path):
    spec = build_spec(_args("embedded-pretrain", tmp_path / "p"), "oracle-static")
    assert spec.search_space["weights"]["domains"] == ["web", "books", "wiki", "emails", "code", "forum", "math",
                                                       "legal", "medical", "noise"]
    with pytest.raises(ConfigError, match="oracle-static. applies to pretrain tasks"):
        build_spec(_args("embedded-flad", tmp_path / "f"), "oracle-static")


@pytest.mark.slow
def test_oracle_sweep_starts_uniform_and_its_final_run_is_the_reference_row(tmp_path):
    """A study of the mean excess loss (the pruner reports the mean validation loss)."""
    out = tmp_path / "oracle"
    spec = SweepSpec(task="embedded-pretrain", method="oracle-static", trials=2, study="o",
                     storage=default_storage(out), output_dir=str(out), overrides=TINY + ["evaluation.downstream=null"],
                     seed=0, final_seeds=[0], pruner="median",
                     search_space=build_spec(_args("embedded-pretrain", out), "oracle-static").search_space,
                     track=False, heartbeat_interval=1, grace_period=3, objective_key="mean_excess_loss")
    code, summary = run_sweep(spec, workers=1, log=lambda *a: None)
    assert code == 0, summary
    study = optuna.load_study(study_name="o", storage=spec.storage)
    assert len(set(study.trials[0].params.values())) == 1                 # trial 0: the enqueued uniform mixture
    sizes = spec.search_space["weights"]["sizes"]
    proportional = hyperparameters_of(spec.search_space, study.trials[1].params)["weights"]   # trial 1: proportional
    assert list(proportional.values()) == pytest.approx([size / sum(sizes) for size in sizes])
    recipe = yaml.safe_load(Path(summary["recipe"]).read_text())
    weights = recipe["hyperparameters"]["weights"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights == pytest.approx(hyperparameters_of(spec.search_space, study.best_params)["weights"])
    final = json.loads(Path(summary["final_records"][0]).read_text())
    assert final["strategy"] == "fixed" and final["config"]["recipe"]["role"] == "oracle"
    assert final["method"] == "oracle-static-tuned-mean-excess-loss"
    assert final["tuning"]["objective"] == "validation mean excess loss"
    assert summary["final_validation_mean_excess_loss"] == [final["final"]["validation"]["mean_excess_loss"]]
    assert study.best_value == min(t.value for t in study.trials if t.value is not None)
    best = json.loads(Path(study.best_trial.user_attrs["record"]).read_text())
    assert study.best_value == best["final"]["validation"]["mean_excess_loss"]
    assert final["mixture"]["weights"][0] == pytest.approx([weights[d] for d in final["mixture"]["domains"]])
    trial_records = [json.loads(p.read_text()) for p in (out / "trials").rglob("records/*.json")]
    assert len(trial_records) == 2 and not any(is_comparable(r) for r in trial_records)


def _oracle_record(seed: int) -> dict:
    known = {**KNOWN["uniform"], "avg": [39.0, 40.0, 41.0], "excess": [0.90, 0.95, 0.91]}
    record = make_record("embedded-pretrain", "oracle-static-tuned", seed, known, strategy="fixed",
                         tuning={"tuned": True, "trials": 8, "study": "o"})
    record["config"]["recipe"]["role"] = "oracle"
    return record


def test_leaderboard_shows_the_oracle_row_and_paired_regret():
    records = [make_record("embedded-pretrain", m, s, KNOWN[m], strategy={"odm-code": "odm"}.get(m))
               for m in KNOWN for s in SEEDS] + [_oracle_record(s) for s in SEEDS]
    rows = {r["method"]: r for r in leaderboard_rows(records)}
    oracle = rows["oracle-static-tuned"]
    assert oracle["is_oracle"] and oracle["regret"] == {"avg ppl": None, "mean excess loss": None}
    regret = rows["odm-code"]["regret"]["avg ppl"]
    assert regret["values"] == pytest.approx([38.0 - 39.0, 40.5 - 40.0, 40.0 - 41.0]) and regret["n"] == 3
    assert rows["uniform"]["regret"]["mean excess loss"]["values"] == pytest.approx([0.10, 0.07, 0.07])
    markdown = format_markdown(list(rows.values()))
    assert "oracle-static-tuned (oracle static mixture, reference)" in markdown and "regret to oracle static" in markdown
    assert "(oracle)" in markdown
    line = next(l for l in markdown.splitlines() if l.startswith("| uniform "))
    assert "+1.167 ± " in line and "+0.08 ± " in line                   # mean regrets of uniform
    table = format_csv(list(rows.values()))
    assert "regret avg ppl mean" in table.splitlines()[0]


def test_without_an_oracle_row_the_regret_column_is_left_out():
    records = [make_record("embedded-pretrain", m, s, KNOWN[m]) for m in KNOWN for s in SEEDS]
    rows = leaderboard_rows(records)
    assert all(not r["is_oracle"] and r["regret"]["avg ppl"] is None for r in rows)
    assert "regret to oracle" not in format_markdown(rows).split("\n\n")[0]


def _excess_oracle_record(seed: int) -> dict:
    known = {**KNOWN["uniform"], "avg": [41.0, 42.0, 43.0], "excess": [0.70, 0.75, 0.71]}
    record = make_record("embedded-pretrain", "oracle-static-tuned-mean-excess-loss", seed, known, strategy="fixed",
                         tuning={"tuned": True, "trials": 8, "study": "e", "objective": "validation mean excess loss"})
    record["config"]["recipe"]["role"] = "oracle"
    return record


def test_each_regret_is_measured_against_the_oracle_tuned_for_its_metric():
    ppl_oracle = []
    for seed in SEEDS:
        record = _oracle_record(seed)
        record["tuning"]["objective"] = "validation avg ppl"
        ppl_oracle.append(record)
    records = ([make_record("embedded-pretrain", m, s, KNOWN[m], strategy={"odm-code": "odm"}.get(m))
                for m in KNOWN for s in SEEDS] + ppl_oracle + [_excess_oracle_record(s) for s in SEEDS])
    rows = {r["method"]: r for r in leaderboard_rows(records)}
    assert rows["oracle-static-tuned"]["oracle_for"] == ["avg ppl"]
    excess_oracle = rows["oracle-static-tuned-mean-excess-loss"]
    assert excess_oracle["oracle_for"] == ["mean excess loss"] and excess_oracle["is_oracle"]
    assert rows["uniform"]["regret"]["mean excess loss"]["values"] == pytest.approx([0.30, 0.27, 0.27])
    assert rows["uniform"]["regret"]["avg ppl"]["values"] == pytest.approx([1.0, 1.0, 1.5])
    # the excess oracle's own avg-ppl regret is measured against the avg-ppl oracle
    assert excess_oracle["regret"]["avg ppl"]["values"] == pytest.approx([2.0, 2.0, 2.0])
    markdown = format_markdown(list(rows.values()))
    assert "(oracle static mixture for mean excess loss, reference)" in markdown
    line = next(l for l in markdown.splitlines() if l.startswith("| oracle-static-tuned-mean-excess-loss "))
    assert "+2 ± " in line and "(oracle)" in line
    consistency_rows = [r for r in rows.values() if not r["is_oracle"]]
    assert {r["method"] for r in consistency_rows} == set(KNOWN)


def test_the_excess_objective_is_offered_where_floors_are_known(tmp_path):
    spec = build_spec(_args("embedded-pretrain", tmp_path / "p", objective="mean_excess_loss"), "oracle-static")
    assert spec.objective.record_key == "mean_excess_loss" and spec.objective.metric == "val/mean_loss"
    with pytest.raises(ConfigError, match="--objective: a pretrain sweep offers avg_ppl, mean_excess_loss; got 'acc'"):
        build_spec(_args("embedded-pretrain", tmp_path / "q", objective="acc"), "oracle-static")
    with pytest.raises(ConfigError, match="--objective: a flad sweep offers acc"):
        build_spec(_args("embedded-flad", tmp_path / "f", objective="mean_excess_loss"), "exp3-flad")


def test_the_pruner_of_the_excess_objective_reports_the_mean_validation_loss():
    from benchmark.pruning import StepPruningCallback

    callback = StepPruningCallback(object(), metric="val/mean_loss")
    assert callback.value({"val_loss": [[9.0], [1.0, 2.0, 4.5]]}) == pytest.approx(2.5)


def test_a_concentrated_simplex_searches_near_uniform_and_a_bad_concentration_is_refused(tmp_path):
    space = with_domains(search_space_of("oracle-static-local"), DOMAINS, [400, 100, 100])
    assert space["weights"]["concentration"] == 8
    (start,) = initial_points(space)
    assert hyperparameters_of(space, start)["weights"] == pytest.approx({d: 1 / 3 for d in DOMAINS})
    proportional = hyperparameters_of(space, initial_points(
        {"weights": {**space["weights"], "start": ["proportional"]}})[0])["weights"]
    assert proportional == pytest.approx({"web": 2 / 3, "code": 1 / 6, "noise": 1 / 6})   # round trip at a = 8
    rng = np.random.default_rng(0)
    draws = np.array([list(hyperparameters_of(space, {f"weights/{d}": rng.random() for d in DOMAINS})
                           ["weights"].values()) for _ in range(2000)])
    assert np.allclose(draws.sum(axis=1), 1.0)
    assert draws.std(axis=0).mean() == pytest.approx(np.sqrt(2 / 9 / 25), rel=0.1)   # Dirichlet(8, 8, 8)
    assert hyperparameters_of(space, {"weights/web": 1.0, "weights/code": 0.5, "weights/noise": 0.5}
                              )["weights"]["web"] == 0.0
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(yaml.safe_dump({"strategy": "fixed", "hyperparameters": {"normalize": True},
                                      "search_space": {"weights": {"type": "simplex", "concentration": 0}}}))
    with pytest.raises(ConfigError, match=r"search_space.weights.concentration: must be a positive number"):
        search_space_of(str(recipe))
