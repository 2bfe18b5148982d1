"""The published numbers: data files in `paper_tables/` (shipped inside the package too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..yaml_io import safe_load


def published_dir() -> Path:
    from ..paths import resource_dir
    return resource_dir("paper_tables")


def load_published(name: str) -> dict[str, Any]:
    return safe_load((published_dir() / name).read_text())
