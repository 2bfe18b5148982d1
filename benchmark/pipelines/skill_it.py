"""Skill-It end to end: learn the skills graph from short single-skill runs → the online run on it.

1. Graph learning (the paper's brute-force LearnGraph; the released skill-it code loads a given
   graph instead, and Aioli's HazyResearch/aioli `mixing_law_fitting.skills_graph` builds one from
   runs like these): for every domain i, a `fixed` run training on domain i alone for
   H = round(graph_steps_fraction · main steps) steps, from the same initial model as every other
   stage run (same seed and model config). With L_j(f) the initial model's held-out loss on j and
   L_j(f_{H,i}) that of the run trained on i (its last `val_loss` evaluation, at step H):
       normalize="relative" (default, Aioli's normalised graphs): A_ij = (L_j(f) − L_j(f_{H,i})) / L_j(f)
       normalize="none" (the paper's raw loss decrease):          A_ij =  L_j(f) − L_j(f_{H,i})
   The records' curves start at the first evaluation step, so L_j(f) is measured here once, on a
   model built exactly as a stage run builds it; its forward tokens are charged.
2. The online run: the recipe's `skill-it` strategy with graph = A, through `execute`. Its record
   carries `skill_it` (graph, initial losses, stage run ids, options) and every stage run in
   `compute.extra_runs`.
Stage runs are cached by their run id (config hash) under <output>/pipeline, as DoReMi's stages:
a rerun, another seed of the same settings or a resumed run reuses them.
A recipe whose graph is "identity" or a matrix skips stage 1.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..compute import FORWARD, count_params, extra_run
from ..config import ConfigError, RunConfig
from ..runner import PreparedRun, execute, prepare_run
from ..strategies import get_strategy_class
from .over_runs import proxy_task
from .stages import cached_or_run

PIPELINE_DEFAULTS: dict[str, Any] = {
    # Per single-skill run, relative to the main run's steps: Aioli's 7-domain graph reads the runs
    # at step 2857 of a 40000-step budget (mixing_law_fitting.skills_graph, end=2857).
    "graph_steps_fraction": 2857 / 40000,
    "normalize": "relative",
}
NORMALIZATIONS = ("relative", "none")


def pipeline_options(config: RunConfig) -> dict[str, Any]:
    given = dict(config.recipe.get("pipeline_options") or {})
    quick = given.pop("quick", None) or {}
    options = {**PIPELINE_DEFAULTS, **given, **(quick if config.quick else {})}
    unknown = sorted(set(options) - set(PIPELINE_DEFAULTS))
    if unknown:
        raise ConfigError(f"pipeline_options.{unknown[0]}: unknown option for skill-it; allowed: "
                          f"{', '.join(PIPELINE_DEFAULTS)}")
    fraction = options["graph_steps_fraction"]
    if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
        raise ConfigError(f"pipeline_options.graph_steps_fraction: a number in (0, 1], got {fraction!r}")
    if options["normalize"] not in NORMALIZATIONS:
        raise ConfigError(f"pipeline_options.normalize: one of {list(NORMALIZATIONS)}, got {options['normalize']!r}")
    return options


def graph_from_losses(initial: np.ndarray, after: np.ndarray, normalize: str) -> np.ndarray:
    """A[i, j] from the initial losses L_j(f) and after[i, j] = L_j(f_{H,i})."""
    initial = np.asarray(initial, dtype=np.float64)
    decrease = initial[None, :] - np.asarray(after, dtype=np.float64)
    return decrease / initial[None, :] if normalize == "relative" else decrease


def final_val_losses(record: dict[str, Any]) -> np.ndarray:
    """The held-out losses of a stage run's last evaluation (the callback always evaluates the last step)."""
    curves = record.get("curves") or {}
    if not curves.get("val_loss"):
        raise ValueError(f"skill-it: stage run {record.get('run_id')} recorded no validation losses")
    return np.asarray(curves["val_loss"][-1], dtype=np.float64)


