"""The leaderboard from a fabricated results store: every number checked against the records.

`make_record` / `write_store` build small, schema-correct result records (the runner's format)
with known numbers; tests/test_tables.py and tests/test_html_render.py reuse them.
"""

import csv
import hashlib
import io
import json
import math
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from benchmark.config import ConfigError
from benchmark.leaderboard import (
    cmd_leaderboard_full, format_csv, format_markdown, format_terminal, leaderboard_rows, mlflow_url,
)
from benchmark.records import SCHEMA_VERSION, load_records

DOMAINS = ["web", "code", "noise"]
EVAL_STEPS = [10, 20, 30]
SEEDS = [0, 1, 2]

# Per method and seed: test metrics and the validation average-perplexity curve at EVAL_STEPS.
KNOWN = {
    "uniform": {"avg": [40.0, 41.0, 42.5], "excess": [1.00, 1.02, 0.98], "worst": [130.0, 128.0, 135.0],
                "acc": [0.50, 0.55, 0.52], "share": [0.0004, 0.0005, 0.0006],
                "curve": [[70.0, 55.0, 50.0], [72.0, 56.0, 52.0], [69.0, 54.0, 51.0]]},
    "odm-code": {"avg": [38.0, 40.5, 40.0], "excess": [1.05, 1.10, 1.07], "worst": [120.0, 126.0, 121.0],
                 "acc": [0.53, 0.50, 0.58], "share": [0.002, 0.003, 0.001],
                 "curve": [[60.0, 49.0, 45.0], [66.0, 53.0, 47.0], [65.0, 55.0, 50.5]]},
    "proportional": {"avg": [45.0, 44.0, 47.0], "excess": [0.95, 0.97, 0.93], "worst": [150.0, 149.0, 160.0],
                     "acc": [0.40, 0.45, 0.41], "share": [0.0003, 0.0003, 0.0003],
                     "curve": [[80.0, 62.0, 58.0], [79.0, 60.0, 57.0], [81.0, 61.0, 59.0]]},
}
TUNED = {"avg": [37.0, 39.0, 38.5], "excess": [1.01, 1.03, 1.02], "worst": [119.0, 125.0, 122.0],
         "acc": [0.55, 0.56, 0.54], "share": [0.002, 0.002, 0.002],
         "curve": [[58.0, 48.0, 44.0], [61.0, 50.0, 46.0], [60.0, 52.0, 49.0]]}
TRAIN_TOKENS = 30 * 8 * 16


def task_config(steps: int = 30, task: str = "embedded-pretrain") -> dict:
    return {"data": {"builder": "synthetic_pretrain", "generator_seed": 1234, "seq_len": 16},
            "model": {"family": "gpt_neox", "hidden_size": 32},
            "training": {"steps": steps, "batch_size": 8, "eval_every": 10, "lr": 0.003},
            "evaluation": {"downstream": {"tasks": ["mini_mmlu"], "local": True}}}


