"""HTML tables of the leaderboard page: sortable (numeric-aware, "—" last) and filterable through
the page's inline script (`html_assets.SCRIPT`), rows linked to their records and MLflow runs.

Pure string building (no matplotlib): the figures are in `benchmark.report_html`.
"""

from __future__ import annotations

import html
import math
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .markdown_table import HEADERS, Section
from .metrics import LOWER_IS_BETTER, METRICS
from .statistics import summary

SortValue = float | str | None


@dataclass
class Cell:
    """One table cell: its HTML, the value the script sorts on (None: sort on the text; "": missing,
    always last), and its CSS class."""
    html: str
    sort: SortValue = None
    cls: str = ""


@dataclass
class Row:
    cells: list[Cell]
    filter_text: str                # what the filter box matches (method, task, benchmark)
    cls: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


def text_cell(text: str, sort: SortValue = None, cls: str = "") -> Cell:
    return Cell(html.escape(text), sort, cls)


def _sort_attr(value: SortValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        value = ""
    return f' data-v="{html.escape(repr(float(value)) if isinstance(value, (int, float)) else value)}"'


def table_html(headers: list[str], rows: list[Row], sorted_column: tuple[int, bool] | None = None,
               caption: str = "", kind: str = "") -> str:
    """A sortable table; `sorted_column` = (index, ascending) marks the order the rows come in."""
    ths = []
    for i, header in enumerate(headers):
        state = ""
        if sorted_column and sorted_column[0] == i:
            state = f' aria-sort="{"ascending" if sorted_column[1] else "descending"}"'
        ths.append(f'<th title="click to sort"{state}>{html.escape(header)}</th>')
    out = [f'<div class="scroll"><table class="sortable{" " + kind if kind else ""}">',
           f"<caption>{html.escape(caption)}</caption>" if caption else "",
           "<thead><tr>" + "".join(ths) + "</tr></thead><tbody>"]
    for row in rows:
        attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in row.attrs.items())
        cls = f' class="{row.cls}"' if row.cls else ""
        cells = "".join(f"<td{_sort_attr(c.sort)}{f' class={chr(34)}{c.cls}{chr(34)}' if c.cls else ''}>{c.html}</td>"
                        for c in row.cells)
        out.append(f'<tr data-filter="{html.escape(row.filter_text.lower())}"{cls}{attrs}>{cells}</tr>')
    out.append("</tbody></table></div>")
    return "\n".join(part for part in out if part)


def filter_text(row: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (row["method"], row.get("method_name", ""), row.get("strategy") or "",
                                     row.get("benchmark", ""), row["task"]))


# ---- links to records and MLflow runs ----------------------------------------------------------

def record_href(record: dict[str, Any], base_dir: Path | None) -> str | None:
    """The record file's path relative to the page's folder (None when the record was not read from a file)."""
    if not record.get("_path"):
        return None
    path = Path(record["_path"]).resolve()
    relative = os.path.relpath(path, (base_dir or Path.cwd()).resolve())
    return urllib.parse.quote(Path(relative).as_posix())


def mlflow_href(record: dict[str, Any], mlflow_url: str | None) -> str | None:
    """MLflow's direct run page (the UI's `#/runs/<id>` route redirects to the run in its experiment)."""
    run_id = record.get("mlflow_run_id")
    if not mlflow_url or not run_id:
        return None
    return f"{mlflow_url.rstrip('/')}/#/runs/{urllib.parse.quote(str(run_id))}"


def _run_label(record: dict[str, Any]) -> str:
    target = record.get("target") or ((record.get("flad") or {}).get("target"))
    return f"{record.get('seed')}" + (f":{target}" if target else "")


def links_cell(runs: list[dict[str, Any]], base_dir: Path | None, mlflow_url: str | None) -> Cell:
    """Per record: a link to its JSON (labelled seed[:target]) and, when tracked, to its MLflow run."""
    links = []
    for record in sorted(runs, key=lambda r: (str(r.get("target") or ""), r.get("seed", 0))):
        label = html.escape(_run_label(record))
        href = record_href(record, base_dir)
        title = html.escape(str(record.get("run_id", "")))
        links.append(f'<a href="{html.escape(href)}" title="{title}">{label}</a>' if href else label)
        if (run := mlflow_href(record, mlflow_url)):
            links.append(f'<a class="mlflow" href="{html.escape(run)}" title="MLflow run of {title}">mlflow</a>')
    return Cell(" ".join(links) or "—", len(runs), "links")