def single_skill_config(config: RunConfig, domain: str, domains: list[str], fraction: float) -> RunConfig:
    task = proxy_task(config, {"proxy_overrides": [], "proxy_steps_fraction": fraction})
    recipe = {"name": f"skill-it-graph-{domain}", "strategy": "fixed",
              "hyperparameters": {"weights": {d: float(d == domain) for d in domains}, "normalize": True},
              "description": f"Skill-It graph learning: train on {domain} only"}
    return RunConfig(config.task_name, task, recipe, config.seed, config.quick)


def initial_losses(prepared: PreparedRun) -> tuple[np.ndarray, dict[str, Any]]:
    """Held-out losses of the model every stage run starts from, and its extra_runs entry."""
    from ..evaluation.per_domain import evaluate_per_domain
    from ..training.fit import seed_everything
    from ..training.model import build_model

    config, data = prepared.config, prepared.data
    start = time.perf_counter()
    seed_everything(config.seed)       # as training/fit.py pretrain_parts builds a run's model
    model = build_model(config.task["model"], data.vocab_size, config.seed)
    losses = evaluate_per_domain(model, data.validation_blocks, config.task["training"].get("eval_batch_size", 64),
                                 data.token_offset)
    tokens = sum(len(b) * max(len(b[0]) - 1, 0) for b in data.validation_blocks if len(b))
    entry = {"kind": "skill-it-initial-eval", "run_id": None, "steps": 0, "tokens": 0, "forward_tokens": int(tokens),
             "flops": float(FORWARD * count_params(model) * tokens), "seconds": time.perf_counter() - start}
    return np.asarray(losses, dtype=np.float64), entry


def learn_graph(prepared: PreparedRun, options: dict[str, Any], stage_dir: Path,
                **quiet: Any) -> tuple[np.ndarray, dict[str, Any], list[dict[str, Any]]]:
    domains = list(prepared.data.domains)
    records = []
    for domain in domains:
        stage = prepare_run(single_skill_config(prepared.config, domain, domains, options["graph_steps_fraction"]),
                            stage_dir)
        records.append(cached_or_run(stage, stage_dir, annotate={"pipeline_stage": f"skill-it-graph:{domain}"},
                                     **quiet))
    initial, initial_entry = initial_losses(prepared)
    after = np.stack([final_val_losses(r) for r in records])
    graph = graph_from_losses(initial, after, options["normalize"])
    summary = {"graph": graph.tolist(), "initial_losses": initial.tolist(), "after_losses": after.tolist(),
               "graph_steps": records[0]["compute"]["steps"] if records[0].get("compute") else None,
               "graph_runs": {d: r["run_id"] for d, r in zip(domains, records)}}
    charged = [extra_run(r, "skill-it-graph", domain=d, reused_from_cache=bool(r.get("_cached")))
               for d, r in zip(domains, records)] + [initial_entry]
    return graph, summary, charged


def online_run(prepared: PreparedRun, graph: np.ndarray) -> PreparedRun:
    """The main run: the recipe's config (one config hash across seeds) with the graph filled in."""
    config = prepared.config
    hyperparameters = {**config.recipe["hyperparameters"], "graph": graph.tolist()}
    strategy = get_strategy_class(config.recipe["strategy"])(
        prepared.data.domains, prepared.data.sizes, seed=config.seed,
        log_every=config.task["training"].get("log_every", 1), **hyperparameters)
    return dataclasses.replace(prepared, strategy=strategy)


def run_skill_it(prepared: PreparedRun, output_dir: Path, **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    config = prepared.config
    options = pipeline_options(config)
    if config.recipe["hyperparameters"].get("graph") != "learned":
        return execute(prepared, output_dir, annotate={"skill_it": {"graph": "given", "options": options}},
                       **execute_kwargs)
    quiet = {k: v for k, v in execute_kwargs.items()
             if k in ("progress", "devices", "accelerator", "num_nodes", "parallel")}
    graph, summary, charged = learn_graph(prepared, options, output_dir / "pipeline", **quiet)
    annotate = {"skill_it": {**summary, "options": options}, "compute": {"extra_runs": charged}}
    return execute(online_run(prepared, graph), output_dir, annotate=annotate, **execute_kwargs)
