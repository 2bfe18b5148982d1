"""Which records are compared with which: benchmarks (a task at one configuration), method
variants, seeds (and FLAD targets) — and their readable names."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections import defaultdict
from typing import Any

import numpy as np

from ..records import is_comparable


def payload_hash(payload: Any) -> str:
    """A stable digest of a JSON-able payload (key order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def record_target(record: dict[str, Any]) -> str | None:
    """The few-shot target of a FLAD-style record (one record per method × target × seed), else None.

    A pre-training run's target (`--target DOMAIN`, a mapping naming the held-out domain) is a
    setting of the method, not a cell of the benchmark: it is scored on every domain like any other
    run of the benchmark, so it does not split the seeds into targets."""
    if record.get("target") is not None:
        return str(record["target"])
    target = (((record.get("config") or {}).get("task") or {}).get("data") or {}).get("target")
    return None if target is None or isinstance(target, dict) else str(target)


@functools.lru_cache(maxsize=None)
def _method_specific_training_keys(task: str) -> frozenset[str]:
    """Training keys a task file sets per method (`training.by_method`, e.g. FLAD's Target-Only
    budget): they differ between methods of ONE benchmark, so they must not split it."""
    try:
        from ..config import load_task
        spec = load_task(task)
    except Exception:  # noqa: BLE001 — a record of a task this checkout does not have
        return frozenset()
    tables = [(spec.get("training") or {}).get("by_method") or {},
              ((spec.get("quick") or {}).get("training") or {}).get("by_method") or {}]
    return frozenset(k for table in tables for values in table.values() for k in (values or {}))


def benchmark_key(record: dict[str, Any]) -> str:
    """Task name + a hash of its resolved configuration (data, model, budget, evaluation), leaving
    out what legitimately differs inside one comparison: the few-shot target (`data.target`) and
    the task file's per-method training settings."""
    config = copy.deepcopy((record.get("config") or {}).get("task") or {})
    if isinstance(config.get("data"), dict):
        config["data"].pop("target", None)
    if isinstance(config.get("training"), dict):
        for key in _method_specific_training_keys(record["task"]):
            config["training"].pop(key, None)
    quick = bool((record.get("config") or {}).get("quick"))
    return f"{record['task']}#{payload_hash([config, quick])[:8]}"


def variant_key(record: dict[str, Any]) -> tuple[str, str]:
    return record["method"], json.dumps(record.get("method_variant") or {}, sort_keys=True, default=str)


def group_records(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Completed records by (task, method) — kept for callers of the first version."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if is_comparable(record):
            groups[(record["task"], record["method"])].append(record)
    return groups


def benchmark_labels(records: list[dict[str, Any]]) -> dict[str, str]:
    """Readable name per benchmark key: the task name, plus the budget when a task has several."""
    by_task: dict[str, set[str]] = defaultdict(set)
    example: dict[str, dict[str, Any]] = {}
    for record in records:
        key = benchmark_key(record)
        by_task[record["task"]].add(key)
        example.setdefault(key, record)
    labels = {}
    for task, keys in by_task.items():
        for key in keys:
            if len(keys) == 1:
                labels[key] = task
                continue
            config = example[key].get("config") or {}
            steps = (config.get("task") or {}).get("training", {}).get("steps")
            quick = ", quick" if config.get("quick") else ""
            labels[key] = f"{task} [{steps} steps{quick}, config {key.split('#')[1][:6]}]"
    return labels


def _deduplicate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (seed, target) — the newest — so a re-run never counts twice."""
    newest: dict[tuple[int, str | None], dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r.get("created_unix", 0)):
        newest[(run["seed"], record_target(run))] = run
    return [newest[k] for k in sorted(newest, key=lambda k: (k[0], k[1] or ""))]


def seed_units(runs: list[dict[str, Any]], targets: list[str]) -> tuple[dict[int, list[dict[str, Any]]], list[int]]:
    """Records by seed; with targets (FLAD), a seed counts only when it has every target of the
    benchmark (a partial seed would bias the average). Returns (complete units, incomplete seeds)."""
    by_seed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for run in _deduplicate(runs):
        by_seed[run["seed"]].append(run)
    if not targets:
        return dict(sorted(by_seed.items())), []
    complete = {s: u for s, u in sorted(by_seed.items()) if {record_target(r) for r in u} >= set(targets)}
    return complete, sorted(set(by_seed) - set(complete))


def unit_value(unit: list[dict[str, Any]], read: Any) -> float | None:
    """A seed's value: the record's, or the mean over its targets' records."""
    values = [read(r) for r in unit]
    if not values or any(v is None for v in values):
        return None
    return float(np.mean([float(v) for v in values]))


def display_names(variants: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in variants:
        names[key[0]].append(key)
    out = {}
    for method, keys in names.items():
        if len(keys) == 1:
            out[keys[0]] = method
            continue
        params = [json.loads(k[1]) for k in keys]
        differing = sorted({p for d in params for p in d if any(d.get(p) != o.get(p) for o in params)})
        for key, d in zip(keys, params):
            out[key] = f"{method} ({', '.join(f'{p}={d.get(p)}' for p in differing)})"
    return out
