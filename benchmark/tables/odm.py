"""ODM's Table 1 (5-shot MMLU by method), its "19% fewer iterations" claim, and its
average-validation-perplexity-vs-steps figure, from records of a pile-odm* task."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..leaderboard import curve_avg_ppl, final_validation_avg_ppl, summary
from .cells import NOT_RUN, fmt_ours, fmt_pub
from .figures import pyplot, save
from .published import load_published
from .selection import ODM_TASK, completed_records, is_odm_task, main_configuration, newest_per_seed
from .table import Table


def mmlu_accuracy(record: dict[str, Any]) -> float | None:
    downstream = record.get("downstream") or {}
    for key in ("mmlu", "mmlu_5shot", "hendrycksTest"):
        if isinstance(downstream.get(key), dict) and downstream[key].get("acc") is not None:
            return float(downstream[key]["acc"])
    values = [v["acc"] for k, v in downstream.items() if k.startswith(("mmlu", "hendrycksTest"))
              and isinstance(v, dict) and v.get("acc") is not None]
    return float(np.mean(values)) if values else None


def odm_task(records: list[dict[str, Any]], requested: str | None = None) -> str:
    """The ODM task whose runs fill the table: the requested one, else the pile-odm* task with most runs."""
    if requested:
        return requested
    counts: dict[str, int] = defaultdict(int)
    for r in completed_records(records):
        if is_odm_task(r["task"]):
            counts[r["task"]] += 1
    return max(counts, key=lambda t: (counts[t], t == ODM_TASK, t)) if counts else ODM_TASK


def odm_runs(records: list[dict[str, Any]], notes: list[str], task: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Records of the ODM task by recipe (one configuration, newest record per seed)."""
    task = odm_task(records, task)
    others = sorted({r["task"] for r in completed_records(records) if is_odm_task(r["task"]) and r["task"] != task})
    if others:
        notes.append(f"ours: task {task}; runs of {', '.join(others)} are not shown (pick with --odm-task)")
    runs = main_configuration([r for r in completed_records(records) if r["task"] == task], notes, task)
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        by_method[run["method"]].append(run)
    return {m: newest_per_seed(v) for m, v in by_method.items()}


def odm_table1(records: list[dict[str, Any]], task: str | None = None) -> Table:
    published = load_published("odm_table1.yaml")
    notes: list[str] = []
    task = odm_task(records, task)
    by_method = odm_runs(records, notes, task)
    rows, data = [], []
    for entry in published["table1"]:
        recipes = entry["recipes"]
        for i, recipe in enumerate(recipes):
            runs = by_method.get(recipe, [])
            values = [mmlu_accuracy(r) for r in runs]
            values = [v for v in values if v is not None]
            ours = summary(values) if values else None
            label = entry["method"] if len(recipes) == 1 else f"{entry['method']} ({recipe})"
            pub = entry["accuracy"] if i == 0 else None   # the published ODM runs used the released code
            rows.append([label, fmt_pub(pub, 5) if pub is not None else "— (not published separately)",
                         fmt_ours(ours, 5), ", ".join(str(r["seed"]) for r in runs) or "—"])
            data.append({"method": entry["key"], "recipe": recipe, "published": pub, "ours": ours,
                         "seeds": [r["seed"] for r in runs]})
    notes.append("Published: arXiv 2312.02406 Table 1 (1B GPT-NeoX, 100k steps, 5-shot MMLU, lm-eval 0.3.0). "
                 f"Ours: task {task}, mean ± 95% CI over seeds. Near chance (0.25): differences < 1 point need several seeds.")
    return Table("odm_table1", "ODM Table 1 — 5-shot MMLU accuracy by method (published vs this project)",
                 ["method", "published", "ours", "seeds"], rows, data, notes)


