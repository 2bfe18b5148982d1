"""Methods over runs: propose proxy runs → train them → fit on their records → one final run.

A method (RegMix, data mixing laws) implements `OverRunsMethod`: `propose` the swarm's mixtures
around a prior, and `choose` the final mixture from the swarm's per-domain validation losses.
This module does the rest, identically for every such method:
1. the prior is the recipe strategy's mixture (RegMix: the token distribution, `proportional`);
2. every mixture is an ordinary `fixed` run of the task at the proxy budget
   (`proxy_steps_fraction` of the main steps, `proxy_overrides` such as a smaller model), trained as
   an enqueued trial of an Optuna study shared by any number of workers (`swarm.py`);
3. the target is the validation loss of the domain named by `target`, else the mean over domains;
4. the final run trains the chosen weights as a fixed mixture through `execute`; its record
   carries `<method>.weights`, the swarm summary and every proxy in `compute.extra_runs`.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..config import ConfigError, RunConfig, apply_overrides
from ..runner import PreparedRun, execute
from ..strategies import get_strategy_class
from .swarm import default_storage, run_swarm, study_name

COMMON_DEFAULTS: dict[str, Any] = {
    "swarm_size": 64,             # proxy runs
    "proxy_steps_fraction": 0.1,  # proxy budget relative to the main run's steps
    "proxy_overrides": [],        # `--set`-style changes for the proxies, e.g. model.hidden_size=64
    "swarm_seed": None,           # sampler and proxy training seed; null: the run's seed
    "target": None,               # a domain whose validation loss is minimised; null: the mean over domains
}


class OverRunsMethod(Protocol):
    """What a method over runs supplies; the pipeline runs the swarm and the final run."""

    name: str                     # the record section holding its weights, e.g. "regmix"
    defaults: dict[str, Any]      # its pipeline options beyond COMMON_DEFAULTS

    def propose(self, prior: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        """The swarm's mixtures, one row per proxy run."""

    def choose(self, mixtures: np.ndarray, losses: np.ndarray, objective: np.ndarray,
               prior: np.ndarray, options: dict[str, Any], seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The final mixture and what to record about the fit. `losses`: runs × domains validation
        losses; `objective`: domain weights of the target loss (one-hot, or uniform for the mean)."""


def pipeline_options(config: RunConfig, method: OverRunsMethod) -> dict[str, Any]:
    """Defaults ← the recipe's `pipeline_options` ← its `quick:` block under --quick; unknown keys refused."""
    given = dict(config.recipe.get("pipeline_options") or {})
    quick = given.pop("quick", None) or {}
    options = {**COMMON_DEFAULTS, **method.defaults, **given, **(quick if config.quick else {})}
    unknown = sorted(set(options) - set(COMMON_DEFAULTS) - set(method.defaults))
    if unknown:
        raise ConfigError(f"pipeline_options.{unknown[0]}: unknown option for {method.name}; allowed: "
                          f"{', '.join(sorted({**COMMON_DEFAULTS, **method.defaults}))}")
    if not (isinstance(options["swarm_size"], int) and options["swarm_size"] >= 2):
        raise ConfigError(f"pipeline_options.swarm_size: an integer ≥ 2, got {options['swarm_size']!r}")
    return options


def objective_weights(domains: list[str], target: str | None) -> np.ndarray:
    """Domain weights of the minimised loss: the target domain alone, or the mean over domains."""
    if target is None:
        return np.full(len(domains), 1.0 / len(domains))
    if target not in domains:
        raise ConfigError(f"pipeline_options.target: unknown domain {target!r}; allowed: {', '.join(domains)}")
    return np.eye(len(domains))[domains.index(target)]


def proxy_task(config: RunConfig, options: dict[str, Any]) -> dict[str, Any]:
    """The task at the proxy budget: fewer steps, the proxy overrides, no downstream evaluation."""
    task = copy.deepcopy(config.task)
    apply_overrides(task, {"hyperparameters": {}}, list(options["proxy_overrides"]))
    training = task["training"]
    training["steps"] = max(1, int(round(training["steps"] * options["proxy_steps_fraction"])))
    training["eval_every"] = min(training.get("eval_every", training["steps"]), training["steps"])
    if isinstance(task.get("evaluation"), dict):
        task["evaluation"]["downstream"] = None     # the fit reads validation losses only
    return task


def swarm_spec(prepared: PreparedRun, options: dict[str, Any], mixtures: np.ndarray, stage_dir: Path) -> dict[str, Any]:
    config = prepared.config
    seed = config.seed if options["swarm_seed"] is None else int(options["swarm_seed"])
    return {"task_name": config.task_name, "task": proxy_task(config, options), "quick": config.quick, "seed": seed,
            "domains": list(prepared.data.domains), "mixtures": [[float(w) for w in row] for row in mixtures],
            "stage_dir": str(stage_dir.resolve())}


def final_run(prepared: PreparedRun, weights: dict[str, float]) -> PreparedRun:
    """The main run: the recipe's config (one config hash across seeds) on the chosen fixed mixture."""
    config = prepared.config
    fixed = get_strategy_class("fixed")(prepared.data.domains, prepared.data.sizes, seed=config.seed,
                                        log_every=config.task["training"].get("log_every", 1),
                                        weights=weights, normalize=True)
    return dataclasses.replace(prepared, strategy=fixed)


def _storage_label(storage: str, output_dir: Path) -> str:
    """The swarm's storage as a record may show it: a sqlite file relative to the output directory
    (records are shared; machine paths mean nothing elsewhere), never a server URL (credentials)."""
    if not storage.startswith("sqlite:///"):
        return "(server database)"
    path = Path(storage[len("sqlite:///"):])
    try:
        return f"sqlite:///<output-dir>/{path.resolve().relative_to(output_dir.resolve())}"
    except ValueError:
        return f"sqlite:///.../{path.name}"


def run_over_runs(method: OverRunsMethod, prepared: PreparedRun, output_dir: Path, workers: int = 1,
                  storage: str | None = None, log: Any = print,
                  **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    """The whole pipeline for one method; `workers` processes on this machine share the swarm."""
    config, domains = prepared.config, list(prepared.data.domains)
    options = pipeline_options(config, method)
    objective = objective_weights(domains, options["target"])
    prior = np.asarray(prepared.strategy.current_weights(0), dtype=float)
    seed = config.seed if options["swarm_seed"] is None else int(options["swarm_seed"])
    mixtures = method.propose(prior, options, np.random.default_rng(seed))
    stage_dir = output_dir / "pipeline"
    spec = {**swarm_spec(prepared, options, mixtures, stage_dir),
            "accelerator": execute_kwargs.get("accelerator", "cpu")}    # not part of the study's name
    storage = storage or default_storage(stage_dir)
    log(f"{method.name}: swarm of {len(mixtures)} proxy runs, study {study_name(spec)} on {storage}")
    results = run_swarm(spec, storage, max(1, int(workers)), log)
    losses = np.array([r["losses"] for r in results])
    chosen, fit = method.choose(np.array(spec["mixtures"]), losses, objective, prior, options, seed)
    weights = {d: float(w) for d, w in zip(domains, chosen / chosen.sum())}
    swarm = {"study": study_name(spec), "storage": _storage_label(storage, output_dir),
             "size": len(results), "trained_now": sum(not r["reused"] and r.get("trained", True) for r in results),
             "runs": [{"index": r["index"], "run_id": r["run_id"], "target_loss": float(np.dot(objective, r["losses"]))}
                      for r in results]}
    annotate = {method.name: {"weights": weights, "options": options, "prior": dict(zip(domains, prior.tolist())),
                              "target": options["target"] or "mean", **fit},
                "swarm": swarm,
                "compute": {"extra_runs": [{**r["extra_run"], "reused_from_cache": bool(r["reused"] or not r.get("trained", True))}
                                           for r in results]}}
    return execute(final_run(prepared, weights), output_dir, annotate=annotate, **execute_kwargs)
