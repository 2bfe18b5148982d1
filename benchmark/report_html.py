"""A self-contained HTML leaderboard: tables + PNG figures embedded as base64, one inline script.

No external files, no network: the page opens from disk or an artifact store as is. The inline script
sorts a table by a clicked column and filters rows by method / task / benchmark
(`leaderboard.html_assets`). Rows link to their result records (paths relative to the page) and, given
the MLflow server's address, to their MLflow runs.
Figures (headless matplotlib): bars with 95% CI per metric (seeds as dots), validation average
perplexity vs step and per-domain validation perplexity curves (mean over seeds; log-scale steps when
the first evaluations dominate), each method's mixture trajectory (mean over seeds) — on FLAD
benchmarks, per target, the top arms plus "other", the truly helpful arms marked.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .records import is_comparable  # noqa: E402
from .leaderboard import AUTO_BASELINES, METRICS, benchmark_sections, curve_avg_ppl  # noqa: E402
from .leaderboard.html_assets import CSS, controls_html, script_html  # noqa: E402
from .leaderboard.html_tables import domain_table, flad_target_table, leaderboard_table  # noqa: E402


def png_base64(fig: Any, dpi: int = 80) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def mean_curve(runs: list[dict[str, Any]], read: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs at the evaluation steps all of them share; `read(losses) -> value`."""
    per_run = []
    for run in runs:
        curves = run.get("curves") or {}
        per_run.append({int(s): read(v) for s, v in zip(curves.get("eval_steps", []), curves.get("val_loss", []))})
    if not per_run:
        return np.array([]), np.array([])
    steps = sorted(set.intersection(*(set(p) for p in per_run)))
    return np.array(steps), np.array([np.mean([p[s] for p in per_run]) for s in steps])


def plot_avg_ppl_vs_steps(groups: dict[str, list[dict[str, Any]]], title: str, ax: Any = None,
                          reference: tuple[str, float] | None = None, log_steps: bool = False) -> Any:
    """Validation average perplexity (ODM's metric) vs optimizer step, mean over seeds per group; with
    `log_steps`, a log-scale step axis."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    distinct_colours(ax, len(groups))
    plotted = []
    for label, runs in groups.items():
        steps, values = mean_curve(runs, curve_avg_ppl)
        if len(steps):
            ax.plot(steps, values, marker="o", markersize=3, label=f"{label} (n={len(runs)})")
            plotted += list(values)
    if reference is not None:
        ax.axhline(reference[1], color="grey", linestyle="--", linewidth=1, label=reference[0])
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation average perplexity")
    if plotted and min(plotted) > 0 and max(plotted) / min(plotted) > 5:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    if log_steps:
        log_step_axis(ax)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    return fig if fig is not None else ax.figure


def distinct_colours(ax: Any, count: int) -> None:
    """More than 10 lines: 20 colours instead of matplotlib's 10, so no two methods share one."""
    if count > 10:
        ax.set_prop_cycle(color=[plt.cm.tab20(i) for i in [*range(0, 20, 2), *range(1, 20, 2)]])


def front_loaded(steps: np.ndarray, values: np.ndarray) -> bool:
    """Whether the first quarter of the step range holds over half of the curve's change: its early drop
    squeezes the rest of the curve, and a log-scale step axis shows both."""
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if len(steps) < 3 or steps.min() <= 0 or steps.max() / steps.min() < 4:
        return False
    early = values[steps <= steps.min() + (steps.max() - steps.min()) / 4]
    spread = float(values.max() - values.min())
    return spread > 0 and float(early.max() - early.min()) > spread / 2


