"""The leaderboard for a terminal: the main columns only, compact cells, aligned, at most ~120
characters wide. The full table (paired n, compute, tuning, timing) goes to leaderboard.md."""

from __future__ import annotations

import math
import textwrap
from typing import Any, Callable

from .equal_compute import format_flops
from .markdown_table import EMPTY_CELLS, FOOTNOTE, NO_BASELINE_NOTE, benchmark_sections, visible_columns

WIDTH = 120
METHOD_WIDTH = 26
BASELINE_CELL = "base"          # the baseline's own paired / steps cells


def _compact(value: dict[str, Any] | None, signed: bool = False) -> str:
    """mean±ci95 with fewer digits than the Markdown file."""
    if value is None:
        return "—"
    mean = f"{value['mean']:+.3g}" if signed else f"{value['mean']:.4g}"
    return mean + (f"±{value['ci95']:.2g}" if not math.isnan(value["ci95"]) else "")


def _paired(row: dict[str, Any], column: str) -> str:
    return BASELINE_CELL if row.get("is_baseline") else _compact((row.get("paired") or {}).get(column), signed=True)


def _steps(row: dict[str, Any]) -> str:
    target = row.get("steps_to_target")
    if row.get("is_baseline") or target is None:
        return BASELINE_CELL if row.get("is_baseline") else "—"
    if not target["reached"]:
        return f"none (0/{target['n']})"
    saved = f" ({100 * (target['fraction'] - 1):+.0f}%)" if target["fraction"] is not None else ""
    return f"{target['mean']:.4g}{saved}"


def _method(row: dict[str, Any]) -> str:
    name = row["method"]
    return name if len(name) <= METHOD_WIDTH else name[:METHOD_WIDTH - 1] + "…"


def _seeds(row: dict[str, Any]) -> str:
    return str(len(row["seeds"])) + (f"×{len(row['targets'])}t" if row.get("targets") else "")


# (header, cell) in priority order: the last ones are dropped first when the table is too wide.
COLUMNS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("method", _method),
    ("n", _seeds),
    ("avg ppl", lambda r: _compact(r["avg ppl"])),
    ("Δ ppl", lambda r: _paired(r, "avg ppl")),
    ("steps to base", _steps),
    ("excess loss", lambda r: _compact(r["mean excess loss"])),
    ("worst ppl", lambda r: _compact(r["worst-domain ppl"])),
    ("acc", lambda r: _compact(r["downstream acc"])),
    ("Δ acc", lambda r: _paired(r, "downstream acc")),
    ("FLOPs", lambda r: format_flops((r.get("total FLOPs") or {}).get("mean"))),
]


def _aligned(headers: list[str], cells: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(c) for c in cells)]


def _fit(headers: list[str], cells: list[list[str]], width: int) -> list[str]:
    """The aligned table, dropping trailing columns until it is at most `width` wide."""
    while True:
        lines = _aligned(headers, cells)
        if len(lines[0]) <= width or len(headers) <= 2:
            return lines
        headers, cells = headers[:-1], [c[:-1] for c in cells]


def format_terminal(rows: list[dict[str, Any]], sort_by: str = "avg ppl", width: int = WIDTH) -> str:
    """One compact table per benchmark (same order as the Markdown), at most `width` characters wide."""
    out = []
    for section in benchmark_sections(rows, sort_by):
        full = [[cell(r) for _, cell in COLUMNS] for r in section.rows]
        keep = visible_columns(full, EMPTY_CELLS | {BASELINE_CELL})
        headers = [COLUMNS[i][0] for i in keep]
        out.append(f"### {section.bench} (sorted by {section.sort_by}; mean±95% CI over seeds; "
                   f"baseline: {section.baseline or 'none'})")
        if section.baseline is None:
            out.append(NO_BASELINE_NOTE.strip())
        out += _fit(headers, [[cells[i] for i in keep] for cells in full], width)
        out.append("")
    if rows:
        note = FOOTNOTE.strip() + (" The full table (paired n, compute, tuning, timing) is leaderboard.md "
                                   "(leaderboard --output-dir).")
        out.append(textwrap.fill(note, width))
    return "\n".join(out)