def make_record(task: str, method: str, seed: int, known: dict, *, strategy: str | None = None, steps: int = 30,
                variant: dict | None = None, tuning: dict | None = None, extra_runs: list | None = None,
                downstream: dict | None = None, model: dict | None = None, status: str = "completed",
                created: float = 1.0) -> dict:
    """A schema-correct result record with the given numbers (index `seed` into each known list)."""
    i = SEEDS.index(seed) if seed in SEEDS else seed % 3
    config_task = task_config(steps, task)
    if model:
        config_task["model"] = model
    curve = known["curve"][i]
    val_loss = [[math.log(v)] * len(DOMAINS) for v in curve]       # equal domains: avg ppl = value
    test = {"avg_ppl": known["avg"][i], "worst_ppl": known["worst"][i], "worst_domain": "noise",
            "mean_loss": 3.0, "mean_excess_loss": known["excess"][i],
            **{f"ppl/{d}": known["avg"][i] * (k + 1) / 2 for k, d in enumerate(DOMAINS)}}
    weights = [[1 / len(DOMAINS)] * len(DOMAINS), [0.5, 0.3, 0.2], [0.4, 0.3, 0.3]]
    variant = variant or {}
    digest = hashlib.sha256(json.dumps([task, method, variant, steps, model], sort_keys=True).encode()).hexdigest()
    run_id = f"{task}__{method}__seed{seed}__{digest[:10]}"
    return {
        "schema": SCHEMA_VERSION, "run_id": run_id, "status": status, "error": None, "task": task,
        "method": method, "strategy": strategy or method, "method_variant": variant, "seed": seed,
        "config": {"task_name": task, "task": config_task,
                   "recipe": {"name": method, "strategy": strategy or method, "hyperparameters": variant},
                   "seed": seed, "quick": False},
        "config_hash": "0" * 64, "versions": {"python": "3.11"}, "git_commit": "abc", "data_manifest": {"hash": "x"},
        "curves": {"eval_steps": list(EVAL_STEPS), "val_loss": val_loss, "train_steps": [1, 10, 20, 30],
                   "train_loss": [6.0, 4.0, 3.5, 3.2]},
        "mixture": {"domains": DOMAINS, "steps": [1, 15, 30], "weights": weights, "rewards": None},
        "final": {"validation": {"avg_ppl": curve[-1], "worst_ppl": known["worst"][i], "mean_excess_loss": 1.0},
                  "test": test},
        "downstream": downstream if downstream is not None else {"mini_mmlu": {"acc": known["acc"][i], "n": 40}},
        "sampling": {"epochs_per_domain": {d: 0.1 for d in DOMAINS}},
        "timing": {"wall_seconds": 10.0, "train_seconds": 8.0 + i, "strategy_seconds": 0.01,
                   "strategy_share": known["share"][i], "eval_seconds": 1.0},
        "compute": {"steps": steps, "train_tokens": TRAIN_TOKENS, "extra_runs": extra_runs or []},
        **({"tuning": tuning} if tuning else {}),
        "created_unix": created,
    }


def write_store(root: Path, records: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for record in records:
        (root / f"{record['run_id']}.json").write_text(json.dumps(record))
    return root


def embedded_records() -> list[dict]:
    records = [make_record("embedded-pretrain", m, s, KNOWN[m], strategy={"odm-code": "odm"}.get(m))
               for m in KNOWN for s in SEEDS]
    extra = [{"kind": "sweep-trial", "steps": 30, "tokens": TRAIN_TOKENS} for _ in range(8)]
    records += [make_record("embedded-pretrain", "odm-code-tuned", s, TUNED, strategy="odm", variant={"alpha": 0.3},
                            tuning={"tuned": True, "trials": 8, "study": "st"}, extra_runs=extra) for s in SEEDS]
    # Another budget of the same task (never pooled with the 30-step runs) and a failed run (ignored).
    records.append(make_record("embedded-pretrain", "uniform", 0, KNOWN["proportional"], steps=60))
    records.append(make_record("embedded-pretrain", "exp3", 0, KNOWN["proportional"], status="failed"))
    return records


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "records", embedded_records())


def t_interval(values):
    """Independent check of the 95% CI: scipy's t interval around the mean."""
    values = np.asarray(values, dtype=float)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return values.mean(), (high - low) / 2


def first_step_at_or_below(curve, target):
    return next((s for s, v in zip(EVAL_STEPS, curve) if v <= target), None)


MAIN_BENCH = "embedded-pretrain [30"


def main_rows(store):
    rows = leaderboard_rows(load_records([store]))
    return {r["method"]: r for r in rows if r["benchmark"].startswith(MAIN_BENCH)}, rows


