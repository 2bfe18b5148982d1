"""The study's figures: optimisation history and hyperparameter importance."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .common import OBJECTIVE, load_optuna


def _labels(study: Any) -> tuple[str, bool]:
    """(the objective's name, whether the study maximises it)."""
    names = getattr(study, "metric_names", None)
    return (names[0] if names else OBJECTIVE), study.direction.name == "MAXIMIZE"


def plot_history(study: Any, path: Path) -> Path:
    """Objective by trial (best so far in red) beside every trial's reported values by global step."""
    from ..plots import plt, save_figure

    trials = study.get_trials(deepcopy=False)
    name, maximize = _labels(study)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    done = [t for t in trials if t.state.name == "COMPLETE"]
    ax.scatter([t.number for t in done], [t.value for t in done], label="complete", color="tab:blue", zorder=3)
    pruned = [t for t in trials if t.state.name == "PRUNED" and t.intermediate_values]
    ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
               marker="x", color="grey", label="pruned (last report)")
    if done:
        order = sorted(done, key=lambda t: t.number)
        best, xs, ys = (-math.inf if maximize else math.inf), [], []
        for t in order:
            best = max(best, t.value) if maximize else min(best, t.value)
            xs.append(t.number)
            ys.append(best)
        ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(name)
    ax.set_title(f"optimisation history — {study.study_name}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    for t in trials:
        if t.intermediate_values:
            steps = sorted(t.intermediate_values)
            ax2.plot(steps, [t.intermediate_values[s] for s in steps], marker=".",
                     color="grey" if t.state.name == "PRUNED" else "tab:blue", alpha=0.7)
    ax2.set_xlabel("global step")
    ax2.set_ylabel(f"reported {name}")
    ax2.set_title("intermediate values (grey: pruned)", fontsize=10)
    ax2.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def param_importances(study: Any) -> tuple[dict[str, float] | None, str]:
    """(importance by hyperparameter, how it was computed), or (None, why not)."""
    optuna = load_optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        return None, f"parameter importance needs at least 2 completed trials (this study has {len(complete)})"
    try:
        return dict(optuna.importance.get_param_importances(study)), "PED-ANOVA (optuna.importance default)"
    except Exception as exc:  # noqa: BLE001 — e.g. all trials identical
        return None, f"parameter importance not available: {type(exc).__name__}: {exc}"


def plot_importance(study: Any, path: Path) -> tuple[Path, dict[str, float] | None, str]:
    """Bar chart of the importances, or the reason there are none; returns (png, importances, method)."""
    from ..plots import plt, save_figure

    importances, how = param_importances(study)
    fig, ax = plt.subplots(figsize=(6, 3))
    if importances:
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set_xlabel("importance (normalised)")
        ax.set_title(f"hyperparameter importance — {how}", fontsize=9)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, how, ha="center", va="center", wrap=True, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90), importances, how