def plain_log_ticks(axis: Any) -> None:
    """Ticks of a log-scale axis at 1, 2, 3, 5 × 10^k, labelled as plain numbers (50, 100, 200, …)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axis.set_minor_formatter(NullFormatter())


def log_step_axis(ax: Any) -> None:
    """A log-scale x axis labelled with plain step numbers."""
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    if ax.get_xlabel() and "log" not in ax.get_xlabel():
        ax.set_xlabel(ax.get_xlabel() + " (log scale)")


def _curves_front_loaded(runs_of: dict[str, list[dict[str, Any]]]) -> bool:
    """Log-scale steps for a benchmark's curves when any method's mean validation curve is front-loaded."""
    return any(front_loaded(*mean_curve(runs, curve_avg_ppl)) for runs in runs_of.values() if runs)


def _bars(rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]]) -> Any | None:
    metrics = [m for m in METRICS if any(r[m[0]] for r in rows)]
    if not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    names = [r["method"] for r in rows]
    colours = plt.cm.tab10(np.arange(len(rows)) % 10)
    for ax, (column, read, low) in zip(axes[0], metrics):
        means = [r[column]["mean"] if r[column] else np.nan for r in rows]
        errors = [r[column]["ci95"] if r[column] and not math.isnan(r[column]["ci95"]) else 0.0 for r in rows]
        x = np.arange(len(rows))
        ax.bar(x, means, yerr=errors, color=colours, capsize=4, alpha=0.85)
        for i, row in enumerate(rows):
            values = row[column]["values"] if row[column] else []      # one value per seed
            ax.scatter([i] * len(values), values, color="black", s=9, zorder=3)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=40, ha="right", fontsize=8)
        ax.set_title(f"{column} ({'lower' if low else 'higher'} is better)", fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("mean ± 95% CI over seeds (dots: seeds), test split", fontsize=10)
    fig.tight_layout()
    return fig


def _has_val_curves(runs_of: dict[str, list[dict[str, Any]]]) -> bool:
    return any((r.get("curves") or {}).get("val_loss") for runs in runs_of.values() for r in runs)


def _panel_grid(count: int, max_cols: int, panel_size: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A figure with `count` small panels in rows of at most `max_cols` (spare cells hidden)."""
    cols = min(max_cols, count)
    nrows = math.ceil(count / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(panel_size[0] * cols, panel_size[1] * nrows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.axis("off")
    return fig, flat[:count]


def _finish_panels(fig: Any, first_axis: Any, title: str, legend_cols: int, bottom: float, top: float,
                   legend: tuple[list[Any], list[str]] | None = None) -> Any:
    """One legend for all panels (`legend`, else the first panel's), a title, and a tight layout."""
    handles, labels = legend or first_axis.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(legend_cols, len(labels) or 1), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, bottom, 1, top))
    return fig


def _domain_curves(rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]],
                   log_steps: bool = False) -> Any | None:
    if not _has_val_curves(runs_of):
        return None   # e.g. FLAD records: validation accuracy, no per-domain losses
    domains = next((r.get("mixture", {}).get("domains") for runs in runs_of.values() for r in runs
                    if r.get("mixture", {}).get("domains")), None)
    if not domains:
        return None
    fig, axes = _panel_grid(len(domains), 5, (3.2, 2.6))
    for d, (domain, ax) in enumerate(zip(domains, axes)):
        distinct_colours(ax, len(rows))
        for row in rows:
            steps, values = mean_curve(runs_of[row["method"]], lambda losses, d=d: math.exp(min(losses[d], 50.0)))
            if len(steps):
                ax.plot(steps, values, label=row["method"], linewidth=1.2)
        if log_steps:
            log_step_axis(ax)
        ax.set_title(domain, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    scale = " (log-scale steps)" if log_steps else ""
    return _finish_panels(fig, axes[0], f"per-domain validation perplexity vs step{scale} (mean over seeds)", 6,
                          0.06, 0.97)


def mean_trajectory(runs: list[dict[str, Any]]) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    per_run = []
    domains = None
    for run in runs:
        mixture = run.get("mixture") or {}
        if mixture.get("steps") and mixture.get("weights"):
            domains = mixture["domains"]
            per_run.append({int(s): w for s, w in zip(mixture["steps"], mixture["weights"])})
    if not per_run:
        return None
    steps = sorted(set.intersection(*(set(p) for p in per_run)))
    if not steps:
        return None
    weights = np.array([np.mean([p[s] for p in per_run], axis=0) for s in steps])
    return domains, np.array(steps), weights


def _trajectories(rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]]) -> Any | None:
    items = [(row["method"], mean_trajectory(runs_of[row["method"]])) for row in rows]
    items = [(name, t) for name, t in items if t is not None]
    if not items:
        return None
    fig, axes = _panel_grid(len(items), 3, (4.6, 2.9))
    for ax, (name, (domains, steps, weights)) in zip(axes, items):
        ax.stackplot(steps, weights.T, labels=domains, step="post")
        ax.set_xlim(steps.min(), max(steps.max(), steps.min() + 1))
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    return _finish_panels(fig, axes[0], "mixture trajectories: sampling probability per domain vs step (mean over seeds)",
                          10, 0.08, 0.96)


TOP_ARMS = 5                  # FLAD mixture panels: at most this many arms besides the marked ones, then "other"
ABOVE_UNIFORM = 1.5           # ... each with a mean mass at least this many times the uniform one
OTHER_COLOUR = "#cfd3da"
ROLE_LABEL = {"helpful": " (helpful)", "harmful": " (harmful)", "transient": " (transient)", "target": " (target)"}
ROLE_HATCH = {"helpful": "///", "harmful": "xx", "transient": ".."}
ROLE_ORDER = {"helpful": 0, "target": 1, "transient": 2, "harmful": 3}   # bands from the bottom, legend entries first


