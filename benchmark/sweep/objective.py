"""The value a sweep minimises, read from a finished run's record."""

from __future__ import annotations

import math
from typing import Any


def objective_value(record: dict[str, Any]) -> float:
    """Final VALIDATION average perplexity (the test split is never read)."""
    from ..leaderboard import final_validation_avg_ppl

    value = ((record.get("final") or {}).get("validation") or {}).get("avg_ppl")
    if value is None:
        value = final_validation_avg_ppl(record)
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"{record.get('run_id')}: no finite validation avg ppl in the record")
    return float(value)
