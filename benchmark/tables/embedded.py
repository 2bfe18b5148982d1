"""Tables of the embedded benchmarks (no published numbers): pre-training ones by method,
FLAD-style ones by method × target, built from leaderboard rows."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..leaderboard import format_paired, leaderboard_rows, record_target, summary
from .cells import fmt_ours
from .selection import completed_records, is_real_task
from .table import Table


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def embedded_tables(records: list[dict[str, Any]]) -> list[tuple[Table, dict[str, list[dict[str, Any]]] | None]]:
    """One table per embedded benchmark (task at one configuration), by method, from leaderboard
    rows: pre-training benchmarks (avg ppl, excess loss, mini-MMLU, steps-to-target; with the
    runs for an avg-ppl-vs-steps figure) and FLAD-style ones (per-target accuracy, 11→k-target
    average, paired difference, sampling mass on the truly helpful auxiliaries)."""
    completed = [r for r in completed_records(records) if not is_real_task(r["task"])]
    rows = leaderboard_rows(completed)
    by_run_id = {r.get("run_id"): r for r in completed}
    out: list[tuple[Table, dict[str, list[dict[str, Any]]] | None]] = []
    for bench in sorted({r["benchmark"] for r in rows}):
        bench_rows = [r for r in rows if r["benchmark"] == bench]
        slug = _slug(bench)
        name = slug if slug.startswith("embedded") else f"embedded_{slug}"
        groups = {r["method"]: [by_run_id[i] for i in r["run_ids"] if i in by_run_id] for r in bench_rows}
        if any(r["targets"] for r in bench_rows):
            out.append((_fewshot_table(name, bench, bench_rows, groups), None))
        else:
            out.append((_pretrain_table(name, bench, bench_rows), groups))
    return out


def _pretrain_table(name: str, bench: str, bench_rows: list[dict[str, Any]]) -> Table:
    bench_rows = sorted(bench_rows, key=lambda r: r["avg ppl"]["mean"] if r["avg ppl"] else math.inf)
    table_rows, data = [], []
    baseline = next((r["baseline"] for r in bench_rows if r["baseline"]), None) or "uniform"
    for r in bench_rows:
        target = r.get("steps_to_target")
        table_rows.append([
            r["method"], str(len(r["seeds"])), fmt_ours(r["avg ppl"], 3), fmt_ours(r["mean excess loss"], 4),
            fmt_ours(r["downstream acc"], 3), fmt_ours(r["worst-domain ppl"], 2),
            "(baseline)" if r["is_baseline"] else
            ("—" if target is None else (f"{target['mean']:.0f} ({target['reached']}/{target['n']} seeds)"
                                         if target["mean"] is not None else f"not reached (0/{target['n']})"))])
        data.append({"method": r["method"], "avg ppl": r["avg ppl"], "mean excess loss": r["mean excess loss"],
                     "downstream acc": r["downstream acc"], "worst-domain ppl": r["worst-domain ppl"],
                     "steps_to_target": target})
    return Table(name, f"{bench} — by method (test split; mean ± 95% CI over seeds)",
                 ["method", "seeds", "avg ppl", "mean excess loss", "mini-MMLU acc", "worst-domain ppl",
                  f"steps to {baseline}'s final val avg ppl"], table_rows, data,
                 ["avg ppl: unweighted mean of per-domain perplexities (ODM's metric); excess loss: loss − the "
                  "domain's known irreducible loss, averaged over domains; mini-MMLU: the embedded MMLU-style "
                  "probe through lm-eval. No published numbers exist for embedded benchmarks."])


def _helpful_mass(runs: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Time-averaged sampling mass on the auxiliaries known to help, and its uniform reference."""
    masses = [float(np.mean(r["flad"]["helpful_mass"])) for r in runs
              if isinstance(r.get("flad"), dict) and r["flad"].get("helpful_mass")]
    uniform = [r["flad"]["helpful_mass_uniform"] for r in runs
               if isinstance(r.get("flad"), dict) and r["flad"].get("helpful_mass_uniform") is not None]
    return (float(np.mean(masses)) if masses else None), (float(np.mean(uniform)) if uniform else None)


def _fewshot_table(name: str, bench: str, bench_rows: list[dict[str, Any]],
                   groups: dict[str, list[dict[str, Any]]]) -> Table:
    targets = sorted({t for r in bench_rows for t in r["targets"]})
    bench_rows = sorted(bench_rows, key=lambda r: -(r["downstream acc"]["mean"] if r["downstream acc"] else -math.inf))
    table_rows, data = [], []
    uniform_mass = None
    for r in bench_rows:
        runs = groups[r["method"]]
        per_target = {}
        for target in targets:
            values = [100 * float(run["downstream"][target]["acc"]) for run in sorted(runs, key=lambda x: x["seed"])
                      if record_target(run) == target and (run.get("downstream") or {}).get(target, {}).get("acc") is not None]
            per_target[target] = summary(values) if values else None
        mass, uniform = _helpful_mass(runs)
        uniform_mass = uniform if uniform is not None else uniform_mass
        avg = None if r["downstream acc"] is None else {**r["downstream acc"],
                                                        "mean": 100 * r["downstream acc"]["mean"],
                                                        "ci95": 100 * r["downstream acc"]["ci95"]}
        diff = r["paired"].get("downstream acc")
        diff = None if diff is None else {**diff, "mean": 100 * diff["mean"], "ci95": 100 * diff["ci95"]}
        table_rows.append([r["method"], str(len(r["seeds"])), *(fmt_ours(per_target[t], 1) for t in targets),
                           fmt_ours(avg, 1), format_paired(diff, r["is_baseline"]),
                           "—" if mass is None else f"{mass:.3f}"])
        data.append({"method": r["method"], "per_target": per_target, "avg": avg, "paired": diff,
                     "helpful_mass": mass, "seeds": r["seeds"], "incomplete_seeds": r["incomplete_seeds"]})
    baseline = next((r["baseline"] for r in bench_rows if r["baseline"]), None) or "baseline"
    notes = ["Accuracy % on each target's test split (mean ± 95% CI over few-shot split seeds); avg: mean over the "
             "targets per seed, then over seeds (a seed missing a target is left out). Helpful mass: sampling "
             "probability on the auxiliary datasets the generator made helpful, averaged over training"
             + (f" (uniform sampling: {uniform_mass:.3f})." if uniform_mass is not None else ".")]
    return Table(name, f"{bench} — accuracy by method and target (ours; no published numbers)",
                 ["method", "seeds", *targets, "avg", f"Δ avg vs {baseline} (paired)", "helpful mass"],
                 table_rows, data, notes)