def arm_groups(domains: list[str], weights: np.ndarray, roles: dict[str, str],
               top: int = TOP_ARMS) -> list[tuple[str, np.ndarray]]:
    """The bands of a FLAD mixture panel, bottom to top: the truly helpful arms, the target arm (mixed
    methods), the harmful arms, the `top` other arms with the most mean mass (when clearly above uniform),
    then "other" (the sum of the rest)."""
    mean = weights.mean(axis=0)
    special = sorted((i for i, d in enumerate(domains) if roles.get(d) in ROLE_ORDER),
                     key=lambda i: ROLE_ORDER[roles[domains[i]]])
    others = [int(i) for i in np.argsort(-mean, kind="stable")
              if i not in special and mean[i] >= ABOVE_UNIFORM / len(domains)][:top]
    rest = [i for i in range(len(domains)) if i not in special and i not in others]
    groups = [(domains[i], weights[:, i]) for i in special + others]
    return groups + ([("other", weights[:, rest].sum(axis=1))] if rest else [])


def _arm_colours(arms: list[str], roles: dict[str, str]) -> dict[str, Any]:
    """One colour per arm across a figure's panels: greens for helpful, reds for harmful, grey for "other"."""
    def shades(cmap: Any, role: str) -> dict[str, Any]:
        names = sorted(a for a in arms if roles.get(a) == role)
        return dict(zip(names, cmap(np.linspace(0.45, 0.8, len(names)))))
    palette = [plt.cm.tab20(i) for i in (0, 2, 8, 16, 18, 1, 3, 9, 12, 14, 17, 19, 10, 11, 13, 15)]
    plain = sorted(a for a in arms if roles.get(a) not in ROLE_ORDER and a != "other")
    colours = {a: palette[i % len(palette)] for i, a in enumerate(plain)}
    colours.update(shades(plt.cm.Greens, "helpful"))
    colours.update(shades(plt.cm.Reds, "harmful"))
    colours.update(shades(plt.cm.Oranges, "transient"))
    colours.update({a: "#2f4b7c" for a in arms if roles.get(a) == "target"})
    return {**colours, "other": OTHER_COLOUR}


def _arm_legend(colours: dict[str, Any], roles: dict[str, str]) -> tuple[list[Any], list[str]]:
    from matplotlib.patches import Patch

    order = sorted(colours, key=lambda a: (ROLE_ORDER.get(roles.get(a, ""), 3), a == "other", a))
    labels = [a + ROLE_LABEL.get(roles.get(a, ""), "") for a in order]
    handles = [Patch(facecolor=colours[a], hatch=ROLE_HATCH.get(roles.get(a, ""), ""), edgecolor="#1d2330",
                     linewidth=0.3) for a in order]
    return handles, labels


def _flad_items(rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]], target: str) -> list[tuple]:
    """(method, steps, bands, roles) per row with a mixture trajectory on `target` (mean over split seeds)."""
    from .leaderboard import record_target

    items = []
    for row in rows:
        runs = [r for r in runs_of[row["method"]] if record_target(r) == target]
        trajectory = mean_trajectory(runs)
        if trajectory is not None:
            roles = (runs[0].get("flad") or {}).get("arm_roles") or {}
            domains, steps, weights = trajectory
            items.append((row["method"], steps, arm_groups(domains, weights, roles), roles))
    return items


def _flad_mixtures(rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]], target: str) -> Any | None:
    """One panel per method: the sampling mass of the top arms on `target`, the truly helpful arms
    (the benchmark's ground truth, record["flad"]["arm_roles"]) hatched in green, the rest as "other"."""
    items = _flad_items(rows, runs_of, target)
    if not items:
        return None
    roles = {arm: role for *_, item_roles in items for arm, role in item_roles.items()}
    colours = _arm_colours(sorted({arm for _, _, bands, _ in items for arm, _ in bands}), roles)
    fig, axes = _panel_grid(len(items), 4, (3.6, 2.5))
    for ax, (name, steps, bands, _) in zip(axes, items):
        polys = ax.stackplot(steps, [b for _, b in bands], colors=[colours[a] for a, _ in bands], step="post")
        for poly, (arm, _) in zip(polys, bands):
            poly.set_hatch(ROLE_HATCH.get(roles.get(arm, ""), ""))
            poly.set_edgecolor("#1d2330" if roles.get(arm) in ROLE_HATCH else "face")
            poly.set_linewidth(0.3)
        ax.set_xlim(steps.min(), max(steps.max(), steps.min() + 1))
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    title = (f"target {target}: sampling probability vs step (mean over split seeds)\nhatched: truly helpful (green) "
             f"and harmful (red) arms of the benchmark's ground truth, then up to {TOP_ARMS} arms sampled over "
             f"{ABOVE_UNIFORM:g}× uniform, then the rest")
    return _finish_panels(fig, axes[0], title, 6, 0.12, 0.95, legend=_arm_legend(colours, roles))


