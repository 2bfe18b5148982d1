"""Headless figures for the tables: pyplot on first use, saving, published-vs-ours bar charts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cells import NOT_RUN

if TYPE_CHECKING:
    from .table import Table


def pyplot() -> Any:
    """matplotlib, headless, imported on first use (keeps the CLI's start-up fast)."""
    from ..plots import plt
    return plt


def save(fig: Any, path: Path) -> Path:
    from ..plots import save_figure
    return save_figure(fig, path, dpi=90, bbox_inches="tight")


def bar_figure(table: Table, path: Path, title: str, label_of: Any, scale: float = 1.0) -> Path:
    plt = pyplot()
    items = [d for d in table.data if d.get("published") is not None or d.get("ours")]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(items) + 2), 4))
    x = np.arange(len(items))
    published = [d["published"] if d["published"] is not None else np.nan for d in items]
    ours = [d["ours"]["mean"] * scale if d["ours"] else np.nan for d in items]
    errors = [0.0 if not d["ours"] or math.isnan(d["ours"]["ci95"]) else d["ours"]["ci95"] * scale for d in items]
    ax.bar(x - 0.2, published, width=0.4, label="published", color="#9aa7bd")
    ax.bar(x + 0.2, ours, width=0.4, yerr=errors, capsize=3, label="ours (95% CI)", color="#3b6fb6")
    for i, d in enumerate(items):
        if not d["ours"]:
            ax.text(i + 0.2, np.nanmin(published) if not all(np.isnan(published)) else 0, NOT_RUN, rotation=90,
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels([label_of(d) for d in items], rotation=35, ha="right", fontsize=8)
    finite = [v for v in published + ours if not np.isnan(v)]
    if finite:
        low, high = min(finite), max(finite)
        ax.set_ylim(max(0.0, low - 0.15 * (high - low + 1e-9) - 0.02 * high), high + 0.15 * (high - low + 1e-9) + 0.01 * high)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return save(fig, path)