# ---- the leaderboard table ------------------------------------------------------------------------

def _mean(value: dict[str, Any] | None) -> SortValue:
    return value["mean"] if value else ""


def _paired_mean(column: str) -> Callable[[dict[str, Any], dict[str, dict[str, int]]], SortValue]:
    return lambda row, ranks: "" if row.get("is_baseline") else _mean((row.get("paired") or {}).get(column))


def _steps_mean(row: dict[str, Any], ranks: dict[str, dict[str, int]]) -> SortValue:
    target = row.get("steps_to_target")
    return target["mean"] if target and target["mean"] is not None and not row.get("is_baseline") else ""


def _extra_share(row: dict[str, Any], ranks: dict[str, dict[str, int]]) -> SortValue:
    compute = row.get("compute") or {}
    return compute.get("extra_share") or float(compute.get("extra_tokens") or 0.0)


# The value each HEADERS column sorts on (cells without one sort on their text).
SORT_VALUES: dict[str, Callable[[dict[str, Any], dict[str, dict[str, int]]], SortValue]] = {
    "seeds": lambda row, ranks: float(len(row["seeds"])),
    **{column: (lambda row, ranks, c=column: _mean(row[c])) for column, _, _ in METRICS},
    "Δ avg ppl vs baseline (paired)": _paired_mean("avg ppl"),
    "Δ downstream acc vs baseline (paired)": _paired_mean("downstream acc"),
    "steps to baseline's final val ppl": _steps_mean,
    "regret to oracle static: avg ppl / excess loss (paired)":
        lambda row, ranks: _mean((row.get("regret") or {}).get("avg ppl")),
    "rank (ppl / excess)": lambda row, ranks: ranks["avg ppl"].get(row["method"], ""),
    "strategy share %": lambda row, ranks: row["strategy share %"],
    "extra compute": _extra_share,
    "total FLOPs": lambda row, ranks: _mean(row.get("total FLOPs")),
    "tuned": lambda row, ranks: float((row.get("tuning") or {}).get("trials") or 0),
    "train s": lambda row, ranks: row["train s"],
}


def _best(task_rows: list[dict[str, Any]]) -> dict[str, str]:
    """The method with the best mean per metric column."""
    best = {}
    for column, _, low in METRICS:
        values = [(r[column]["mean"], r["method"]) for r in task_rows if r[column]]
        if values:
            best[column] = (min if low else max)(values)[1]
    return best


def leaderboard_table(section: Section, runs_of: dict[str, list[dict[str, Any]]], base_dir: Path | None,
                      mlflow_url: str | None) -> str:
    """The benchmark's leaderboard: the Markdown's visible columns, best means in bold, a records column."""
    best = _best(section.rows)
    rows = []
    for row, texts in zip(section.rows, section.cells):
        cells = []
        for index, text in zip(section.columns, texts):
            header = HEADERS[index]
            sort = SORT_VALUES[header](row, section.ranks) if header in SORT_VALUES else None
            cells.append(text_cell(text, sort, "best" if best.get(header) == row["method"] else ""))
        cells.append(links_cell(runs_of.get(row["method"], []), base_dir, mlflow_url))
        rows.append(Row(cells, filter_text(row), "baseline" if row.get("is_baseline") else ""))
    sort_index = HEADERS.index(section.sort_by) if section.sort_by in HEADERS else -1
    column = section.columns.index(sort_index) if sort_index in section.columns else None
    order = (column, LOWER_IS_BETTER.get(section.sort_by, True)) if column is not None else None
    return table_html(section.headers + ["records (seed[:target]), MLflow"], rows, order, kind="board")


# ---- per-domain final metrics ---------------------------------------------------------------------

def _domains(runs: list[dict[str, Any]]) -> list[str]:
    """Domains with a per-domain test perplexity (final.test["ppl/<domain>"]), in the mixture's order."""
    for run in runs:
        test = (run.get("final") or {}).get("test") or {}
        domains = (run.get("mixture") or {}).get("domains") or [k[4:] for k in test if k.startswith("ppl/")]
        present = [d for d in domains if test.get(f"ppl/{d}") is not None]
        if present:
            return present
    return []


