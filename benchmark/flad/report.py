"""FLAD tables from result records: per method, the accuracy averaged over targets (mean ± std over
few-shot splits, as the paper reports), each target's mean ± std, and — on the embedded benchmark —
the sampling mass the method put on the truly helpful auxiliary datasets.

Only completed records of one task are pooled, grouped by (method, hyperparameters, protocol);
a split's average over targets needs every target of the table for that split seed.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

import numpy as np


def _mean_std(values: list[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()) if len(arr) else None,
            "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, "n": len(arr)}


def _late(values: list[float]) -> float:
    """Mean over the second half of a trajectory (where a bandit has had time to learn)."""
    return float(np.mean(values[len(values) // 2:])) if values else float("nan")


def _early(values: list[float]) -> float:
    """Mean over the first half of a trajectory."""
    return float(np.mean(values[:max(len(values) // 2, 1)])) if values else float("nan")


def _acc(record: dict[str, Any], protocol: str | None) -> float:
    test = record["final"]["test"]
    return test["acc"] if protocol in (None, test["protocol"]) else test["by_protocol"][protocol]["acc"]


def flad_table(records: list[dict[str, Any]], protocol: str | None = None) -> list[dict[str, Any]]:
    """Rows per (task, method, hyperparameters); `protocol` picks another protocol the records also
    report (final.test.by_protocol), default: each record's headline protocol."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("status") == "completed" and "flad" in r and (
                protocol is None or protocol in r["final"]["test"].get("by_protocol", {})):
            key = (r["task"], r["method"], json.dumps(r.get("method_variant") or {}, sort_keys=True),
                   protocol or r["final"]["test"]["protocol"])
            groups[key].append(r)
    targets_of_task: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if "flad" in r:
            targets_of_task[r["task"]].add(r["target"])
    rows = []
    for (task, method, variant, protocol), runs in sorted(groups.items()):
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for r in sorted(runs, key=lambda r: r.get("created_unix", 0)):
            latest[(r["target"], r["seed"])] = r        # a re-run replaces, never double-counts
        runs = list(latest.values())
        targets = sorted(targets_of_task[task])
        by_seed: dict[int, dict[str, float]] = defaultdict(dict)
        for r in runs:
            by_seed[r["seed"]][r["target"]] = _acc(r, protocol)
        complete = {s: v for s, v in by_seed.items() if set(v) >= set(targets)}
        row: dict[str, Any] = {
            "task": task, "method": method, "variant": json.loads(variant), "protocol": protocol,
            "targets": targets, "seeds": sorted(complete),
            "seed_avgs": {s: 100 * float(np.mean([v[t] for t in targets])) for s, v in complete.items()},
            "avg": _mean_std([100 * float(np.mean([v[t] for t in targets])) for v in complete.values()]),
            "per_target": {t: _mean_std([100 * _acc(r, protocol) for r in runs if r["target"] == t])
                           for t in targets},
            "steps": float(np.mean([r["compute"]["steps"] for r in runs])),
            "best_step": float(np.mean([r["flad"]["best_step"] for r in runs])),
            "train_seconds": float(np.mean([r["timing"]["train_seconds"] for r in runs])),
            "reward_share": float(np.mean([r["timing"].get("reward_share", 0.0) for r in runs])),
        }
        row.update(_truth_masses([r for r in runs if "helpful_mass" in r["flad"]]))
        rows.append(row)
    add_split_ranks(rows)
    return rows