def test_every_number_traces_to_the_records(store):
    by_method, rows = main_rows(store)
    assert set(by_method) == {"uniform", "odm-code", "proportional", "odm-code-tuned"}
    benchmarks = {r["benchmark"] for r in rows}
    assert len(benchmarks) == 2                                 # the 60-step run is its own benchmark
    assert all("exp3" not in r["method"] for r in rows)        # failed records are ignored
    columns = {"avg ppl": "avg", "mean excess loss": "excess", "worst-domain ppl": "worst", "downstream acc": "acc"}
    for method, known in {**KNOWN, "odm-code-tuned": TUNED}.items():
        row = by_method[method]
        assert row["seeds"] == SEEDS
        for column, key in columns.items():
            mean, half = t_interval(known[key])
            assert row[column]["mean"] == pytest.approx(mean, rel=1e-12)
            assert row[column]["ci95"] == pytest.approx(half, rel=1e-9)
            assert row[column]["values"] == known[key]
            if method == "uniform":
                assert row["paired"][column] is None
                continue
            diffs = np.subtract(known[key], KNOWN["uniform"][key])
            d_mean, d_half = t_interval(diffs)
            assert row["paired"][column]["mean"] == pytest.approx(d_mean, rel=1e-9, abs=1e-12)
            assert row["paired"][column]["ci95"] == pytest.approx(d_half, rel=1e-9)
            assert row["paired"][column]["n"] == 3 and row["paired"][column]["seeds"] == SEEDS
        assert row["strategy share %"] == pytest.approx(100 * np.mean(known["share"]))
        if method != "uniform":
            targets = [c[-1] for c in KNOWN["uniform"]["curve"]]       # uniform's final val avg ppl per seed
            expected = [first_step_at_or_below(c, t) for c, t in zip(known["curve"], targets)]
            got = row["steps_to_target"]
            assert got["values"] == expected and got["seeds"] == SEEDS
            reached = [s for s in expected if s is not None]
            assert got["reached"] == len(reached)
            assert got["mean"] == (pytest.approx(np.mean(reached)) if reached else None)
    # Hand-checked values of the fixture, so the helper above cannot hide a shared mistake.
    assert by_method["odm-code"]["steps_to_target"]["values"] == [20, 30, 30]
    assert by_method["proportional"]["steps_to_target"]["values"] == [None, None, None]
    assert by_method["odm-code-tuned"]["steps_to_target"]["values"] == [20, 20, 30]
    assert by_method["uniform"]["steps_to_target"]["values"] == [30, 30, 30]
    assert by_method["odm-code"]["paired"]["avg ppl"]["values"] == pytest.approx([-2.0, -0.5, -2.5])


def test_compute_and_tuning_columns(store):
    by_method, _ = main_rows(store)
    tuned = by_method["odm-code-tuned"]
    assert tuned["tuning"] == {"tuned": True, "trials": 8, "study": "st", "objective": None}
    assert tuned["compute"]["extra_runs"] == 8 and tuned["compute"]["extra_tokens"] == 8 * TRAIN_TOKENS
    assert tuned["compute"]["extra_share"] == pytest.approx(8.0)
    assert tuned["compute"]["kinds"] == {"sweep-trial": 8.0}
    assert by_method["uniform"]["tuning"]["tuned"] is False and by_method["uniform"]["compute"]["extra_runs"] == 0


def test_markdown_and_csv_show_the_same_numbers(store):
    by_method, rows = main_rows(store)
    markdown = format_markdown(rows)
    odm = by_method["odm-code"]
    line = next(l for l in markdown.splitlines() if l.startswith("| odm-code |"))
    assert f"{odm['avg ppl']['mean']:.4g} ± {odm['avg ppl']['ci95']:.3g}" in line
    assert f"{odm['paired']['avg ppl']['mean']:+.4g} ± {odm['paired']['avg ppl']['ci95']:.3g} (n=3)" in line
    assert "| 26.67 (11% fewer) |" in line                          # mean of 20, 30, 30 vs 30 steps
    tuned_line = next(l for l in markdown.splitlines() if l.startswith("| odm-code-tuned |"))
    assert "+800% tokens (sweep-trial×8)" in tuned_line and "yes: 8 trials (st)" in tuned_line
    assert "not reached (0/3)" in next(l for l in markdown.splitlines() if l.startswith("| proportional |"))
    table = list(csv.DictReader(io.StringIO(format_csv(rows))))
    assert len(table) == len(rows)
    odm_row = next(r for r in table if r["method"] == "odm-code" and r["benchmark"] == odm["benchmark"])
    for column in ("avg ppl", "mean excess loss", "worst-domain ppl", "downstream acc"):
        assert float(odm_row[f"{column} mean"]) == odm[column]["mean"]
        assert float(odm_row[f"{column} ci95"]) == odm[column]["ci95"]
        assert float(odm_row[f"Δ {column} vs baseline mean"]) == odm["paired"][column]["mean"]
    assert odm_row["steps to target per seed"] == "20 30 30" and odm_row["steps to target reached"] == "3/3"
    assert odm_row["tuned"] == "no"


