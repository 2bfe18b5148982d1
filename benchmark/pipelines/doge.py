"""DoGE end to end: proxy run (gradient-alignment mirror descent) → main run on the averaged weights.

1. Proxy: a fresh model of the task (or `proxy_overrides`, e.g. a smaller one) trained with the
   recipe's strategy (`doge-proxy`, or `doge-ood-proxy` against `--target`) for
   `proxy_steps_fraction` of the main budget: uniform sampling, per-domain gradients every step,
   the proxy updated along Σ_i α_i·g_i; its output is ᾱ (the proxy logs it as its reward trajectory).
2. Main: the task's model trained on ᾱ as a fixed mixture. Its record carries ᾱ, the proxy's run
   id and its compute in `compute.extra_runs`.
The proxy run is cached by its config hash: a second DoGE run with the same settings reuses it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..config import ConfigError, RunConfig, apply_overrides
from ..runner import PreparedRun, execute, prepare_run
from .doremi import _extra_run
from .stages import cached_or_run
from .over_runs import final_run

PIPELINE_DEFAULTS: dict[str, Any] = {"proxy_steps_fraction": 1.0, "proxy_overrides": []}


def proxy_config(config: RunConfig, options: dict[str, Any]) -> RunConfig:
    """The proxy stage: the recipe's strategy and hyperparameters on the task at the proxy budget."""
    task = copy.deepcopy(config.task)
    apply_overrides(task, {"hyperparameters": {}}, list(options["proxy_overrides"]))
    task["training"]["steps"] = max(1, int(round(task["training"]["steps"] * options["proxy_steps_fraction"])))
    recipe = {"name": "doge-proxy", "strategy": config.recipe["strategy"],
              "hyperparameters": dict(config.recipe["hyperparameters"]), "description": "DoGE pipeline stage (proxy)"}
    return RunConfig(config.task_name, task, recipe, config.seed, config.quick)


def run_doge(prepared: PreparedRun, output_dir: Path, **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    config = prepared.config
    options = {**PIPELINE_DEFAULTS, **(config.recipe.get("pipeline_options") or {})}
    unknown = sorted(set(options) - set(PIPELINE_DEFAULTS))
    if unknown:
        raise ConfigError(f"pipeline_options.{unknown[0]}: unknown option for doge; allowed: "
                          f"{', '.join(sorted(PIPELINE_DEFAULTS))}")
    stage_dir = output_dir / "pipeline"
    quiet = {k: v for k, v in execute_kwargs.items()
             if k in ("progress", "devices", "accelerator", "num_nodes", "parallel")}
    proxy = prepare_run(proxy_config(config, options), stage_dir)
    proxy_record = cached_or_run(proxy, stage_dir, require_model=True, annotate={"pipeline_stage": "doge-proxy"}, **quiet)
    average = proxy_record["mixture"]["rewards"][-1]   # ᾱ, logged beside α by the proxy
    weights = dict(zip(prepared.data.domains, average))
    main = final_run(prepared, weights)
    annotate = {"doge": {"weights": weights, "proxy_run": proxy_record["run_id"], "options": options,
                         "proxy_hyperparameters": config.recipe["hyperparameters"]},
                "compute": {"extra_runs": [_extra_run(proxy_record, "doge-proxy")]}}
    return execute(main, output_dir, annotate=annotate, **execute_kwargs)
