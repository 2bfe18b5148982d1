"""Leaderboard rows: one per (benchmark, method variant), every number computed from the records."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np

from ..records import is_comparable
from .grouping import benchmark_key, benchmark_labels, display_names, record_target, seed_units, unit_value, variant_key
from .metrics import AUTO, AUTO_BASELINES, METRICS
from .equal_compute import add_equal_compute, flops_to_target, total_flops
from .oracle import add_regret
from .statistics import final_validation_avg_ppl, paired_values, steps_to_target_summary, summary


def _compute(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean extra compute of a method's runs: auxiliary runs, extra passes inside its own run (forward
    and backward tokens beyond training: reference scoring, gradient probes, held-out evaluations) and
    probe steps (training steps spent measuring mixtures; already inside the step budget)."""
    kinds: dict[str, int] = defaultdict(int)
    columns: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        compute = run.get("compute") or {}
        extras = compute.get("extra_runs") or []
        columns["extra_tokens"].append(float(sum(e.get("tokens") or 0 for e in extras)))
        columns["extra_steps"].append(float(sum(e.get("steps") or 0 for e in extras)))
        columns["extra_runs"].append(len(extras))
        columns["train_tokens"].append(float(compute.get("train_tokens") or 0))
        for key in ("extra_forward_tokens", "extra_backward_tokens", "probe_steps"):
            columns[key].append(float(compute.get(key) or 0))
        for e in extras:
            kinds[e.get("kind", "?")] += 1
    means = {key: float(np.mean(values)) for key, values in columns.items()}
    train = means.get("train_tokens", 0.0)
    return {**{key: means.get(key, 0.0) for key in ("extra_runs", "extra_steps", "extra_tokens", "train_tokens",
                                                     "extra_forward_tokens", "extra_backward_tokens", "probe_steps")},
            "extra_share": means.get("extra_tokens", 0.0) / train if train else None,
            "kinds": {k: v / max(len(runs), 1) for k, v in sorted(kinds.items())}}


def _tuning(runs: list[dict[str, Any]]) -> dict[str, Any]:
    tunings = [r.get("tuning") for r in runs if isinstance(r.get("tuning"), dict)]
    if not tunings or not any(t.get("tuned") for t in tunings):
        return {"tuned": False, "trials": 0, "study": None, "objective": None}
    tuned = [t for t in tunings if t.get("tuned")]
    return {"tuned": True, "trials": max(int(t.get("trials") or 0) for t in tuned),
            "study": ", ".join(sorted({str(t.get("study")) for t in tuned})),
            "objective": tuned[0].get("objective")}

def leaderboard_rows(records: list[dict[str, Any]], baseline: str = AUTO) -> list[dict[str, Any]]:
    """One row per (benchmark, method variant) over completed records; a seed's value is its
    record's, or (FLAD: one record per target) the mean over all the benchmark's targets."""
    completed = [r for r in records if is_comparable(r)]
    labels = benchmark_labels(completed)
    groups: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in completed:
        groups[benchmark_key(record)][variant_key(record)].append(record)
    rows = []
    for bench in sorted(groups, key=lambda k: labels[k]):
        variants = groups[bench]
        names = display_names(list(variants))
        targets = sorted({t for runs in variants.values() for r in runs if (t := record_target(r)) is not None})
        candidates = AUTO_BASELINES if baseline == AUTO else (baseline,)
        base_name = next((c for c in candidates if any(k[0] == c for k in variants)), None)
        base_keys = [k for k in variants if k[0] == base_name]
        base_units = seed_units(variants[base_keys[0]], targets)[0] if base_keys else {}
        bench_rows, bench_units = [], []
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
            row["flops_to_target"] = (flops_to_target([u[0] for u in units.values()], [u[0] for u in base_units.values()])
                                      if row["steps_to_target"] is not None else None)
            # mean over seeds of each seed's total (FLAD: the mean over its targets); estimated for old records
            row["total FLOPs"] = _maybe_summary([unit_value(u, total_flops) for u in units.values()])
            row["final val avg ppl"] = _maybe_summary([final_validation_avg_ppl(u[0]) if len(u) == 1 else None
                                                       for u in units.values()])
            row["strategy share %"] = 100 * float(np.mean([(r.get("timing") or {}).get("strategy_share", 0.0)
                                                           for r in runs])) if runs else 0.0
            row["train s"] = float(np.mean([(r.get("timing") or {}).get("train_seconds", 0.0) for r in runs])) if runs else 0.0
            row["compute"] = _compute(runs)
            row["tuning"] = _tuning(runs)
            bench_rows.append(row)
            bench_units.append(units)
        add_equal_compute(bench_rows, bench_units)
        add_regret(bench_rows, bench_units)
        rows += bench_rows
    return rows


def _maybe_summary(values: list[float | None]) -> dict[str, Any] | None:
    return None if not values or any(v is None for v in values) else summary([float(v) for v in values])