def test_old_api_still_works_for_run_output(store):
    records = [r for r in load_records([store]) if r["method"] == "uniform" and r["seed"] == 0]
    text = format_markdown(leaderboard_rows(records), "mini-MMLU acc")          # old sort name still accepted
    assert "### embedded-pretrain" in text and "| uniform | 1 |" in text


def test_command_writes_md_csv_html(store, tmp_path, capsys):
    args = Namespace(paths=[store], sort_by="avg ppl", baseline="uniform", output_dir=tmp_path / "board",
                     format="md,csv", no_plots=True, mlflow_url=None)
    assert cmd_leaderboard_full(args) == 0
    out = capsys.readouterr().out
    assert "odm-code-tuned" in out and "sweep-trial×8" not in out      # the compact table; files get the full one
    assert max(len(line) for line in out.splitlines()) <= 120
    assert (tmp_path / "board" / "leaderboard.md").read_text().startswith("# Leaderboard")
    assert (tmp_path / "board" / "leaderboard.csv").exists() and not (tmp_path / "board" / "leaderboard.html").exists()
    with pytest.raises(ConfigError, match="paths: not found"):
        cmd_leaderboard_full(Namespace(**{**vars(args), "paths": [tmp_path / "missing"]}))
    with pytest.raises(ConfigError, match="--format"):
        cmd_leaderboard_full(Namespace(**{**vars(args), "format": "pdf"}))


FLAD_ACC = {  # method -> seed -> target -> accuracy
    "explore-only": {42: {"t1": 0.50, "t2": 0.60}, 100: {"t1": 0.52, "t2": 0.58}, 222: {"t1": 0.49, "t2": 0.61}},
    "exp3-flad": {42: {"t1": 0.55, "t2": 0.66}, 100: {"t1": 0.54, "t2": 0.60}, 222: {"t1": 0.58, "t2": 0.63}},
    "target-only": {42: {"t1": 0.40, "t2": 0.45}, 100: {"t1": 0.41}},          # seed 100 lacks t2
}


def flad_record(method: str, seed: int, target: str, acc: float) -> dict:
    """A FLAD-style record: one per method × target × split seed, accuracy only, no perplexities."""
    record = make_record("embedded-flad", method, 0, KNOWN["uniform"], strategy=method,
                         downstream={target: {"acc": acc, "n": 50, "protocol": "t0_rank"}})
    record["seed"], record["target"] = seed, target
    record["config"]["task"]["data"]["target"] = target
    if method == "target-only":      # the task file's by_method budget: must not split the benchmark
        record["config"]["task"]["training"].update({"steps": 300, "batch_size": 16})
    record["final"] = {"validation": {"acc": acc}, "test": {"acc": acc, "avg_ppl": None, "worst_ppl": None}}
    record["curves"] = {"train_steps": [5, 10], "train_loss": [2.0, 1.5], "eval_steps": [10], "val_acc": [acc]}
    record["run_id"] = f"embedded-flad__{method}__{target}__seed{seed}"
    return record


def flad_records_of(table: dict) -> list[dict]:
    return [flad_record(m, s, t, a) for m, seeds in table.items() for s, accs in seeds.items() for t, a in accs.items()]


