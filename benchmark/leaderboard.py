"""Leaderboard tables from result records: mean ± 95% CI over seeds, several metrics side by side.

One table per benchmark (a task at one budget: records whose task configuration differs — e.g. a
`--quick` run and a full run — are never pooled), one row per method variant (recipe name +
hyperparameters). Every number is computed from the records only:

- metric columns (test split): mean over seeds ± the half-width of the 95% t confidence interval
  (`scipy.stats.t`, n − 1 degrees of freedom; no interval with one seed);
- "Δ vs <baseline>" (uniform; on FLAD benchmarks Explore-Only, FLAD's uniform mixture; or
  `--baseline`): the paired difference method − baseline over the seeds both have run, with
  its own 95% t interval (pairs share data order and initialisation, so this interval is the
  one that says whether a method beats the baseline);
- steps-to-target: per paired seed, the first evaluation step at which the method's VALIDATION
  average perplexity (unweighted mean of per-domain perplexities, from the record's curves) is at
  or below the baseline's final validation average perplexity (its last evaluation point) — ODM's
  "reaches the final perplexity with 19% fewer iterations";
- overhead: the strategy's share of training-step time; extra compute: the record's
  `compute.extra_runs` (reference/proxy runs, sweep trials) in steps and tokens, also relative to
  the run's own training tokens;
- tuning: `record["tuning"]` (tuned or published hyperparameters, number of trials, study).
- FLAD-style records (one per method × target × split seed): a seed's value is the mean over the
  benchmark's targets, and a seed missing a target is left out (counted in the row).

`python -m benchmark leaderboard [PATHS] [--output-dir DIR]` prints the Markdown and writes
`leaderboard.md`, `leaderboard.csv` and a self-contained `leaderboard.html` (plots embedded).
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import hashlib
import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

BASELINE = "uniform"


def _downstream_acc(record: dict[str, Any]) -> float | None:
    values = [v["acc"] for v in record.get("downstream", {}).values() if isinstance(v, dict) and v.get("acc") is not None]
    return float(np.mean(values)) if values else None


# (column, how to read it from a record, lower is better?) — final metrics on the TEST split.
def _test(record: dict[str, Any]) -> dict[str, Any]:
    return (record.get("final") or {}).get("test") or {}


METRICS: list[tuple[str, Any, bool]] = [
    ("avg ppl", lambda r: _test(r).get("avg_ppl"), True),
    ("mean excess loss", lambda r: _test(r).get("mean_excess_loss"), True),
    ("worst-domain ppl", lambda r: _test(r).get("worst_ppl"), True),
    ("downstream acc", _downstream_acc, False),
]
METRIC_ALIASES = {"mini-MMLU acc": "downstream acc", "acc": "downstream acc", "ppl": "avg ppl",
                  "excess": "mean excess loss", "worst": "worst-domain ppl"}
LOWER_IS_BETTER = {c: low for c, _, low in METRICS}


def canonical_metric(name: str) -> str:
    name = METRIC_ALIASES.get(name, name)
    if name not in LOWER_IS_BETTER:
        from .config import ConfigError
        raise ConfigError(f"--sort-by: unknown metric {name!r}; allowed: {', '.join(LOWER_IS_BETTER)}")
    return name


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------
def mean_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean, sample standard deviation, and the half-width of the t-based confidence interval."""
    from scipy import stats     # imported here: keeps `python -m benchmark --help` fast

    arr = np.asarray(values, dtype=np.float64)
    if len(arr) < 2:
        return float(arr.mean()), 0.0, math.nan
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(arr) - 1) * std / math.sqrt(len(arr)))
    return float(arr.mean()), std, half


def summary(values: list[float]) -> dict[str, Any]:
    mean, std, half = mean_ci(values)
    return {"mean": mean, "std": std, "ci95": half, "n": len(values), "values": list(values)}


def curve_avg_ppl(losses: list[float]) -> float:
    """ODM's average perplexity of one evaluation point: the unweighted mean of exp(domain loss)."""
    return sum(math.exp(min(float(v), 50.0)) for v in losses) / len(losses)


