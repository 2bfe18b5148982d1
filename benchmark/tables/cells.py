"""Cell text: a published number, or ours as mean ± 95% CI (n), or "not run"."""

from __future__ import annotations

import math
from typing import Any

NOT_RUN = "not run"


def fmt_ours(value: dict[str, Any] | None, digits: int = 2, scale: float = 1.0) -> str:
    if value is None:
        return NOT_RUN
    mean = value["mean"] * scale
    spread = "" if math.isnan(value["ci95"]) else f" ± {value['ci95'] * scale:.{digits}f}"
    return f"{mean:.{digits}f}{spread} (n={value['n']})"


def fmt_pub(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
