"""Comparisons at matched compute (`leaderboard --equal-compute`).

FLOPs to target: per seed, the first evaluation whose validation avg ppl ≤ the baseline's final one
(the steps-to-target rule), converted to the cumulative FLOPs spent by then: every extra run in full
(it is paid before training starts) + step/steps × (training + extra passes). The baseline's own
final cumulative FLOPs is the reference the fraction is taken against.
Metric at budget: the benchmark's budget is the smallest mean total FLOPs of its methods; each
method's validation curve (avg ppl, or accuracy on FLAD) is read at that budget by linear
interpolation in cumulative FLOPs. A method whose extra runs alone exceed the budget has no value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..compute import cumulative_flops, record_flops
from .grouping import unit_value
from .statistics import curve_avg_ppl, steps_to_target_summary, summary


def total_flops(record: dict[str, Any]) -> float | None:
    return record_flops(record)["total"]


def flops_to_target(runs: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """steps_to_target_summary measured in cumulative FLOPs instead of steps."""
    return steps_to_target_summary(runs, baseline, measure=cumulative_flops)


def eval_curve(record: dict[str, Any]) -> tuple[str, list[float], list[float]]:
    """(metric name, cumulative FLOPs, values) of the validation curve; empty when FLOPs are unknown."""
    curves = record.get("curves") or {}
    steps = list(curves.get("eval_steps") or [])
    if curves.get("val_loss"):
        name, values = "val avg ppl", [curve_avg_ppl(v) for v in curves["val_loss"]]
    else:
        name, values = "val acc", [float(v) for v in curves.get("val_acc") or []]
    flops = [cumulative_flops(record, s) for s in steps]
    if not steps or any(f is None for f in flops):
        return name, [], []
    return name, [float(f) for f in flops], values[:len(steps)]


def value_at_budget(record: dict[str, Any], budget: float) -> float | None:
    """The curve interpolated at `budget` FLOPs; its last value past its end; None before its start."""
    _, flops, values = eval_curve(record)
    if not flops or budget < flops[0]:
        return None
    return float(np.interp(budget, flops, values))


def add_equal_compute(rows: list[dict[str, Any]], units: list[dict[int, list[dict[str, Any]]]]) -> None:
    """Set row["at budget"] for one benchmark's rows (units[i]: row i's records by seed)."""
    totals = [(r["total FLOPs"]["mean"], r["method"]) for r in rows if r.get("total FLOPs")]
    if not totals:
        return
    budget, cheapest = min(totals)
    for row, by_seed in zip(rows, units):
        values = [unit_value(unit, lambda r: value_at_budget(r, budget)) for unit in by_seed.values()]
        metric = next((eval_curve(u[0])[0] for u in by_seed.values() if u), "val avg ppl")
        row["at budget"] = {"budget": budget, "cheapest": cheapest, "metric": metric,
                            "value": summary(values) if values and None not in values else None}


def format_flops(value: float | None) -> str:
    """1.2e15 style."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.2g}" if value < 1e3 else f"{value:.1e}".replace("e+0", "e").replace("e+", "e")


def format_equal_compute(rows: list[dict[str, Any]]) -> str:
    """One Markdown table per benchmark: total FLOPs, FLOPs to target, the metric at the budget."""
    out = []
    for bench in sorted({r["benchmark"] for r in rows}):
        bench_rows = sorted((r for r in rows if r["benchmark"] == bench), key=lambda r: r["method"])
        at = next((r["at budget"] for r in bench_rows if r.get("at budget")), None)
        if at is None:
            continue
        out.append(f"### {bench} at equal compute (budget {format_flops(at['budget'])} FLOPs = "
                   f"{at['cheapest']}'s total)\n")
        out.append(f"| method | total FLOPs | FLOPs to baseline's final val ppl | {at['metric']} at budget |")
        out.append("|---|---|---|---|")
        for row in bench_rows:
            value = (row.get("at budget") or {}).get("value")
            out.append(f"| {row['method']} | {format_flops((row.get('total FLOPs') or {}).get('mean'))} | "
                       f"{_flops_target(row)} | {'—' if value is None else format(value['mean'], '.4g')} |")
        out.append("")
    return "\n".join(out)


def _flops_target(row: dict[str, Any]) -> str:
    if row.get("is_baseline"):
        return "(baseline)"
    target = row.get("flops_to_target")
    if target is None:
        return "—"
    if not target["reached"]:
        return f"not reached (0/{target['n']})"
    text = format_flops(target["mean"])
    if target["fraction"] is not None:
        text += f" ({100 * (target['fraction'] - 1):+.0f}%)"
    return text + (f", reached {target['reached']}/{target['n']}" if target["reached"] < target["n"] else "")
