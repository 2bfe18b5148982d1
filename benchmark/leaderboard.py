"""Leaderboard tables from result records: mean ± 95% CI over seeds, several metrics side by side."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

# (column, how to read it from a record, lower is better?)
METRICS: list[tuple[str, Any, bool]] = [
    ("avg ppl", lambda r: r["final"]["test"]["avg_ppl"], True),
    ("mean excess loss", lambda r: r["final"]["test"].get("mean_excess_loss"), True),
    ("worst-domain ppl", lambda r: r["final"]["test"]["worst_ppl"], True),
    ("mini-MMLU acc", lambda r: _downstream_acc(r), False),
]


def _downstream_acc(record: dict[str, Any]) -> float | None:
    values = [v["acc"] for v in record.get("downstream", {}).values() if isinstance(v, dict) and v.get("acc") is not None]
    return float(np.mean(values)) if values else None


def mean_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean, sample standard deviation, and the half-width of the t-based confidence interval."""
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) < 2:
        return float(arr.mean()), 0.0, math.nan
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(arr) - 1) * std / math.sqrt(len(arr)))
    return float(arr.mean()), std, half


def group_records(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("status") == "completed":
            groups[(record["task"], record["method"])].append(record)
    return groups


def leaderboard_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for (task, method), runs in sorted(group_records(records).items()):
        row: dict[str, Any] = {"task": task, "method": method, "strategy": runs[0]["strategy"],
                               "seeds": sorted(r["seed"] for r in runs)}
        for column, read, _ in METRICS:
            values = [read(r) for r in runs]
            if any(v is None for v in values):
                row[column] = None
            else:
                mean, std, half = mean_ci(values)
                row[column] = {"mean": mean, "std": std, "ci95": half, "values": values}
        row["strategy share %"] = 100 * float(np.mean([r["timing"]["strategy_share"] for r in runs]))
        row["train s"] = float(np.mean([r["timing"]["train_seconds"] for r in runs]))
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        spread = f" ± {value['ci95']:.3g}" if not math.isnan(value["ci95"]) else ""
        return f"{value['mean']:.4g}{spread}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_markdown(rows: list[dict[str, Any]], sort_by: str = "avg ppl") -> str:
    """One table per task, sorted by `sort_by`, with the rank under each ranking metric."""
    out = []
    for task in sorted({r["task"] for r in rows}):
        task_rows = [r for r in rows if r["task"] == task]
        lower = {c: low for c, _, low in METRICS}
        key = lambda r: (r[sort_by] or {"mean": math.inf})["mean"] * (1 if lower[sort_by] else -1)  # noqa: E731
        task_rows.sort(key=key)
        ranks = {}
        for column, _, low in METRICS[:2]:
            ordered = sorted((r for r in task_rows if r[column]), key=lambda r: r[column]["mean"] * (1 if low else -1))
            ranks[column] = {r["method"]: i + 1 for i, r in enumerate(ordered)}
        headers = ["method", "seeds"] + [c for c, _, _ in METRICS] + ["rank (ppl / excess)", "strategy share %", "train s"]
        out.append(f"### {task} (sorted by {sort_by}; mean ± 95% CI over seeds)\n")
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "---|" * len(headers))
        for r in task_rows:
            rank = f"{ranks['avg ppl'].get(r['method'], '—')} / {ranks['mean excess loss'].get(r['method'], '—')}"
            cells = [r["method"], str(len(r["seeds"]))] + [_cell(r[c]) for c, _, _ in METRICS] + [
                rank, f"{r['strategy share %']:.3f}", f"{r['train s']:.1f}"]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)
