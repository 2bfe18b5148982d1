"""Which records feed the paper tables: the real tasks (ODM's Pile, FLAD's T0Mix / P3), completed
runs, the newest record per seed, and one configuration per cell (budgets are never pooled)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ..leaderboard import benchmark_key
from ..records import is_comparable

ODM_TASK = "pile-odm"            # also its scaled-down variants: pile-odm-160m, pile-odm-410m, ...
FLAD_TASKS = {"T0Mix": "t0mix", "P3": "p3"}


def is_odm_task(task: str) -> bool:
    return task == ODM_TASK or task.startswith(ODM_TASK + "-")


def flad_auxiliary(task: str) -> str | None:
    """T0Mix / P3 for a real FLAD task name (`t0mix`, `p3`, or e.g. `flad-p3-t5xl`), else None."""
    tokens = set(re.split(r"[-_.]", task.lower()))
    return next((aux for aux, token in FLAD_TASKS.items() if token in tokens), None)


def is_real_task(task: str) -> bool:
    return is_odm_task(task) or flad_auxiliary(task) is not None


def completed_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if is_comparable(r)]


def newest_per_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_seed: dict[int, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r.get("created_unix", 0)):
        by_seed[run["seed"]] = run
    return [by_seed[s] for s in sorted(by_seed)]


def main_configuration(runs: list[dict[str, Any]], notes: list[str], what: str,
                       key: Any = benchmark_key) -> list[dict[str, Any]]:
    """Runs of the configuration with the most records (budgets are never pooled)."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        by_key[key(run)].append(run)
    if len(by_key) <= 1:
        return runs
    best = max(by_key, key=lambda k: (len(by_key[k]), k))
    notes.append(f"{what}: records of {len(by_key)} configurations; shown: config {best.split('#')[1]} "
                 f"({len(by_key[best])} runs); ignored: " + ", ".join(f"{k.split('#')[1]} ({len(v)})"
                                                                       for k, v in by_key.items() if k != best))
    return by_key[best]
