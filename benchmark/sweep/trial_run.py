"""One trial = one training run with the sampled hyperparameters, pruned at the global step on
the family's validation metric."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

from .common import load_optuna
from .family import objective_of, run_config
from .mlflow_runs import log_trial
from .objective import objective_value
from .space import suggest


def trial_config(spec: dict[str, Any], params: dict[str, Any], seed: int | None = None) -> Any:
    """The run configuration of a trial: the sweep's task (FLAD: its target and split seed) and
    overrides, the sampled hyperparameters (as `suggest` returns them)."""
    config = run_config(spec.get("family") or "pretrain", spec["task"], spec["method"],
                        spec["seed"] if seed is None else seed, list(spec["overrides"]), spec["quick"],
                        spec.get("target"))
    config.recipe["hyperparameters"].update(params)
    if not spec.get("trial_downstream") and isinstance(config.task.get("evaluation"), dict) \
            and config.task["evaluation"].get("downstream"):
        config.task["evaluation"]["downstream"] = None      # the objective is validation perplexity only
    return config


def tokens_per_step(prepared: Any) -> int | None:
    """Training tokens per optimizer step (a pruned or lost trial's compute = steps × this); None
    where it varies from step to step (FLAD: prompted examples of different lengths — the pruning
    callback records the tokens trained so far instead)."""
    if prepared.config.family != "pretrain":
        return None
    training = prepared.config.task["training"]
    return int(training["batch_size"] * training.get("grad_accum", 1) * prepared.data.train_blocks[0].shape[1])


def run_trial(trial: Any, spec: dict[str, Any], workdir: Path, parent: str | None = None) -> float:
    """Objective of one trial: train with the sampled hyperparameters, return the family's validation
    objective (avg ppl; FLAD: few-shot validation accuracy)."""
    optuna = load_optuna()

    trial.set_user_attr("worker_pid", os.getpid())
    trial.set_user_attr("worker_host", socket.gethostname())
    try:
        return _run_trial(trial, spec, workdir, parent)
    except optuna.TrialPruned:
        raise
    except BaseException as exc:
        # Marks the failure as the run's own (counted as done); a trial without "error" that ends
        # FAILED was lost with its worker and is retried.
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
        raise


def _run_trial(trial: Any, spec: dict[str, Any], workdir: Path, parent: str | None) -> float:
    optuna = load_optuna()
    from ..pruning import StepPruningCallback, is_pruned
    from ..runner import RunFailed, execute, prepare_run

    family = spec.get("family") or "pretrain"
    params = suggest(trial, spec["search_space"])
    prepared = prepare_run(trial_config(spec, params), workdir)
    if family == "flad" and not spec.get("trial_downstream"):
        prepared.downstream = _no_test_scoring      # trials never score the test split
    per_step = tokens_per_step(prepared)
    trial.set_user_attr("tokens_per_step", per_step if per_step is not None else 0)
    callback = StepPruningCallback(trial, metric=objective_of(family, spec.get("objective_key")).metric)
    try:
        # a trial is a stage of the sweep, never a leaderboard row (records.is_comparable)
        record, path = execute(prepared, workdir, progress=False, resume=False, track=False,
                               extra_callbacks=[callback],
                               annotate={"pipeline_stage": "sweep-trial",
                                         "sweep": {"study": trial.study.study_name, "trial": trial.number}})
    except RunFailed as exc:
        steps = callback.reported[-1][0] if callback.reported else 0
        trial.set_user_attr("steps", steps)
        trial.set_user_attr("tokens", steps * per_step if per_step is not None else callback.tokens_trained)
        if is_pruned(exc):
            _drop_checkpoints(workdir, prepared)
            trial.set_user_attr("pruned_at_step", callback.pruned_at)
            log_trial(spec, parent, trial, params, "PRUNED", None, None, callback.reported)
            raise optuna.TrialPruned(f"pruned at global step {callback.pruned_at}") from exc
        log_trial(spec, parent, trial, params, "FAIL", None, None, callback.reported)
        raise
    _drop_checkpoints(workdir, prepared)
    steps = int(record["compute"]["steps"])
    value = objective_value(record, family, spec.get("objective_key"))
    trial.set_user_attr("steps", steps)
    trial.set_user_attr("tokens", int(record["compute"]["train_tokens"]))
    trial.set_user_attr("run_id", record["run_id"])
    trial.set_user_attr("record", str(path))
    log_trial(spec, parent, trial, params, "COMPLETE", record, path, callback.reported)
    return value


def _no_test_scoring(fit: Any) -> dict[str, Any]:
    """A FLAD trial's `downstream`: nothing (the test accuracy is only scored in the final runs,
    or in trials with --trial-downstream); the record's final.test fields stay empty."""
    return {}


def _drop_checkpoints(workdir: Path, prepared: Any) -> None:
    """A finished or pruned trial never resumes (a retry starts fresh): free the disk. Failed
    trials keep theirs for inspection."""
    shutil.rmtree(workdir / "runs" / prepared.config.run_id / "checkpoints", ignore_errors=True)
