"""The replay scores as a text table, Markdown and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .runner import ReplayResult
from .scoring import Score

HEADERS = ["method", "scale", "n", "Spearman ρ [95% CI]", "top-1 regret", "top-5 hit"]


def cells(result: ReplayResult) -> list[str]:
    s: Score = result.score
    rho = f"{s.spearman:+.3f} [{s.ci_low:+.3f}, {s.ci_high:+.3f}]"
    name = f"{result.method} (expected)" if s.analytic else result.method
    return [name, result.scale, str(s.n), rho, f"{s.top1_regret:.4f}", f"{s.topk_hit:.2f}"]


def text_table(results: list[ReplayResult]) -> str:
    """A fixed-width table, one row per (method, scale)."""
    rows = [HEADERS] + [cells(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


NOTES = [
    "Fitted on the training runs, scored on each test split's measured target loss.",
    "Spearman ρ between predicted and measured loss, percentile bootstrap 95% CI over test mixtures.",
    "top-1 regret: measured loss of the predicted-best mixture − best measured loss (nats/token).",
    "top-5 hit: fraction of the 5 lowest-measured-loss mixtures among the 5 lowest predicted.",
    "Ties in a prediction are broken at random and the expectation is shown; 'random (expected)' is the "
    "exact expectation of a random ranking (its interval: ±1.96/√(n−1), the spread of ρ over random rankings).",
]


def markdown(results: list[ReplayResult], title: str) -> str:
    out = [f"### {title}", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(cells(r)) + " |" for r in results]
    return "\n".join(out + [""] + [f"- {n}" for n in NOTES]) + "\n"


def csv_text(results: list[ReplayResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "scale", "n", "spearman", "ci_low", "ci_high", "top1_regret", "top5_hit", "analytic"])
    for r in results:
        s = r.score
        writer.writerow([r.method, r.scale, s.n, f"{s.spearman:.6f}", f"{s.ci_low:.6f}", f"{s.ci_high:.6f}",
                         f"{s.top1_regret:.6f}", f"{s.topk_hit:.6f}", int(s.analytic)])
    return buffer.getvalue()


def write_scores(results: list[ReplayResult], output_dir: Path, title: str) -> list[Path]:
    """replay_scores.md and replay_scores.csv in `output_dir`."""
    from ..records import write_text_atomic

    output_dir.mkdir(parents=True, exist_ok=True)
    return [write_text_atomic(output_dir / "replay_scores.md", markdown(results, title)),
            write_text_atomic(output_dir / "replay_scores.csv", csv_text(results))]
