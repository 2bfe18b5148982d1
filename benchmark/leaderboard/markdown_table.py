"""The leaderboard as Markdown: one table per benchmark, cells as mean ± 95% CI."""

from __future__ import annotations

import math
from typing import Any

from .metrics import AUTO_BASELINES, LOWER_IS_BETTER, METRICS, canonical_metric


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
