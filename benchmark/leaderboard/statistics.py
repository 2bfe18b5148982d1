"""Statistics over seeds: means with t confidence intervals, paired differences against the
baseline, validation curves and steps-to-target."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np


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


def _in_steps(record: dict[str, Any], step: int) -> int:
    return step


def steps_to_target_summary(runs: list[dict[str, Any]], baseline: list[dict[str, Any]],
                            measure: Callable[[dict[str, Any], int], float | None] = _in_steps,
                            ) -> dict[str, Any] | None:
    """Per seed, the first evaluation reaching the baseline's final validation avg ppl, expressed by
    `measure(record, step)`: the step itself (default) or e.g. the cumulative FLOPs spent by then."""
    base = {r["seed"]: r for r in baseline}
    seeds, steps, finals = [], [], []
    for run in sorted(runs, key=lambda r: r["seed"]):
        other = base.get(run["seed"])
        target = final_validation_avg_ppl(other) if other else None
        if target is None or not validation_curve(run)[1]:
            continue
        seeds.append(run["seed"])
        reached = steps_to_target(run, target)
        steps.append(None if reached is None else measure(run, reached))
        finals.append(measure(other, validation_curve(other)[0][-1]) if validation_curve(other)[0] else None)
    if not seeds:
        return None
    reached = [s for s in steps if s is not None]
    final_step = float(np.mean([f for f in finals if f is not None])) if any(f is not None for f in finals) else None
    mean = float(np.mean(reached)) if reached else None
    return {"values": steps, "seeds": seeds, "reached": len(reached), "n": len(seeds), "mean": mean,
            "baseline_final_step": final_step,
            "fraction": mean / final_step if mean is not None and final_step else None}
