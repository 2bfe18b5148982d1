"""The oracle static mixture's reference row and every method's regret to it.

An oracle row is the tuned final run of a recipe with `role: oracle` (baselines/oracle-static.yaml:
the static mixture that minimises a validation metric, found by an Optuna study over the simplex).
A benchmark may have one study per metric (`sweep --objective`): each regret column is measured
against the oracle tuned for its metric, or against the only oracle there is. Regret = method −
oracle on the test split, paired over the seeds both have: how much of a benchmark's headroom a
method leaves unused (negative: it beats every static mixture that search found).
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


def _tuned_for(row_units: dict[int, list[dict[str, Any]]]) -> str | None:
    """The leaderboard metric an oracle row's study minimised ("validation avg ppl" → "avg ppl")."""
    for unit in row_units.values():
        for record in unit:
            objective = str((record.get("tuning") or {}).get("objective") or "")
            if is_oracle(record) and objective.startswith("validation "):
                return objective[len("validation "):]
    return None


def oracle_rows(units: list[dict[int, list[dict[str, Any]]]]) -> dict[str, int | None]:
    """Each regret metric's oracle row: the oracle tuned for that metric, else the first oracle row
    (a benchmark with one oracle study measures both regrets against it)."""
    oracles = [i for i, row_units in enumerate(units)
               if any(is_oracle(r) for unit in row_units.values() for r in unit)]
    tuned = {_tuned_for(units[i]): i for i in oracles}
    return {column: tuned.get(column, oracles[0] if oracles else None) for column in REGRET_METRICS}


def add_regret(rows: list[dict[str, Any]], units: list[dict[int, list[dict[str, Any]]]]) -> None:
    """Set `is_oracle`, `oracle_for` (the metrics it is the reference of) and `regret[column]`
    (paired difference to that metric's oracle row, or None) on one benchmark's rows."""
    oracle_of = oracle_rows(units)
    reads = {column: read for column, read, _ in METRICS if column in REGRET_METRICS}
    for index, (row, row_units) in enumerate(zip(rows, units)):
        row["oracle_for"] = [column for column, oracle in oracle_of.items() if oracle == index]
        row["is_oracle"] = any(is_oracle(r) for u in row_units.values() for r in u)
        row["regret"] = {}
        for column, oracle in oracle_of.items():
            if oracle is None or oracle == index:
                row["regret"][column] = None
                continue
            read = reads[column]
            row["regret"][column] = paired_values({s: unit_value(u, read) for s, u in row_units.items()},
                                                  {s: unit_value(u, read) for s, u in units[oracle].items()})
