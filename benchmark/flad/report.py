"""FLAD tables from result records: per method, the accuracy averaged over targets (mean ± std over
few-shot splits, as the paper reports), each target's mean ± std, and — on the embedded benchmark —
the sampling mass the method put on the truly helpful auxiliary datasets.

Only completed records of one task are pooled, grouped by (method, hyperparameters, protocol);
a split's average over targets needs every target of the table for that split seed.
"""

from __future__ import annotations

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
            "avg": _mean_std([100 * float(np.mean([v[t] for t in targets])) for v in complete.values()]),
            "per_target": {t: _mean_std([100 * _acc(r, protocol) for r in runs if r["target"] == t])
                           for t in targets},
            "steps": float(np.mean([r["compute"]["steps"] for r in runs])),
            "best_step": float(np.mean([r["flad"]["best_step"] for r in runs])),
            "train_seconds": float(np.mean([r["timing"]["train_seconds"] for r in runs])),
            "reward_share": float(np.mean([r["timing"].get("reward_share", 0.0) for r in runs])),
        }
        with_truth = [r for r in runs if "helpful_mass" in r["flad"]]
        if with_truth:
            row["helpful_mass"] = {
                "uniform": float(np.mean([r["flad"]["helpful_mass_uniform"] for r in with_truth])),
                "policy_late": float(np.mean([_late(r["flad"]["helpful_mass"]) for r in with_truth])),
                "drawn_late": float(np.mean([_late(r["flad"]["helpful_drawn"]) for r in with_truth])),
                "harmful_late": float(np.mean([_late(r["flad"]["harmful_mass"]) for r in with_truth])),
            }
        rows.append(row)
    return rows


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
        header = ["method", "avg over targets", *targets, "splits", "steps (best)", "helpful mass: uniform → policy / drawn (late)",
                  "reward time share"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for r in sorted(mine, key=lambda r: -(r["avg"]["mean"] or 0)):
            mass = r.get("helpful_mass")
            mass_text = (f"{100 * mass['uniform']:.1f}% → {100 * mass['policy_late']:.1f}% / {100 * mass['drawn_late']:.1f}%"
                         if mass else "—")
            cells = [r["method"], _cell(r["avg"]), *[_cell(r["per_target"][t]) for t in targets], str(len(r["seeds"])),
                     f"{r['steps']:.0f} ({r['best_step']:.0f})", mass_text, f"{100 * r['reward_share']:.1f}%"]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)
