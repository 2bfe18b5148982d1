"""The value a sweep optimises, read from a finished run's record (never from the test split)."""

from __future__ import annotations

import math
from typing import Any

from .family import objective_of


def objective_value(record: dict[str, Any], family: str | None = None, key: str | None = None) -> float:
    """Pre-training: the final VALIDATION average perplexity (or mean excess loss), minimised. FLAD:
    the best few-shot VALIDATION accuracy (`final.validation.acc`, maximised). The family is the
    record's config's unless given; `key` the objective's (default: the family's first)."""
    family = family or _family(record)
    objective = objective_of(family, key)
    value = ((record.get("final") or {}).get("validation") or {}).get(objective.record_key)
    if value is None and objective.record_key == "avg_ppl":
        from ..leaderboard import final_validation_avg_ppl

        value = final_validation_avg_ppl(record)
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"{record.get('run_id')}: no finite {objective.name} in the record")
    if family == "flad" and not 0.0 <= float(value) <= 1.0:   # -1: no evaluation ran
        raise ValueError(f"{record.get('run_id')}: {objective.name} {value} is not in [0, 1] (no evaluation ran?)")
    return float(value)


def _family(record: dict[str, Any]) -> str:
    """A record's family: FLAD records carry `flad`; every other record is a pre-training run."""
    return "flad" if "flad" in record or (record.get("config") or {}).get("family") == "flad" else "pretrain"
