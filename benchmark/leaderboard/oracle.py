"""The oracle static mixture's reference row and every method's regret to it.

The oracle row is the tuned final run of a recipe with `role: oracle` (baselines/oracle-static.yaml:
the static mixture that minimises validation average perplexity, found by an Optuna study over the
simplex). Regret = method − oracle on the test split, paired over the seeds both have: how much of a
benchmark's headroom a method leaves unused (negative: it beats every static mixture the search found).
"""

from __future__ import annotations

from typing import Any

from .grouping import unit_value
from .metrics import METRICS
from .statistics import paired_values

ORACLE_ROLE = "oracle"
REGRET_METRICS = ("avg ppl", "mean excess loss")


def is_oracle(record: dict[str, Any]) -> bool:
    return ((record.get("config") or {}).get("recipe") or {}).get("role") == ORACLE_ROLE


def add_regret(rows: list[dict[str, Any]], units: list[dict[int, list[dict[str, Any]]]]) -> None:
    """Set `is_oracle` and `regret[column]` (paired difference to the oracle row, or None) on one
    benchmark's rows."""
    oracle = next((i for i, row_units in enumerate(units)
                   if any(is_oracle(r) for unit in row_units.values() for r in unit)), None)
    for index, (row, row_units) in enumerate(zip(rows, units)):
        row["is_oracle"] = index == oracle
        row["regret"] = {}
        for column, read, _ in METRICS:
            if column not in REGRET_METRICS:
                continue
            if oracle is None or index == oracle:
                row["regret"][column] = None
                continue
            row["regret"][column] = paired_values({s: unit_value(u, read) for s, u in row_units.items()},
                                                  {s: unit_value(u, read) for s, u in units[oracle].items()})