def _domain_stat(runs: list[dict[str, Any]], domain: str) -> dict[str, Any] | None:
    values = [((r.get("final") or {}).get("test") or {}).get(f"ppl/{domain}") for r in runs]
    return summary([float(v) for v in values]) if values and all(v is not None for v in values) else None


def _stat_cell(stat: dict[str, Any] | None, best: bool, digits: str = ".4g", inline: bool = False) -> Cell:
    """mean, its spread (95% CI, else std) on hover or, `inline`, after it."""
    if stat is None:
        return text_cell("—", "")
    spread = stat.get("ci95", stat.get("std"))
    has_spread = spread is not None and not math.isnan(spread)
    text = format(stat["mean"], digits) + (f" ± {format(spread, digits)}" if inline and has_spread else "")
    title = f' title="± {spread:.3g}"' if has_spread and not inline else ""
    return Cell(f"<span{title}>{html.escape(text)}</span>", stat["mean"], "best" if best else "")


def domain_table(task_rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]]) -> str:
    """Per-domain test perplexity per method (mean over seeds; hover: ± 95% CI); lowest per domain in bold."""
    domains = _domains([r for runs in runs_of.values() for r in runs])
    if not domains:
        return ""
    stats = {row["method"]: {d: _domain_stat(runs_of.get(row["method"], []), d) for d in domains} for row in task_rows}
    lowest = {d: min((s[d]["mean"] for s in stats.values() if s[d]), default=None) for d in domains}
    rows = [Row([text_cell(row["method"]), *(_stat_cell(stats[row["method"]][d],
                                                        stats[row["method"]][d] is not None
                                                        and stats[row["method"]][d]["mean"] == lowest[d])
                                             for d in domains)], filter_text(row))
            for row in task_rows]
    return table_html(["method", *domains], rows,
                      caption="test perplexity per domain, mean over seeds (hover: ± 95% CI); bold: lowest")


# ---- FLAD: per-target accuracy ----------------------------------------------------------------------

def _mass_text(mass: dict[str, float] | None) -> Cell:
    if not mass:
        return text_cell("—", "")
    return text_cell(f"{100 * mass['policy_late']:.1f}% / {100 * mass['drawn_late']:.1f}%", mass["policy_late"])


def flad_target_table(task_rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]]) -> str:
    """FLAD benchmarks: test accuracy (%) per target, mean ± std over split seeds (the FLAD report's numbers),
    and the late sampling mass on the truly helpful auxiliary datasets."""
    targets = sorted({t for row in task_rows for t in row.get("targets") or []})
    if not targets:
        return ""
    from ..flad.report import flad_table

    rows, uniform = [], None
    for row in task_rows:
        stats = next(iter(flad_table(runs_of.get(row["method"], []))), None)
        if stats is None:
            continue
        uniform = uniform or (stats.get("helpful_mass") or {}).get("uniform")
        cells = [_stat_cell(stats["avg"] if stats["avg"]["mean"] is not None else None, False, ".1f", inline=True)]
        cells += [_stat_cell(stats["per_target"].get(t), False, ".1f", inline=True) for t in targets]
        rows.append(Row([text_cell(row["method"]), *cells, _mass_text(stats.get("helpful_mass"))], filter_text(row)))
    if not rows:
        return ""
    _bold_best(rows, range(1, len(targets) + 2))
    mass = f"helpful mass, late: policy / drawn (uniform {100 * uniform:.1f}%)" if uniform else "helpful mass"
    return table_html(["method", "avg over targets (%)", *[f"{t} (%)" for t in targets], mass], rows,
                      caption="test accuracy (%) per target, mean ± std over split seeds (as the FLAD paper reports); "
                              "bold: highest")


def _bold_best(rows: list[Row], columns: Any) -> None:
    """Mark the highest numeric cell of each column."""
    for i in columns:
        values = [r.cells[i].sort for r in rows if isinstance(r.cells[i].sort, float)]
        for r in rows:
            if values and r.cells[i].sort == max(values):
                r.cells[i].cls = "best"