def validation_curve(record: dict[str, Any]) -> tuple[list[int], list[float]]:
    curves = record.get("curves") or {}
    return list(curves.get("eval_steps", [])), [curve_avg_ppl(v) for v in curves.get("val_loss", [])]


def final_validation_avg_ppl(record: dict[str, Any]) -> float | None:
    """The last validation evaluation point (the final step); falls back to final.validation."""
    _, values = validation_curve(record)
    if values:
        return values[-1]
    return (record.get("final") or {}).get("validation", {}).get("avg_ppl")


def steps_to_target(record: dict[str, Any], target: float) -> int | None:
    """First evaluation step whose validation avg perplexity is ≤ target; None if never reached."""
    for step, value in zip(*validation_curve(record)):
        if value <= target:
            return int(step)
    return None


def paired_difference(runs: list[dict[str, Any]], baseline: list[dict[str, Any]], read: Any) -> dict[str, Any] | None:
    """method − baseline over the seeds both have (one value per seed), with a paired t interval."""
    return paired_values({r["seed"]: read(r) for r in runs}, {r["seed"]: read(r) for r in baseline})


def paired_values(values: dict[int, float | None], baseline: dict[int, float | None]) -> dict[str, Any] | None:
    seeds, diffs = [], []
    for seed in sorted(values):
        value, other = values[seed], baseline.get(seed)
        if value is None or other is None:
            continue
        seeds.append(seed)
        diffs.append(float(value) - float(other))
    if not diffs:
        return None
    return {**summary(diffs), "seeds": seeds}