def _mean_curve(runs: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    per_run = [dict(zip(r["curves"]["eval_steps"], (curve_avg_ppl(v) for v in r["curves"]["val_loss"])))
               for r in runs if (r.get("curves") or {}).get("eval_steps")]
    if not per_run:
        return [], []
    steps = sorted(set.intersection(*(set(p) for p in per_run)))
    return steps, [float(np.mean([p[s] for p in per_run])) for s in steps]


def iterations_claim(by_method: dict[str, list[dict[str, Any]]], odm_recipe: str) -> dict[str, Any] | None:
    """Our version of "ODM reaches the next best method's final validation avg ppl with 19% fewer
    iterations": mean curves over seeds; target = the lowest mean final validation avg ppl among
    the non-ODM methods run; first step at which ODM's mean curve is at or below it."""
    if not by_method.get(odm_recipe):
        return None
    others = {m: runs for m, runs in by_method.items() if not m.startswith("odm")}
    finals = {m: float(np.mean([final_validation_avg_ppl(r) for r in runs])) for m, runs in others.items()
              if runs and all(final_validation_avg_ppl(r) is not None for r in runs)}
    if not finals:
        return None
    next_best = min(finals, key=finals.get)
    steps, values = _mean_curve(by_method[odm_recipe])
    if not steps:
        return None
    reached = next((s for s, v in zip(steps, values) if v <= finals[next_best]), None)
    return {"odm": odm_recipe, "next_best": next_best, "target": finals[next_best], "step": reached,
            "total_steps": steps[-1], "fewer_fraction": None if reached is None else 1 - reached / steps[-1]}


def odm_claim_table(records: list[dict[str, Any]], task: str | None = None) -> Table:
    published = load_published("odm_table1.yaml")["iterations_claim"]
    notes: list[str] = []
    by_method = odm_runs(records, notes, task)
    rows, data = [], []
    for recipe in ("odm-code", "odm-paper"):
        claim = iterations_claim(by_method, recipe)
        if claim is None:
            ours = NOT_RUN
        elif claim["step"] is None:
            ours = f"not reached (target {claim['next_best']} final {claim['target']:.4g})"
        else:
            ours = (f"step {claim['step']} of {claim['total_steps']} ({100 * claim['fewer_fraction']:.0f}% fewer; "
                    f"target: {claim['next_best']} final val avg ppl {claim['target']:.4g})")
        rows.append([f"ODM ({recipe})",
                     f"{100 * published['fewer_iterations_fraction']:.0f}% fewer (≈ step {published['published_step']} "
                     f"of {published['total_steps']}, vs DoReMi)" if recipe == "odm-code" else "—", ours])
        data.append({"recipe": recipe, "published": published["fewer_iterations_fraction"] if recipe == "odm-code"
                     else None, "ours": claim})
    notes.append("Steps at which ODM's validation average perplexity (mean over seeds) first reaches the final one of "
                 "the next best method run (lowest final validation avg ppl among non-ODM recipes).")
    return Table("odm_iterations", "ODM — iterations to reach the next best method's final validation perplexity",
                 ["method", "published", "ours"], rows, data, notes)


def odm_figure(records: list[dict[str, Any]], path: Path, task: str | None = None) -> Path:
    plt = pyplot()
    from ..report_html import plot_avg_ppl_vs_steps

    notes: list[str] = []
    task = odm_task(records, task)
    by_method = odm_runs(records, notes, task)
    published = load_published("odm_table1.yaml")["iterations_claim"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if by_method:
        plot_avg_ppl_vs_steps(by_method, f"ODM: validation average perplexity vs step (task {task})", ax=ax)
        claim = iterations_claim(by_method, "odm-code") or iterations_claim(by_method, "odm-paper")
        if claim:
            ax.axhline(claim["target"], color="grey", linestyle="--", linewidth=1,
                       label=f"final of the next best run ({claim['next_best']})")
            if claim["step"] is not None:
                ax.axvline(claim["step"], color="grey", linestyle=":", linewidth=1,
                           label=f"ours: {claim['odm']} reaches it at step {claim['step']}")
        fraction = published["published_step"] / published["total_steps"]
        total = max(max(r["curves"]["eval_steps"]) for runs in by_method.values() for r in runs
                    if r["curves"]["eval_steps"])
        ax.axvline(fraction * total, color="tab:red", linestyle=":", linewidth=1,
                   label=f"published: ODM reaches DoReMi's final at {100 * fraction:.0f}% of the steps")
        ax.legend(fontsize=8)
    else:
        ax.set_title("ODM: validation average perplexity vs step")
        ax.text(0.5, 0.5, "not run (no pile-odm records)\npublished: ODM reaches DoReMi's final average "
                "perplexity with 19% fewer iterations (≈81k of 100k)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("validation average perplexity")
    return save(fig, path)
