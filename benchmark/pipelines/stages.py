"""A pipeline's stage run (DoReMi's reference and proxy, DoGE's proxy, Skill-It's graph runs):
reused when its completed record is already there, trained otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model_export import record_model_dir
from ..runner import PreparedRun, execute


def cached_or_run(prepared: PreparedRun, stage_dir: Path, require_model: bool = False,
                  **kwargs: Any) -> dict[str, Any]:
    """The stage's record (`_cached: True` when reused). With `require_model`, a cached record only
    counts if its saved model is there too (a later stage loads it)."""
    record_file = stage_dir / "records" / f"{prepared.config.run_id}.json"
    if record_file.exists():
        record = json.loads(record_file.read_text())
        usable = not require_model or record_model_dir(stage_dir, record) is not None
        if record.get("status") == "completed" and usable:
            return {**record, "_cached": True}
    record, _ = execute(prepared, stage_dir, track=False, **kwargs)
    return record