def steps_to_target_summary(runs: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> dict[str, Any] | None:
    base = {r["seed"]: r for r in baseline}
    seeds, steps, finals = [], [], []
    for run in sorted(runs, key=lambda r: r["seed"]):
        other = base.get(run["seed"])
        target = final_validation_avg_ppl(other) if other else None
        if target is None or not validation_curve(run)[1]:
            continue
        seeds.append(run["seed"])
        steps.append(steps_to_target(run, target))
        finals.append(validation_curve(other)[0][-1] if validation_curve(other)[0] else None)
    if not seeds:
        return None
    reached = [s for s in steps if s is not None]
    final_step = float(np.mean([f for f in finals if f is not None])) if any(f is not None for f in finals) else None
    mean = float(np.mean(reached)) if reached else None
    return {"values": steps, "seeds": seeds, "reached": len(reached), "n": len(seeds), "mean": mean,
            "baseline_final_step": final_step,
            "fraction": mean / final_step if mean is not None and final_step else None}


# ----------------------------------------------------------------------------------------------
# Grouping
# ----------------------------------------------------------------------------------------------
def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def record_target(record: dict[str, Any]) -> str | None:
    """The few-shot target of a FLAD-style record (one record per method × target × seed), else None."""
    if record.get("target") is not None:
        return str(record["target"])
    target = (((record.get("config") or {}).get("task") or {}).get("data") or {}).get("target")
    return None if target is None else str(target)


@functools.lru_cache(maxsize=None)
def _method_specific_training_keys(task: str) -> frozenset[str]:
    """Training keys a task file sets per method (`training.by_method`, e.g. FLAD's Target-Only
    budget): they differ between methods of ONE benchmark, so they must not split it."""
    try:
        from .config import load_task
        spec = load_task(task)
    except Exception:  # noqa: BLE001 — a record of a task this checkout does not have
        return frozenset()
    tables = [(spec.get("training") or {}).get("by_method") or {},
              ((spec.get("quick") or {}).get("training") or {}).get("by_method") or {}]
    return frozenset(k for table in tables for values in table.values() for k in (values or {}))


def benchmark_key(record: dict[str, Any]) -> str:
    """Task name + a hash of its resolved configuration (data, model, budget, evaluation), leaving
    out what legitimately differs inside one comparison: the few-shot target (`data.target`) and
    the task file's per-method training settings."""
    config = copy.deepcopy((record.get("config") or {}).get("task") or {})
    if isinstance(config.get("data"), dict):
        config["data"].pop("target", None)
    if isinstance(config.get("training"), dict):
        for key in _method_specific_training_keys(record["task"]):
            config["training"].pop(key, None)
    quick = bool((record.get("config") or {}).get("quick"))
    return f"{record['task']}#{_hash([config, quick])[:8]}"


def variant_key(record: dict[str, Any]) -> tuple[str, str]:
    return record["method"], json.dumps(record.get("method_variant") or {}, sort_keys=True, default=str)


def group_records(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Completed records by (task, method) — kept for callers of the first version."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("status") == "completed":
            groups[(record["task"], record["method"])].append(record)
    return groups


def _benchmark_labels(records: list[dict[str, Any]]) -> dict[str, str]:
    """Readable name per benchmark key: the task name, plus the budget when a task has several."""
    by_task: dict[str, set[str]] = defaultdict(set)
    example: dict[str, dict[str, Any]] = {}
    for record in records:
        key = benchmark_key(record)
        by_task[record["task"]].add(key)
        example.setdefault(key, record)
    labels = {}
    for task, keys in by_task.items():
        for key in keys:
            if len(keys) == 1:
                labels[key] = task
                continue
            config = example[key].get("config") or {}
            steps = (config.get("task") or {}).get("training", {}).get("steps")
            quick = ", quick" if config.get("quick") else ""
            labels[key] = f"{task} [{steps} steps{quick}, config {key.split('#')[1][:6]}]"
    return labels


def _deduplicate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (seed, target) — the newest — so a re-run never counts twice."""
    newest: dict[tuple[int, str | None], dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r.get("created_unix", 0)):
        newest[(run["seed"], record_target(run))] = run
    return [newest[k] for k in sorted(newest, key=lambda k: (k[0], k[1] or ""))]


def seed_units(runs: list[dict[str, Any]], targets: list[str]) -> tuple[dict[int, list[dict[str, Any]]], list[int]]:
    """Records by seed; with targets (FLAD), a seed counts only when it has every target of the
    benchmark (a partial seed would bias the average). Returns (complete units, incomplete seeds)."""
    by_seed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for run in _deduplicate(runs):
        by_seed[run["seed"]].append(run)
    if not targets:
        return dict(sorted(by_seed.items())), []
    complete = {s: u for s, u in sorted(by_seed.items()) if {record_target(r) for r in u} >= set(targets)}
    return complete, sorted(set(by_seed) - set(complete))


def unit_value(unit: list[dict[str, Any]], read: Any) -> float | None:
    """A seed's value: the record's, or the mean over its targets' records."""
    values = [read(r) for r in unit]
    if not values or any(v is None for v in values):
        return None
    return float(np.mean([float(v) for v in values]))


def _display_names(variants: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in variants:
        names[key[0]].append(key)
    out = {}
    for method, keys in names.items():
        if len(keys) == 1:
            out[keys[0]] = method
            continue
        params = [json.loads(k[1]) for k in keys]
        differing = sorted({p for d in params for p in d if any(d.get(p) != o.get(p) for o in params)})
        for key, d in zip(keys, params):
            out[key] = f"{method} ({', '.join(f'{p}={d.get(p)}' for p in differing)})"
    return out


def _compute(runs: list[dict[str, Any]]) -> dict[str, Any]:
    extra_tokens, extra_steps, extra_count, train_tokens, kinds = [], [], [], [], defaultdict(int)
    for run in runs:
        compute = run.get("compute") or {}
        extras = compute.get("extra_runs") or []
        extra_tokens.append(float(sum(e.get("tokens") or 0 for e in extras)))
        extra_steps.append(float(sum(e.get("steps") or 0 for e in extras)))
        extra_count.append(len(extras))
        train_tokens.append(float(compute.get("train_tokens") or 0))
        for e in extras:
            kinds[e.get("kind", "?")] += 1
    mean_train = float(np.mean(train_tokens)) if train_tokens else 0.0
    mean_extra = float(np.mean(extra_tokens)) if extra_tokens else 0.0
    return {"extra_runs": float(np.mean(extra_count)) if extra_count else 0.0, "extra_steps": float(np.mean(extra_steps)) if extra_steps else 0.0,
            "extra_tokens": mean_extra, "train_tokens": mean_train,
            "extra_share": mean_extra / mean_train if mean_train else None,
            "kinds": {k: v / max(len(runs), 1) for k, v in sorted(kinds.items())}}


def _tuning(runs: list[dict[str, Any]]) -> dict[str, Any]:
    tunings = [r.get("tuning") for r in runs if isinstance(r.get("tuning"), dict)]
    if not tunings or not any(t.get("tuned") for t in tunings):
        return {"tuned": False, "trials": 0, "study": None, "objective": None}
    tuned = [t for t in tunings if t.get("tuned")]
    return {"tuned": True, "trials": max(int(t.get("trials") or 0) for t in tuned),
            "study": ", ".join(sorted({str(t.get("study")) for t in tuned})),
            "objective": tuned[0].get("objective")}


AUTO = "auto"
AUTO_BASELINES = ("uniform", "explore-only")   # stratified sampling; FLAD's uniform mixture


def leaderboard_rows(records: list[dict[str, Any]], baseline: str = AUTO) -> list[dict[str, Any]]:
    """One row per (benchmark, method variant) over completed records; a seed's value is its
    record's, or (FLAD: one record per target) the mean over all the benchmark's targets."""
    completed = [r for r in records if r.get("status") == "completed"]
    labels = _benchmark_labels(completed)
    groups: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in completed:
        groups[benchmark_key(record)][variant_key(record)].append(record)
    rows = []
    for bench in sorted(groups, key=lambda k: labels[k]):
        variants = groups[bench]
        names = _display_names(list(variants))
        targets = sorted({t for runs in variants.values() for r in runs if (t := record_target(r)) is not None})
        candidates = AUTO_BASELINES if baseline == AUTO else (baseline,)
        base_name = next((c for c in candidates if any(k[0] == c for k in variants)), None)
        base_keys = [k for k in variants if k[0] == base_name]
        base_units = seed_units(variants[base_keys[0]], targets)[0] if base_keys else {}
        for key in sorted(variants, key=lambda k: names[k]):
            units, incomplete = seed_units(variants[key], targets)
            runs = [r for unit in units.values() for r in unit]
            first = (runs or variants[key])[0]
            is_baseline = bool(base_keys) and key == base_keys[0]
            row: dict[str, Any] = {
                "task": first["task"], "benchmark": labels[bench], "benchmark_key": bench,
                "method": names[key], "method_name": first["method"], "strategy": first.get("strategy"),
                "variant": json.loads(key[1]), "seeds": list(units), "incomplete_seeds": incomplete,
                "targets": targets, "run_ids": [r.get("run_id") for r in runs],
                "baseline": base_name if base_units else None, "is_baseline": is_baseline,
            }
            row["paired"] = {}
            for column, read, _ in METRICS:
                values = {seed: unit_value(unit, read) for seed, unit in units.items()}
                row[column] = (None if not values or any(v is None for v in values.values())
                               else summary(list(values.values())))
                row["paired"][column] = None
                if base_units and not is_baseline:
                    row["paired"][column] = paired_values(values, {s: unit_value(u, read) for s, u in base_units.items()})
            single = all(len(u) == 1 for u in units.values()) and all(len(u) == 1 for u in base_units.values())
            row["steps_to_target"] = (steps_to_target_summary([u[0] for u in units.values()],
                                                              [u[0] for u in base_units.values()])
                                      if base_units and single and units else None)
            row["final val avg ppl"] = _maybe_summary([final_validation_avg_ppl(u[0]) if len(u) == 1 else None
                                                       for u in units.values()])
            row["strategy share %"] = 100 * float(np.mean([(r.get("timing") or {}).get("strategy_share", 0.0)
                                                           for r in runs])) if runs else 0.0
            row["train s"] = float(np.mean([(r.get("timing") or {}).get("train_seconds", 0.0) for r in runs])) if runs else 0.0
            row["compute"] = _compute(runs)
            row["tuning"] = _tuning(runs)
            rows.append(row)
    return rows


def _maybe_summary(values: list[float | None]) -> dict[str, Any] | None:
    return None if not values or any(v is None for v in values) else summary([float(v) for v in values])


# ----------------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        spread = f" ± {value['ci95']:.3g}" if not math.isnan(value["ci95"]) else ""
        return f"{value['mean']:.4g}{spread}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_paired(diff: dict[str, Any] | None, is_baseline: bool = False) -> str:
    if is_baseline:
        return "(baseline)"
    if diff is None:
        return "—"
    spread = f" ± {diff['ci95']:.3g}" if not math.isnan(diff["ci95"]) else ""
    return f"{diff['mean']:+.4g}{spread} (n={diff['n']})"


def format_steps(target: dict[str, Any] | None) -> str:
    if target is None:
        return "—"
    if not target["reached"]:
        return f"not reached (0/{target['n']})"
    text = f"{target['mean']:.4g}"
    if target["fraction"] is not None:
        saved = 1 - target["fraction"]
        text += f" ({100 * saved:.0f}% fewer)" if saved > 0 else (" (same)" if saved == 0 else f" ({-100 * saved:.0f}% more)")
    if target["reached"] < target["n"]:
        text += f", reached {target['reached']}/{target['n']}"
    return text


def format_compute(compute: dict[str, Any]) -> str:
    if not compute["extra_runs"]:
        return "none"
    kinds = ", ".join(f"{k}×{v:g}" for k, v in compute["kinds"].items())
    share = f"+{100 * compute['extra_share']:.0f}% tokens" if compute["extra_share"] is not None else \
        f"+{compute['extra_tokens']:.3g} tokens"
    return f"{share} ({kinds})"


def format_tuning(tuning: dict[str, Any]) -> str:
    if not tuning["tuned"]:
        return "no (recipe values)"
    return f"yes: {tuning['trials']} trials ({tuning['study']})"


HEADERS = ["method", "seeds", "avg ppl", "Δ avg ppl vs baseline (paired)", "steps to baseline's final val ppl",
           "mean excess loss", "worst-domain ppl", "downstream acc", "Δ downstream acc vs baseline (paired)",
           "rank (ppl / excess)", "strategy share %",
           "extra compute", "tuned", "train s"]


def effective_sort(task_rows: list[dict[str, Any]], sort_by: str) -> str:
    """`sort_by`, or the first metric the benchmark has when it has none of that one (FLAD: no perplexity)."""
    if any(r[sort_by] for r in task_rows):
        return sort_by
    return next((c for c, _, _ in METRICS if any(r[c] for r in task_rows)), sort_by)


def _sorted_rows(task_rows: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    sort_by = effective_sort(task_rows, sort_by)
    sign = 1 if LOWER_IS_BETTER[sort_by] else -1
    return sorted(task_rows, key=lambda r: (sign * r[sort_by]["mean"] if r[sort_by] else math.inf, r["method"]))


def _ranks(task_rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    ranks = {}
    for column, _, low in METRICS[:2]:
        ordered = sorted((r for r in task_rows if r[column]), key=lambda r: r[column]["mean"] * (1 if low else -1))
        ranks[column] = {r["method"]: i + 1 for i, r in enumerate(ordered)}
    return ranks


def table_cells(row: dict[str, Any], ranks: dict[str, dict[str, int]]) -> list[str]:
    rank = f"{ranks['avg ppl'].get(row['method'], '—')} / {ranks['mean excess loss'].get(row['method'], '—')}"
    seeds = str(len(row["seeds"]))
    if row.get("targets"):
        seeds += f" × {len(row['targets'])} targets"
    if row.get("incomplete_seeds"):
        seeds += f" ({len(row['incomplete_seeds'])} incomplete left out)"
    return [row["method"], seeds, _cell(row["avg ppl"]),
            format_paired(row.get("paired", {}).get("avg ppl"), row.get("is_baseline", False)),
            format_steps(row.get("steps_to_target")) if not row.get("is_baseline") else "(baseline)",
            _cell(row["mean excess loss"]), _cell(row["worst-domain ppl"]), _cell(row["downstream acc"]),
            format_paired(row.get("paired", {}).get("downstream acc"), row.get("is_baseline", False)), rank,
            f"{row['strategy share %']:.3f}", format_compute(row["compute"]) if "compute" in row else "—",
            format_tuning(row["tuning"]) if "tuning" in row else "—", f"{row['train s']:.1f}"]


def benchmarks(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({r.get("benchmark", r["task"]) for r in rows})


def format_markdown(rows: list[dict[str, Any]], sort_by: str = "avg ppl") -> str:
    """One table per benchmark, sorted by `sort_by`, with the rank under each ranking metric."""
    sort_by = canonical_metric(sort_by)
    out = []
    for bench in benchmarks(rows):
        task_rows = _sorted_rows([r for r in rows if r.get("benchmark", r["task"]) == bench], sort_by)
        ranks = _ranks(task_rows)
        baseline = next((r["baseline"] for r in task_rows if r.get("baseline")), None)
        out.append(f"### {bench} (sorted by {effective_sort(task_rows, sort_by)}; mean ± 95% CI over seeds)\n")
        if baseline is None:
            out.append(f"(no baseline runs ({' / '.join(AUTO_BASELINES)}) in this benchmark: no paired differences "
                       "or steps-to-target)\n")
        headers = [h.replace("baseline", baseline or "baseline") for h in HEADERS]
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "---|" * len(headers))
        for r in task_rows:
            out.append("| " + " | ".join(table_cells(r, ranks)) + " |")
        out.append("")
    if rows:
        out.append("Metrics on the test split: avg ppl = unweighted mean of per-domain perplexities; "
                   "mean excess loss = mean over domains of loss − known floor (embedded benchmarks only). "
                   "Δ = paired difference over shared seeds (negative = lower than the baseline). Steps to target = "
                   "first evaluation step whose validation avg ppl ≤ the baseline's final one (same seed).\n")
    return "\n".join(out)


CSV_FIELDS = ["benchmark", "task", "method", "method_name", "strategy", "variant", "seeds", "n_seeds"]


def format_csv(rows: list[dict[str, Any]]) -> str:
    fields = list(CSV_FIELDS)
    for column, _, _ in METRICS:
        fields += [f"{column} mean", f"{column} ci95", f"{column} std",
                   f"Δ {column} vs baseline mean", f"Δ {column} vs baseline ci95", f"Δ {column} n pairs"]
    fields += ["final val avg ppl mean", "baseline", "steps to target mean", "steps to target per seed",
               "steps to target reached", "steps to target fraction of baseline steps", "strategy share %",
               "train s", "extra runs", "extra steps", "extra tokens", "train tokens", "extra compute kinds",
               "tuned", "tuning trials", "tuning study", "run ids"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        out: dict[str, Any] = {"benchmark": r.get("benchmark", r["task"]), "task": r["task"], "method": r["method"],
                               "method_name": r.get("method_name", r["method"]), "strategy": r.get("strategy"),
                               "variant": json.dumps(r.get("variant", {}), sort_keys=True),
                               "seeds": " ".join(map(str, r["seeds"])), "n_seeds": len(r["seeds"])}
        for column, _, _ in METRICS:
            value, diff = r[column], (r.get("paired") or {}).get(column)
            out[f"{column} mean"] = _num(value and value["mean"])
            out[f"{column} ci95"] = _num(value and value["ci95"])
            out[f"{column} std"] = _num(value and value["std"])
            out[f"Δ {column} vs baseline mean"] = _num(diff and diff["mean"])
            out[f"Δ {column} vs baseline ci95"] = _num(diff and diff["ci95"])
            out[f"Δ {column} n pairs"] = diff["n"] if diff else ""
        target = r.get("steps_to_target")
        out["final val avg ppl mean"] = _num(r.get("final val avg ppl") and r["final val avg ppl"]["mean"])
        out["baseline"] = r.get("baseline") or ""
        out["steps to target mean"] = _num(target and target["mean"])
        out["steps to target per seed"] = " ".join("none" if s is None else str(s) for s in target["values"]) if target else ""
        out["steps to target reached"] = f"{target['reached']}/{target['n']}" if target else ""
        out["steps to target fraction of baseline steps"] = _num(target and target["fraction"])
        out["strategy share %"] = _num(r["strategy share %"])
        out["train s"] = _num(r["train s"])
        compute = r.get("compute") or {}
        out["extra runs"] = _num(compute.get("extra_runs"))
        out["extra steps"] = _num(compute.get("extra_steps"))
        out["extra tokens"] = _num(compute.get("extra_tokens"))
        out["train tokens"] = _num(compute.get("train_tokens"))
        out["extra compute kinds"] = " ".join(f"{k}:{v:g}" for k, v in (compute.get("kinds") or {}).items())
        tuning = r.get("tuning") or {}
        out["tuned"] = "yes" if tuning.get("tuned") else "no"
        out["tuning trials"] = tuning.get("trials", "")
        out["tuning study"] = tuning.get("study") or ""
        out["run ids"] = " ".join(str(x) for x in r.get("run_ids", []))
        writer.writerow(out)
    return buffer.getvalue()


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def default_paths() -> list[Path]:
    results = Path("results")
    return [results] if results.is_dir() else [Path("benchmark_runs/records")]


def add_leaderboard_parser(subparsers: Any) -> None:
    board = subparsers.add_parser(
        "leaderboard", help="leaderboard of a results store (Markdown, CSV, HTML)",
        description="Aggregate result records per benchmark: mean ± 95%% CI over seeds, paired difference against "
                    "the baseline, steps-to-target, worst-domain perplexity, downstream accuracy, overhead, extra "
                    "compute and tuning. Prints Markdown; with --output-dir also writes leaderboard.md, "
                    "leaderboard.csv and a self-contained leaderboard.html with plots.")
    board.add_argument("paths", nargs="*", type=Path, default=None,
                       help="record files or directories (default: ./results if present, else benchmark_runs/records)")
    board.add_argument("--sort-by", default="avg ppl",
                       choices=[c for c, _, _ in METRICS] + sorted(METRIC_ALIASES))
    board.add_argument("--baseline", default=AUTO,
                       help="method for paired differences and steps-to-target (default: auto = uniform, or "
                            "explore-only on FLAD benchmarks)")
    board.add_argument("--output-dir", type=Path, default=None, help="write leaderboard.{md,csv,html} here")
    board.add_argument("--format", default="md,csv,html",
                       help="comma-separated subset of md,csv,html written to --output-dir (default: all)")
    board.add_argument("--no-plots", action="store_true", help="HTML without the figures (faster)")


def cmd_leaderboard_full(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .records import load_records

    paths = args.paths or default_paths()
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"paths: not found: {', '.join(missing)}")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("md", "csv", "html")]
    if bad:
        raise ConfigError(f"--format: unknown format {bad[0]!r}; allowed: md, csv, html")
    try:
        records = load_records(paths)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    rows = leaderboard_rows(records, args.baseline)
    if not rows:
        print("no completed result records found")
        return 1
    markdown = format_markdown(rows, args.sort_by)
    print(markdown)
    if args.output_dir:
        written = write_outputs(rows, records, args.output_dir, formats, args.sort_by, plots=not args.no_plots)
        for path in written:
            print(f"wrote {path}")
    return 0


def write_outputs(rows: list[dict[str, Any]], records: list[dict[str, Any]], output_dir: Path,
                  formats: list[str] = ("md", "csv", "html"), sort_by: str = "avg ppl", plots: bool = True) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        written.append(write_text_atomic(output_dir / "leaderboard.md",
                                                "# Leaderboard\n\n" + format_markdown(rows, sort_by)))
    if "csv" in formats:
        written.append(write_text_atomic(output_dir / "leaderboard.csv", format_csv(rows)))
    if "html" in formats:
        from .report_html import render_html
        written.append(write_text_atomic(output_dir / "leaderboard.html",
                                                render_html(rows, records, sort_by, plots=plots)))
    return written


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file atomically (temporary file in the same folder + rename)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)            # mkstemp creates 0600; reports are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# The names the CLI dispatches on (same signature as the other command modules).
add_parser = add_leaderboard_parser
run_command = cmd_leaderboard_full
