"""RegMix's rank-correlation table (linear and LightGBM at 1M, 60M, 1B), published beside our replay,
and a predicted-vs-measured scatter at 1B. Published numbers: paper_tables/regmix_replay.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .figures import pyplot, save
from .published import load_published
from .table import Table

if TYPE_CHECKING:
    from ..replay.runner import ReplayResult

PUBLISHED_FILE = "regmix_replay.yaml"
ROWS = [("Linear (ridge, 5-fold CV)", "ridge", "linear"),
        ("LightGBM, early stop on held-out training runs", "lightgbm", "lightgbm"),
        ("LightGBM, notebook protocol (early stop on 1M test set)", "lightgbm-notebook", "lightgbm")]


def published_rho(published: dict[str, Any], model: str, scale: str, section: str = "table2") -> float | None:
    for row in published.get(section, {}).get("rows", []):
        if row["model"] == model and row["scale"] == scale:
            return float(row["spearman"])
    return None


def ours_cell(result: ReplayResult | None) -> str:
    if result is None:
        return "not run"
    s = result.score
    return f"{100 * s.spearman:.2f} [{100 * s.ci_low:.2f}, {100 * s.ci_high:.2f}]"


def regmix_replay_table(results: list[ReplayResult], published: dict[str, Any] | None = None) -> Table:
    """One row per (regressor, scale): published Spearman ρ (%), ours with its bootstrap 95% CI."""
    published = published if published is not None else load_published(PUBLISHED_FILE)
    by_key = {(r.method, r.scale): r for r in results}
    scales = list(dict.fromkeys(r.scale for r in results)) or ["1M", "60M", "1B"]
    rows, data = [], []
    for label, method, model in ROWS:
        for scale in scales:
            pub = published_rho(published, model, scale)
            notebook = published_rho(published, model, scale, "notebook") if method == "lightgbm-notebook" else None
            ours = by_key.get((method, scale))
            pub_text = "—" if pub is None else f"{pub:.2f}" + (f" (notebook: {notebook:.2f})" if notebook else "")
            rows.append([label, scale, pub_text, ours_cell(ours)])
            data.append({"method": method, "scale": scale, "published": pub, "notebook": notebook,
                         "ours": None if ours is None else 100 * ours.score.spearman})
    notes = [f"Published: {published['table2']['where']} ({published['table2']['status']}); notebook value: "
             f"{published['notebook']['where']} ({published['notebook']['status']}).",
             "Ours: Spearman ρ × 100 between predicted and measured Pile-CC validation loss, percentile bootstrap "
             "95% CI (1000 resamples); fitted on the 512 released 1M runs (python -m benchmark replay --paper-table).",
             "The same published LightGBM number stands beside both early-stopping protocols; the paper does "
             "not say which one produced it."]
    return Table("regmix_replay", "RegMix rank correlation (Spearman ρ, %) — published vs replay",
                 ["regressor", "scale", "published", "ours [95% CI]"], rows, data, notes)


def scatter_figure(results: list[ReplayResult], path: Path, scale: str = "1B") -> Path:
    """Predicted vs measured target loss at one scale, one panel per scored (non-analytic) method."""
    chosen = [r for r in results if r.scale == scale and not r.score.analytic]
    plt = pyplot()
    fig, axes = plt.subplots(1, max(1, len(chosen)), figsize=(3.2 * max(1, len(chosen)), 3.3), squeeze=False)
    for ax, result in zip(axes[0], chosen):
        ax.scatter(result.predicted, result.measured, s=14, color="#3b6fb6", alpha=0.8)
        ax.set_title(f"{result.method}\nρ = {result.score.spearman:.3f}", fontsize=9)
        ax.set_xlabel("predicted loss (score)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(f"measured Pile-CC loss at {scale}", fontsize=8)
    fig.suptitle(f"Replay: predicted vs measured target loss, {scale} test mixtures", fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def write_regmix_replay(results: list[ReplayResult], output_dir: Path, png: bool = True) -> tuple[Table, list[Path]]:
    """regmix_replay.md/.tex(/.png) and regmix_replay_1b_scatter.png in `output_dir`."""
    from ..records import write_text_atomic

    output_dir.mkdir(parents=True, exist_ok=True)
    table = regmix_replay_table(results)
    files = [write_text_atomic(output_dir / f"{table.name}.md", table.markdown()),
             write_text_atomic(output_dir / f"{table.name}.tex", table.latex())]
    if png:
        files += [table.png(output_dir / f"{table.name}.png"),
                  scatter_figure(results, output_dir / f"{table.name}_1b_scatter.png")]
    return table, files
