"""The leaderboard as Markdown: one table per benchmark, cells as mean ± 95% CI."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .equal_compute import format_flops
from .metrics import AUTO_BASELINES, LOWER_IS_BETTER, METRICS, canonical_metric
from .oracle import REGRET_METRICS


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        spread = f" ± {value['ci95']:.3g}" if not math.isnan(value["ci95"]) else ""
        return f"{value['mean']:.4g}{spread}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_paired(diff: dict[str, Any] | None, is_baseline: bool = False, own: str = "(baseline)") -> str:
    if is_baseline:
        return own
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
    """Auxiliary runs, extra passes (forward / backward tokens, relative to training tokens) and probe steps."""
    parts, train = [], compute.get("train_tokens") or 0
    if compute["extra_runs"]:
        kinds = ", ".join(f"{k}×{v:g}" for k, v in compute["kinds"].items())
        share = f"+{100 * compute['extra_share']:.0f}% tokens" if compute["extra_share"] is not None else \
            f"+{compute['extra_tokens']:.3g} tokens"
        parts.append(f"runs {share} ({kinds})")
    forward, backward = compute.get("extra_forward_tokens", 0), compute.get("extra_backward_tokens", 0)
    if (forward or backward) and train:
        parts.append(f"passes +{100 * forward / train:.0f}% fwd / +{100 * backward / train:.0f}% bwd tokens")
    if compute.get("probe_steps"):
        parts.append(f"{compute['probe_steps']:g} probe steps")
    return "; ".join(parts) or "none"


def format_regret(row: dict[str, Any]) -> str:
    """Paired regret to the oracle static mixture on avg ppl and on mean excess loss ("(oracle)" where
    the row is that metric's oracle)."""
    oracle_for = row.get("oracle_for") or []
    if len(oracle_for) == len(REGRET_METRICS):
        return "(oracle)"
    regret = row.get("regret") or {}
    if not any(regret.values()):
        return "—"
    return " / ".join("(oracle)" if column in oracle_for else format_paired(regret.get(column))
                      for column in REGRET_METRICS)


def oracle_label(row: dict[str, Any]) -> str:
    """" (oracle static mixture[ for <metric>], reference)" on an oracle row, else ""."""
    if not row.get("is_oracle"):
        return ""
    oracle_for = row.get("oracle_for") or []
    scope = "" if len(oracle_for) != 1 else f" for {oracle_for[0]}"
    return f" (oracle static mixture{scope}, reference)"


def format_tuning(tuning: dict[str, Any]) -> str:
    if not tuning["tuned"]:
        return "no (recipe values)"
    return f"yes: {tuning['trials']} trials ({tuning['study']})"


HEADERS = ["method", "seeds", "avg ppl", "Δ avg ppl vs baseline (paired)", "steps to baseline's final val ppl",
           "mean excess loss", "regret to oracle static: avg ppl / excess loss (paired)", "worst-domain ppl", "downstream acc", "Δ downstream acc vs baseline (paired)",
           "rank (ppl / excess)", "strategy share %",
           "extra compute", "total FLOPs", "tuned", "train s"]


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
    method = row["method"] + oracle_label(row)
    return [method, seeds, _cell(row["avg ppl"]),
            format_paired(row.get("paired", {}).get("avg ppl"), row.get("is_baseline", False)),
            format_steps(row.get("steps_to_target")) if not row.get("is_baseline") else "(baseline)",
            _cell(row["mean excess loss"]), format_regret(row), _cell(row["worst-domain ppl"]),
            _cell(row["downstream acc"]),
            format_paired(row.get("paired", {}).get("downstream acc"), row.get("is_baseline", False)), rank,
            f"{row['strategy share %']:.3f}", format_compute(row["compute"]) if "compute" in row else "—",
            format_flops((row.get("total FLOPs") or {}).get("mean")),
            format_tuning(row["tuning"]) if "tuning" in row else "—", f"{row['train s']:.1f}"]


def benchmarks(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({r.get("benchmark", r["task"]) for r in rows})


class Section(NamedTuple):
    """One benchmark's table: its rows in display order, the columns worth showing, and their cells."""
    bench: str
    rows: list[dict[str, Any]]
    baseline: str | None
    sort_by: str
    ranks: dict[str, dict[str, int]]
    headers: list[str]          # the visible columns' headers (baseline named)
    columns: list[int]          # their indices into HEADERS / table_cells
    cells: list[list[str]]      # per row, the visible cells


EMPTY_CELLS = frozenset({"—", "— / —", "(baseline)", "(oracle)", ""})


def visible_columns(cell_rows: list[list[str]], empty: frozenset[str] = EMPTY_CELLS) -> list[int]:
    """Indices of the columns with at least one informative cell (the first column always stays):
    a column that is "—" on every row (FLAD: perplexities) says nothing."""
    width = len(cell_rows[0]) if cell_rows else 0
    return [i for i in range(width) if i == 0 or any(cells[i] not in empty for cells in cell_rows)]


def benchmark_sections(rows: list[dict[str, Any]], sort_by: str = "avg ppl") -> list[Section]:
    """The leaderboard's tables, one per benchmark, sorted by `sort_by`, always-empty columns left out."""
    sort_by = canonical_metric(sort_by)
    sections = []
    for bench in benchmarks(rows):
        task_rows = _sorted_rows([r for r in rows if r.get("benchmark", r["task"]) == bench], sort_by)
        ranks = _ranks(task_rows)
        baseline = next((r["baseline"] for r in task_rows if r.get("baseline")), None)
        full = [table_cells(r, ranks) for r in task_rows]
        columns = visible_columns(full)
        headers = [HEADERS[i].replace("baseline", baseline or "baseline") for i in columns]
        sections.append(Section(bench, task_rows, baseline, effective_sort(task_rows, sort_by), ranks, headers,
                                columns, [[cells[i] for i in columns] for cells in full]))
    return sections


NO_BASELINE_NOTE = ("(no baseline runs ({}) in this benchmark: no paired differences or steps-to-target)\n"
                    .format(" / ".join(AUTO_BASELINES)))
FOOTNOTE = ("Metrics on the test split: avg ppl = unweighted mean of per-domain perplexities; "
            "mean excess loss = mean over domains of loss − known floor (embedded benchmarks only). "
            "Regret to oracle static = method − the oracle static mixture (the best fixed mixture an Optuna "
            "search over the simplex found on the validation split), paired over shared seeds. "
            "Δ = paired difference over shared seeds (negative = lower than the baseline). Steps to target = "
            "first evaluation step whose validation avg ppl ≤ the baseline's final one (same seed). "
            "Total FLOPs = 6·N·training tokens + extra forward (2·N) / backward (4·N) tokens + extra runs, "
            "N = total parameters, mean over seeds (estimated from steps, tokens and model size for older records). "
            "Columns empty for every row of a benchmark are left out.\n")


def format_markdown(rows: list[dict[str, Any]], sort_by: str = "avg ppl") -> str:
    """One table per benchmark, sorted by `sort_by`, with the rank under each ranking metric."""
    out = []
    for section in benchmark_sections(rows, sort_by):
        out.append(f"### {section.bench} (sorted by {section.sort_by}; mean ± 95% CI over seeds)\n")
        if section.baseline is None:
            out.append(NO_BASELINE_NOTE)
        out.append("| " + " | ".join(section.headers) + " |")
        out.append("|" + "---|" * len(section.headers))
        out += ["| " + " | ".join(cells) + " |" for cells in section.cells]
        out.append("")
    if rows:
        out.append(FOOTNOTE)
    return "\n".join(out)
