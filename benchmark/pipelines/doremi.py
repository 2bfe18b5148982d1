"""DoReMi end to end: reference run → proxy run (Group DRO) → main run on the averaged weights.

1. Reference: a model of the task's architecture trained on the reference mixture (token-
   proportional by default), for `reference_steps_fraction` of the main budget.
2. Proxy: a fresh model trained with the `doremi-proxy` strategy (uniform sampling, Group DRO
   weights, per-example loss re-weighting) against the frozen reference; its output is ᾱ.
3. Main: the task's model trained on ᾱ as a fixed mixture. Its record carries ᾱ, the two
   auxiliary runs' ids, and their compute in `compute.extra_runs`.
The reference and proxy runs are cached by their config hash (run id): a second DoReMi run with
the same settings, or a resumed one, reuses them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..compute import extra_run
from ..config import RunConfig
from ..runner import PreparedRun, execute, prepare_run
from .over_runs import final_run
from .stages import cached_or_run
from ..model_export import load_model_dir, record_model_dir

PIPELINE_DEFAULTS = {"reference_weights": "proportional", "reference_steps_fraction": 1.0,
                     "proxy_steps_fraction": 1.0}


def _stage_config(config: RunConfig, name: str, strategy: str, hyperparameters: dict[str, Any],
                  steps_fraction: float) -> RunConfig:
    task = copy.deepcopy(config.task)
    training = task["training"]
    training["steps"] = max(1, int(round(training["steps"] * steps_fraction)))
    recipe = {"name": name, "strategy": strategy, "hyperparameters": hyperparameters,
              "description": f"DoReMi pipeline stage ({name})"}
    return RunConfig(config.task_name, task, recipe, config.seed, config.quick)


def _extra_run(record: dict[str, Any], kind: str) -> dict[str, Any]:
    # flops: the stage's own total (the proxy's includes its reference forward passes)
    return extra_run(record, kind, reused_from_cache=bool(record.get("_cached")))


def run_doremi(prepared: PreparedRun, output_dir: Path, **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    config = prepared.config
    options = {**PIPELINE_DEFAULTS, **config.recipe.get("pipeline_options", {})}
    stage_dir = output_dir / "pipeline"
    quiet = {k: v for k, v in execute_kwargs.items()
             if k in ("progress", "devices", "accelerator", "num_nodes", "parallel")}

    reference_hp = {"weights": options["reference_weights"], "normalize": True} \
        if isinstance(options["reference_weights"], dict) else {}
    reference_strategy = "fixed" if reference_hp else options["reference_weights"]
    reference = prepare_run(_stage_config(config, "doremi-reference", reference_strategy, reference_hp,
                                          options["reference_steps_fraction"]), stage_dir)
    reference_record = cached_or_run(reference, stage_dir, require_model=True, annotate={"pipeline_stage": "doremi-reference"}, **quiet)
    reference_model, _ = load_model_dir(record_model_dir(stage_dir, reference_record))

    proxy = prepare_run(_stage_config(config, "doremi-proxy", "doremi-proxy", dict(config.recipe["hyperparameters"]),
                                      options["proxy_steps_fraction"]), stage_dir)
    proxy_record = cached_or_run(proxy, stage_dir, require_model=True, reference_model=reference_model,
                                  annotate={"pipeline_stage": "doremi-proxy"}, **quiet)
    average = proxy_record["mixture"]["rewards"][-1]   # the proxy logs ᾱ as its reward trajectory
    weights = dict(zip(prepared.data.domains, average))

    # The main run keeps the DoReMi recipe as its config (one config hash across seeds, so seeds
    # group together) and trains on ᾱ as a fixed mixture.
    main = final_run(prepared, weights)
    annotate = {"doremi": {"weights": weights, "reference_run": reference_record["run_id"],
                           "proxy_run": proxy_record["run_id"], "options": options,
                           "proxy_hyperparameters": config.recipe["hyperparameters"]},
                "compute": {"extra_runs": [_extra_run(reference_record, "doremi-reference"),
                                           _extra_run(proxy_record, "doremi-proxy")]}}
    return execute(main, output_dir, annotate=annotate, **execute_kwargs)
