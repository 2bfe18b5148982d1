"""Decision consistency: do two benchmarks (or two budgets of one) rank the same methods the same way?

For every pair of leaderboard sections sharing at least three methods: Kendall's τ between the
methods' mean test metric on each (τ-b, scipy), its two-sided p-value, and the method pairs whose
order flips. DataDecide (arXiv 2504.11393) measures the same thing between small and large runs.
The oracle static mixture is a reference, not a method, and is left out.
"""

from __future__ import annotations

import itertools
from typing import Any

from .metrics import LOWER_IS_BETTER, canonical_metric

MIN_SHARED = 3


def method_scores(rows: list[dict[str, Any]], benchmark: str, metric: str) -> dict[str, float]:
    """Mean test metric per method of one leaderboard section (oracle rows left out)."""
    return {r["method"]: r[metric]["mean"] for r in rows
            if r["benchmark"] == benchmark and r.get(metric) and not r.get("is_oracle")}


def compare_rankings(a: dict[str, float], b: dict[str, float], lower_is_better: bool = True) -> dict[str, Any] | None:
    """Kendall τ over the shared methods and the pairs ordered differently (best first in each pair)."""
    from scipy import stats

    shared = sorted(set(a) & set(b))
    if len(shared) < MIN_SHARED:
        return None
    tau, p = stats.kendalltau([a[m] for m in shared], [b[m] for m in shared])
    sign = 1 if lower_is_better else -1
    flips = [(m, n) if sign * a[m] < sign * a[n] else (n, m) for m, n in itertools.combinations(shared, 2)
             if (a[m] - a[n]) * (b[m] - b[n]) < 0]
    return {"methods": shared, "tau": float(tau), "p": float(p), "flips": flips}


def decision_consistency(rows: list[dict[str, Any]], metric: str = "avg ppl") -> list[dict[str, Any]]:
    """One comparison per pair of sections that share at least MIN_SHARED methods."""
    metric = canonical_metric(metric)
    benches = sorted({r["benchmark"] for r in rows})
    out = []
    for first, second in itertools.combinations(benches, 2):
        result = compare_rankings(method_scores(rows, first, metric), method_scores(rows, second, metric),
                                  LOWER_IS_BETTER[metric])
        if result:
            out.append({"a": first, "b": second, "metric": metric, **result})
    return out


def format_consistency(results: list[dict[str, Any]]) -> str:
    """A Markdown table: τ, p, shared methods and the flipped pairs (first of each pair is better on a)."""
    if not results:
        return ""
    lines = ["| benchmark a | benchmark b | metric | methods | Kendall τ | p | pairs that flip (better on a first) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        flips = ", ".join(f"{m} > {n}" for m, n in r["flips"]) or "none"
        lines.append(f"| {r['a']} | {r['b']} | {r['metric']} | {len(r['methods'])} | {r['tau']:+.3f} | "
                     f"{r['p']:.3g} | {flips} |")
    return "\n".join(lines) + ("\n\nKendall τ between the methods' mean test metric on two benchmarks (or two "
                               "budgets of one): +1 = the same order, 0 = unrelated, −1 = reversed; only "
                               "methods run on both count. `a > b` = a ranked better than b on the first benchmark "
                               "and worse on the second.\n")