def _truth_masses(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Embedded benchmark only: mass on the truly helpful (and harmful) arms late in training, and
    on the transient arms early and late."""
    if not runs:
        return {}
    out: dict[str, Any] = {"helpful_mass": {
        "uniform": float(np.mean([r["flad"]["helpful_mass_uniform"] for r in runs])),
        "policy_late": float(np.mean([_late(r["flad"]["helpful_mass"]) for r in runs])),
        "drawn_late": float(np.mean([_late(r["flad"]["helpful_drawn"]) for r in runs])),
        "harmful_late": float(np.mean([_late(r["flad"]["harmful_mass"]) for r in runs]))}}
    transient = [r["flad"]["transient_mass"] for r in runs
                 if r["flad"].get("transient_mass") and "transient" in r["flad"]["arm_roles"].values()]
    if transient:
        out["transient_mass"] = {"early": float(np.mean([_early(m) for m in transient])),
                                 "late": float(np.mean([_late(m) for m in transient]))}
    return out


def add_split_ranks(rows: list[dict[str, Any]]) -> None:
    """Per task, each method's rank (1 = best average over targets) on every split seed all methods
    have, and the task's mean Kendall τ between the split seeds' rankings (`split_tau`)."""
    from scipy import stats

    for task in {r["task"] for r in rows}:
        mine = [r for r in rows if r["task"] == task]
        seeds = sorted(set.intersection(*(set(r["seed_avgs"]) for r in mine))) if mine else []
        for row in mine:
            row["split_ranks"] = {}
        for seed in seeds:
            ranks = stats.rankdata([-r["seed_avgs"][seed] for r in mine])
            for row, rank in zip(mine, ranks):
                row["split_ranks"][seed] = float(rank)
        taus = [stats.kendalltau([r["seed_avgs"][a] for r in mine], [r["seed_avgs"][b] for r in mine])[0]
                for a, b in itertools.combinations(seeds, 2)] if len(mine) >= 3 else []
        for row in mine:
            row["split_tau"] = float(np.mean(taus)) if taus else None


def _cell(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("mean") is None:
        return "—"
    return f"{stat['mean']:.1f} ± {stat['std']:.1f}"


def format_flad_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per method; accuracy in %, mean ± std over splits; every number names its protocol."""
    if not rows:
        return "no completed FLAD records"
    out = []
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        targets = mine[0]["targets"]
        out.append(f"### {task} — test accuracy (%), mean ± std over few-shot splits; protocol: "
                   f"{', '.join(sorted({r['protocol'] for r in mine}))}")
        transient = any(r.get("transient_mass") for r in mine)
        header = ["method", "avg over targets", *targets, "splits", "rank per split (min–max)", "steps (best)",
                  "helpful mass: uniform → policy / drawn (late)",
                  *(["transient mass: early → late"] if transient else []), "reward time share"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for r in sorted(mine, key=lambda r: -(r["avg"]["mean"] or 0)):
            cells = [r["method"], _cell(r["avg"]), *[_cell(r["per_target"][t]) for t in targets], str(len(r["seeds"])),
                     _rank_range(r), f"{r['steps']:.0f} ({r['best_step']:.0f})", _mass_text(r.get("helpful_mass")),
                     *([_transient_text(r.get("transient_mass"))] if transient else []),
                     f"{100 * r['reward_share']:.1f}%"]
            out.append("| " + " | ".join(cells) + " |")
        tau = mine[0].get("split_tau")
        if tau is not None:
            out.append(f"\nRanking agreement between split seeds: mean Kendall τ = {tau:.2f} over the "
                       f"{len(mine[0]['split_ranks'])} splits every method has.")
        out.append("")
    return "\n".join(out)


def _rank_range(row: dict[str, Any]) -> str:
    ranks = list((row.get("split_ranks") or {}).values())
    return f"{min(ranks):g}–{max(ranks):g}" if ranks else "—"


def _mass_text(mass: dict[str, float] | None) -> str:
    if not mass:
        return "—"
    return f"{100 * mass['uniform']:.1f}% → {100 * mass['policy_late']:.1f}% / {100 * mass['drawn_late']:.1f}%"


def _transient_text(mass: dict[str, float] | None) -> str:
    return f"{100 * mass['early']:.1f}% → {100 * mass['late']:.1f}%" if mass else "—"
