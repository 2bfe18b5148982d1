"""PNG figures of a run (headless matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_mixture(record: dict[str, Any], path: Path) -> Path:
    mixture = record["mixture"]
    steps = np.asarray(mixture["steps"])
    weights = np.asarray(mixture["weights"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.stackplot(steps, weights.T, labels=mixture["domains"], step="post")
    ax.set_xlim(steps.min(), steps.max())
    ax.set_ylim(0, 1)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("sampling probability")
    ax.set_title(f"{record['method']} on {record['task']} (seed {record['seed']})")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def save_figure(fig: Any, path: Path, dpi: int = 90, **savefig_kwargs: Any) -> Path:
    """Save a figure (creating its folder) and close it: long report runs would otherwise keep
    every figure in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, **savefig_kwargs)
    plt.close(fig)
    return path
