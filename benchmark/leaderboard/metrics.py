"""The leaderboard's metric columns (final metrics on the TEST split) and its baselines."""

from __future__ import annotations

from typing import Any

import numpy as np

BASELINE = "uniform"
AUTO = "auto"
AUTO_BASELINES = ("uniform", "explore-only")   # stratified sampling; FLAD's uniform mixture


def _downstream_acc(record: dict[str, Any]) -> float | None:
    values = [v["acc"] for v in record.get("downstream", {}).values() if isinstance(v, dict) and v.get("acc") is not None]
    return float(np.mean(values)) if values else None


def _test(record: dict[str, Any]) -> dict[str, Any]:
    return (record.get("final") or {}).get("test") or {}


# (column, how to read it from a record, lower is better?) — final metrics on the TEST split.
METRICS: list[tuple[str, Any, bool]] = [
    ("avg ppl", lambda r: _test(r).get("avg_ppl"), True),
    ("mean excess loss", lambda r: _test(r).get("mean_excess_loss"), True),
    ("worst-domain ppl", lambda r: _test(r).get("worst_ppl"), True),
    ("downstream acc", _downstream_acc, False),
]
METRIC_ALIASES = {"mini-MMLU acc": "downstream acc", "acc": "downstream acc", "ppl": "avg ppl",
                  "excess": "mean excess loss", "worst": "worst-domain ppl"}
LOWER_IS_BETTER = {c: low for c, _, low in METRICS}


def canonical_metric(name: str) -> str:
    name = METRIC_ALIASES.get(name, name)
    if name not in LOWER_IS_BETTER:
        from ..config import ConfigError
        raise ConfigError(f"--sort-by: unknown metric {name!r}; allowed: {', '.join(LOWER_IS_BETTER)}")
    return name