def _figure(fig: Any, caption: str) -> str:
    if fig is None:
        return ""
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png_base64(fig)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


INTRO = ("Each row: mean ± 95% t confidence interval over seeds (test split). Δ is the paired difference against "
         "the baseline over shared seeds. Steps to target: first evaluation step at which the validation average "
         "perplexity reaches the baseline's final one. Average perplexity (ODM's metric) is dominated by "
         "high-entropy domains: read it together with excess loss, worst-domain perplexity and downstream "
         "accuracy. Bold: best mean per metric. Columns empty for every row are left out. The last column links "
         "each row's result records (seed[:target])")


def render_html(rows: list[dict[str, Any]], records: list[dict[str, Any]], sort_by: str = "avg ppl",
                plots: bool = True, title: str = "Data-mixing benchmark leaderboard", base_dir: Path | None = None,
                mlflow_url: str | None = None) -> str:
    """The page: one section per benchmark. Record links are relative to `base_dir` (the folder the page is
    written to; default: the working directory); `mlflow_url` (http(s)) adds links to the MLflow runs."""
    by_run_id = {r.get("run_id"): r for r in records if is_comparable(r)}
    sections = benchmark_sections(rows, sort_by)
    mlflow = f" and, where tracked, its MLflow run ({mlflow_url})" if mlflow_url else ""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='note'>Generated {html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))} from "
             f"{len(by_run_id)} completed result record(s). {html.escape(INTRO + mlflow)}.</p>",
             controls_html([s.bench for s in sections])]
    for section in sections:
        runs_of = {r["method"]: [by_run_id[i] for i in r.get("run_ids", []) if i in by_run_id] for r in section.rows}
        parts.append(_section(section, runs_of, plots, base_dir, mlflow_url))
    parts += [script_html(), "</body></html>"]
    return "\n".join(parts)


def _section(section: Any, runs_of: dict[str, list[dict[str, Any]]], plots: bool, base_dir: Path | None,
             mlflow_url: str | None) -> str:
    """One benchmark: leaderboard, per-target (FLAD) and per-domain tables, figures, provenance."""
    bench = html.escape(section.bench)
    parts = [f'<section class="bench" data-bench="{bench}">', f"<h2>{bench}</h2>"]
    if section.baseline is None:
        parts.append(f"<p class='note'>No baseline runs ({html.escape(' / '.join(AUTO_BASELINES))}) in this "
                     "benchmark: paired differences and steps-to-target are not available.</p>")
    parts.append(leaderboard_table(section, runs_of, base_dir, mlflow_url))
    for heading, table in (("Per-target test accuracy", flad_target_table(section.rows, runs_of)),
                           ("Per-domain final metrics", domain_table(section.rows, runs_of))):
        if table:
            parts += [f"<h3>{heading}</h3>", table]
    if plots:
        parts += _plots(section.bench, section.rows, runs_of)
    parts += [_details(section.rows), "</section>"]
    return "\n".join(parts)


def _plots(bench: str, task_rows: list[dict[str, Any]], runs_of: dict[str, list[dict[str, Any]]]) -> list[str]:
    parts = ["<h3>Final metrics</h3>", _figure(_bars(task_rows, runs_of), f"{bench}: metrics with 95% CI")]
    if _has_val_curves(runs_of):
        log_steps = _curves_front_loaded(runs_of)
        parts += ["<h3>Validation curves</h3>",
                  _figure(plot_avg_ppl_vs_steps(runs_of, f"{bench}: validation average perplexity",
                                                log_steps=log_steps), f"{bench}: validation average perplexity vs step"),
                  _figure(_domain_curves(task_rows, runs_of, log_steps), f"{bench}: per-domain validation perplexity")]
    parts.append("<h3>Mixture trajectories</h3>")
    targets = sorted({t for row in task_rows for t in row.get("targets") or []})
    if not targets:
        return parts + [_figure(_trajectories(task_rows, runs_of), f"{bench}: mixture trajectories")]
    return parts + [_figure(_flad_mixtures(task_rows, runs_of, t), f"{bench}: mixture on target {t}") for t in targets]


def _details(task_rows: list[dict[str, Any]]) -> str:
    """Per-row provenance: seeds, run ids, hyperparameters, extra compute."""
    out = ["<details><summary>runs behind each row</summary><ul>"]
    for row in task_rows:
        variant = ", ".join(f"{k}={v}" for k, v in sorted(row.get("variant", {}).items())) or "(recipe defaults)"
        out.append(f"<li><b>{html.escape(row['method'])}</b> [{html.escape(str(row.get('strategy')))}] "
                   f"{html.escape(variant)} — seeds {html.escape(str(row['seeds']))}: "
                   f"{html.escape(', '.join(str(i) for i in row.get('run_ids', [])))}</li>")
    out.append("</ul></details>")
    return "\n".join(out)