def test_flad_records_average_targets_per_seed_and_pair_with_explore_only(tmp_path):
    records = flad_records_of(FLAD_ACC)
    rows = {r["method"]: r for r in leaderboard_rows(load_records([write_store(tmp_path, records)]))}
    assert {r["benchmark"] for r in rows.values()} == {"embedded-flad"}     # one comparison, targets pooled
    explore, exp3, target_only = rows["explore-only"], rows["exp3-flad"], rows["target-only"]
    assert explore["is_baseline"] and exp3["baseline"] == "explore-only"
    assert exp3["targets"] == ["t1", "t2"] and exp3["seeds"] == [42, 100, 222]
    per_seed = {m: [np.mean(list(FLAD_ACC[m][s].values())) for s in (42, 100, 222)] for m in ("explore-only", "exp3-flad")}
    mean, half = t_interval(per_seed["exp3-flad"])
    assert exp3["downstream acc"]["mean"] == pytest.approx(mean) and exp3["downstream acc"]["ci95"] == pytest.approx(half)
    d_mean, d_half = t_interval(np.subtract(per_seed["exp3-flad"], per_seed["explore-only"]))
    assert exp3["paired"]["downstream acc"]["mean"] == pytest.approx(d_mean)
    assert exp3["paired"]["downstream acc"]["ci95"] == pytest.approx(d_half)
    assert exp3["avg ppl"] is None and exp3["steps_to_target"] is None
    # A seed without every target is left out (and said so), never averaged over fewer targets.
    assert target_only["seeds"] == [42] and target_only["incomplete_seeds"] == [100]
    assert target_only["downstream acc"]["mean"] == pytest.approx(np.mean([0.40, 0.45]))
    markdown = format_markdown(list(rows.values()))
    assert "| target-only | 1 × 2 targets (1 incomplete left out) |" in markdown
    assert f"{d_mean:+.4g} ± {d_half:.3g} (n=3)" in markdown


def test_always_empty_columns_are_left_out(tmp_path):
    """FLAD benchmarks have no perplexities: their Markdown has no perplexity, excess or steps columns."""
    records = flad_records_of(FLAD_ACC)
    header = format_markdown(leaderboard_rows(load_records([write_store(tmp_path, records)]))).splitlines()[2]
    assert header.startswith("| method | seeds | downstream acc | Δ downstream acc vs explore-only (paired) |")
    for gone in ("avg ppl", "mean excess loss", "worst-domain ppl", "steps to", "rank"):
        assert gone not in header


def test_terminal_table_fits_120_columns(store):
    _, rows = main_rows(store)
    for row in rows:                                   # long variant names are cut, not wrapped
        row["method"] += " (alpha=0.3, reward=a-very-long-reward-name)"
    text = format_terminal(rows)
    assert max(len(line) for line in text.splitlines()) <= 120
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    for column in ("avg ppl", "Δ ppl", "steps to base", "excess loss", "worst ppl"):
        assert column in header
    odm = next(r for r in rows if r["method"].startswith("odm-code (") and r["benchmark"].startswith(MAIN_BENCH))
    assert f"| {odm['avg ppl']['mean']:.4g}±{odm['avg ppl']['ci95']:.2g} " in text     # compact mean±ci cells


def test_mlflow_url_from_argument_or_environment(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert mlflow_url(None) is None
    assert mlflow_url("http://mlflow.example:5000/") == "http://mlflow.example:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert mlflow_url(None) is None                    # a database has no web address
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://tracking.example")
    assert mlflow_url(None) == "https://tracking.example"
    with pytest.raises(ConfigError, match="--mlflow-url"):
        mlflow_url("sqlite:///mlflow.db")


def test_a_pretraining_target_is_a_method_setting_not_a_cell(tmp_path):
    """Runs with `--target DOMAIN` (a mapping in data.target) sit in the same seed units as the
    others; they must not turn the benchmark into a one-target FLAD table that drops every other run."""
    records = [make_record("embedded-pretrain", m, s, KNOWN[m], strategy={"odm-code": "odm"}.get(m))
               for m in ("uniform", "odm-code") for s in SEEDS]
    for seed in SEEDS:
        targeted = make_record("embedded-pretrain", "exp3-flad", seed, TUNED)
        targeted["config"]["task"]["data"]["target"] = {"domain": "code", "blocks": 16}
        targeted["compute"].update(extra_forward_tokens=TRAIN_TOKENS // 2, extra_backward_tokens=TRAIN_TOKENS // 4,
                                   probe_steps=6)
        records.append(targeted)
    rows = {r["method"]: r for r in leaderboard_rows(load_records([write_store(tmp_path / "r", records)]))}
    assert {m: len(r["seeds"]) for m, r in rows.items()} == {"uniform": 3, "odm-code": 3, "exp3-flad": 3}
    assert not any(r.get("targets") for r in rows.values())
    assert rows["exp3-flad"]["paired"]["avg ppl"] is not None        # paired against uniform, seed by seed
    line = next(x for x in format_markdown(list(rows.values())).splitlines() if x.startswith("| exp3-flad "))
    assert "passes +50% fwd / +25% bwd tokens; 6 probe steps" in line
