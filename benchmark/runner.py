"""One run end to end: data → strategy → Lightning fit → final evaluation → record → MLflow."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .capabilities import BurstsProbes, Capability, missing, needs
from .compute import compute_section, count_params, params_from_config, with_totals
from .config import ConfigError, RunConfig, build_strategy, published_mixture_notes
from .data.pretrain_target import hold_out_target
from .data.pretrain_task import PretrainData, build_task_data
from .evaluation.downstream import run_lm_eval
from .evaluation.per_domain import evaluate_per_domain, summarize_losses
from .offline import go_offline
from .interrupts import STOP, Interrupted
from .records import (SCHEMA_VERSION, ensure_writable, git_commit, package_versions, record_path,
                      remove_stale_temp_files, write_json_atomic)
from .training.checkpoints import latest_intact_step
from .training.fit import Fit, FitOptions


class RunFailed(RuntimeError):
    """Training stopped with an error; the partial record and the last checkpoint are kept."""


@dataclass
class PreparedRun:
    """One configuration, ready to train: the recipe protocol every benchmark family implements.

    The lifecycle (`execute`) is the same for all families: fit the parts the family builds →
    final metrics → model directory → record (common fields + the family's) → tracking, with one
    failure path. A family subclass says what its parts, metrics and record fields are."""

    config: RunConfig
    data: Any
    strategy: Any

    @property
    def domains(self) -> list[str]:
        return list(self.strategy.domains)

    def fit_parts(self, reference_model: torch.nn.Module | None = None) -> Any:
        raise NotImplementedError

    def final_metrics(self, fit: Fit) -> dict[str, Any]:
        raise NotImplementedError

    def downstream(self, fit: Fit) -> dict[str, Any]:
        return {}

    def tokenizer(self) -> Any:
        raise NotImplementedError

    def record_fields(self, fit: Fit) -> dict[str, Any]:
        """The family's own record fields (data manifest, sampling, compute, ...)."""
        raise NotImplementedError


@dataclass
class PretrainRun(PreparedRun):
    data: PretrainData
    target_blocks: Any = None     # the held-out target (data.target), for gradient-reward methods
    output_dir: Path = Path(".")

    def fit_parts(self, reference_model: torch.nn.Module | None = None) -> Any:
        from .training.fit import pretrain_parts
        return pretrain_parts(self, reference_model)

    def final_metrics(self, fit: Fit) -> dict[str, Any]:
        return final_metrics(self, fit.module, fit.trainer.world_size, fit.trainer.global_rank)

    def downstream(self, fit: Fit) -> dict[str, Any]:
        return downstream_metrics(self, fit.module)

    def tokenizer(self) -> Any:
        return self.data.tokenizer

    def record_fields(self, fit: Fit) -> dict[str, Any]:
        config, data, feeder = self.config, self.data, fit.datamodule.feeder
        training = config.task["training"]
        tokens_per_step = training["batch_size"] * training.get("grad_accum", 1) * data.train_blocks[0].shape[1]
        strategy_seconds = feeder.strategy_seconds if feeder else 0.0
        return {
            "data_manifest": data.manifest,
            "mixture": {"published_mixtures": published_mixture_notes(config, data.domains)},
            "sampling": {"epochs_per_domain": dict(zip(data.domains, feeder.epochs_per_domain())) if feeder else {}},
            "compute": run_compute(self, fit, fit.steps_done * tokens_per_step, strategy_seconds),
        }


def prepare_run(config: RunConfig, output_dir: Path) -> PreparedRun:
    """Everything that can fail on bad input, done before any training starts."""
    if config.family == "flad":
        from .flad.family import prepare_flad_run
        return prepare_flad_run(config, output_dir)
    spec = dict(config.task["data"])
    target = spec.pop("target", None)
    data = build_task_data(spec, output_dir / "data")
    target_blocks = None
    if target:
        data, target_blocks = hold_out_target(data, target)
    strategy = build_strategy(config, data.domains, data.sizes, strategy_seed=config.seed)
    check_served(config, strategy, target is not None)
    return PretrainRun(config, data, strategy, target_blocks, output_dir)


def parallel_strategy(name: str, world_size: int) -> Any:
    """Lightning strategy: plain for one process, DDP, or FSDP sharding each GPT-NeoX layer."""
    if world_size <= 1:
        return "auto"
    if name == "fsdp":
        from lightning.pytorch.strategies import FSDPStrategy
        from transformers.models.gpt_neox.modeling_gpt_neox import GPTNeoXLayer

        return FSDPStrategy(auto_wrap_policy={GPTNeoXLayer}, sharding_strategy="FULL_SHARD")
    return "ddp"


def final_metrics(prepared: PreparedRun, module: Any, world_size: int = 1, rank: int = 0) -> dict[str, Any]:
    data = prepared.data
    batch = prepared.config.task["training"].get("eval_batch_size", 64)
    out = {}
    for split, blocks in (("validation", data.validation_blocks), ("test", data.test_blocks)):
        losses = evaluate_per_domain(module.model, blocks, batch, data.token_offset, module.device,
                                     world_size, rank)
        out[split] = summarize_losses(data.domains, losses, data.floors)
    return out


def downstream_metrics(prepared: PreparedRun, module: Any) -> dict[str, Any]:
    spec = prepared.config.task.get("evaluation", {}).get("downstream")
    if not spec:
        return {}
    include = prepared.data.downstream_dir if spec.get("local", True) else None
    return run_lm_eval(module.model, prepared.data.tokenizer, list(spec["tasks"]), spec.get("num_fewshot", 0),
                       include_path=include, include_defaults=not spec.get("local", True),
                       batch_size=spec.get("batch_size", 32), limit=spec.get("limit"), seed=prepared.config.seed)


def build_record(prepared: PreparedRun, fit: Fit, metrics: dict[str, Any], downstream: dict[str, Any],
                 seconds: float, status: str, error: str | None = None) -> dict[str, Any]:
    """One record builder for every family: the common fields, then the family's own."""
    config = prepared.config
    feeder = fit.datamodule.feeder
    strategy_seconds = feeder.strategy_seconds if feeder else 0.0
    train_seconds = fit.callback.train_seconds
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": config.run_id,
        "status": status,
        "error": error,
        "task": config.task_name,
        "method": config.recipe["name"],
        "strategy": config.recipe["strategy"],
        "method_variant": {k: v for k, v in config.recipe["hyperparameters"].items()},
        "seed": config.seed,
        "config": config.to_dict(),
        "config_hash": config.config_hash,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "data_manifest": {},
        "curves": fit.callback.curves,
        "mixture": {"domains": prepared.domains, **prepared.strategy.weight_trajectory()},
        "final": metrics,
        "downstream": downstream,
        "timing": {"wall_seconds": seconds, "train_seconds": train_seconds, "strategy_seconds": strategy_seconds,
                   "strategy_share": strategy_seconds / train_seconds if train_seconds else 0.0,
                   "eval_seconds": fit.callback.eval_seconds},
        "created_unix": time.time(),
    }
    _annotate(record, prepared.record_fields(fit))
    return record


def run_compute(prepared: PreparedRun, fit: Fit, train_tokens: int, method_seconds: float) -> dict[str, Any]:
    """The record's `compute`. A reference-model strategy (DoReMi's proxy) runs the frozen reference
    forward on every training micro-batch (module.py), i.e. on every training token; gradient
    rewards add their target passes (trained on) and probes, and the warm start its probes."""
    model = fit.module.model
    params = count_params(model) if model is not None else params_from_config({"config": prepared.config.to_dict()})
    reference = needs(prepared.strategy, Capability.REFERENCE_MODEL)
    capabilities = fit.module.capabilities
    probes = sum(getattr(c, "extra_tokens", 0) for c in capabilities) + fit.warm_start_tokens   # fwd + bwd
    evaluated = sum(getattr(c, "forward_tokens", 0) for c in capabilities)                     # fwd only
    target_pass = sum(getattr(c, "trained_tokens", 0) for c in capabilities)
    extra_runs = [{k: v for k, v in fit.warm_start_run.items() if k != "rewards"}] if fit.warm_start_run else []
    compute = compute_section(fit.steps_done, train_tokens + target_pass, params or 0,
                              extra_forward_tokens=(train_tokens if reference else 0) + probes + evaluated,
                              extra_backward_tokens=probes, extra_runs=extra_runs, method_seconds=method_seconds)
    if isinstance(prepared.strategy, BurstsProbes):
        compute["probe_steps"] = int(prepared.strategy.probe_steps_taken())
    return compute


def _annotate(record: dict[str, Any], annotate: dict[str, Any] | None) -> None:
    for key, value in (annotate or {}).items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value


def execute(prepared: PreparedRun, output_dir: Path, progress: bool = True, resume: bool = True,
            stop_after_steps: int | None = None, track: bool = True, tracking_uri: str | None = None,
            devices: int = 1, accelerator: str = "cpu", extra_callbacks: list[Any] | None = None,
            reference_model: torch.nn.Module | None = None, annotate: dict[str, Any] | None = None,
            num_nodes: int = 1, parallel: str = "ddp") -> tuple[dict[str, Any] | None, Path | None]:
    """Train, evaluate, write the record atomically, then log it to MLflow.

    Any error on the way (training, evaluation, saving, writing) goes through one failure path: a
    `failed/<run_id>.json` record with what was produced, the checkpoints kept, `RunFailed` raised.
    A signal raises `Interrupted` the same way. Under DDP (devices > 1) rank 0 writes the record
    and returns it; the other ranks write their mixture trajectory and return (None, None)."""
    go_offline()
    config = prepared.config
    run_dir = output_dir / "runs" / config.run_id
    ensure_writable(output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output_dir, config.run_id)
    options = FitOptions(progress, resume, stop_after_steps, devices, num_nodes, accelerator,
                         parallel_strategy(parallel, devices * num_nodes), list(extra_callbacks or []))
    fit: Fit | None = None
    live = live_tracking(prepared, lambda: fit.callback.curves if fit else {}, tracking_uri) if track else None
    options.extra_callbacks += [live] if live else []
    start = time.perf_counter()
    try:
        STOP.check()
        fit = Fit(prepared.fit_parts(reference_model), run_dir, options)
        fit.run()
        return _finish(prepared, fit, output_dir, start, live, tracking_uri, annotate)
    except Interrupted as exc:
        if exc.step is None and fit is not None:
            exc.step = fit.steps_done
        exc.checkpoint_step = latest_intact_step(run_dir / "checkpoints")
        _write_partial(prepared, output_dir, exc, fit, "interrupted")
        if live:
            live.abandon("KILLED")
        raise
    except Exception as exc:
        _write_partial(prepared, output_dir, exc, fit, "failed")
        if live:
            live.abandon("FAILED")
        kept = latest_intact_step(run_dir / "checkpoints")
        where = f"checkpoint at step {kept} kept" if kept else "no checkpoint was written yet"
        raise RunFailed(f"{config.run_id}: {type(exc).__name__}: {exc} ({where}; "
                        f"partial record in {output_dir / 'failed'})") from exc


def live_tracking(prepared: PreparedRun, curves: Any, uri: str | None) -> Any:
    """The callback that streams this run to MLflow while it trains."""
    from .training.live_tracking import LiveTracking

    config = prepared.config
    identity = {"run_id": config.run_id, "task": config.task_name, "method": config.recipe["name"],
                "seed": config.seed, "config_hash": config.config_hash, "config": config.to_dict(),
                "git_commit": git_commit()}
    return LiveTracking(uri, identity, prepared.domains, curves, prepared.strategy.weight_trajectory)


def _finish(prepared: PreparedRun, fit: Fit, output_dir: Path, start: float, live: Any,
            tracking_uri: str | None, annotate: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Path | None]:
    """After training: final evaluation, model, record, tracking (rank 0 only for the last three)."""
    config, module, trainer = prepared.config, fit.module, fit.trainer
    run_dir = output_dir / "runs" / config.run_id
    finished = fit.finished
    metrics = prepared.final_metrics(fit) if finished else {}
    STOP.check(fit.steps_done)
    if trainer.global_rank != 0:
        write_json_atomic(run_dir / f"rank{trainer.global_rank}_mixture.json", prepared.strategy.weight_trajectory())
        return None, None
    downstream = prepared.downstream(fit) if finished else {}
    STOP.check(fit.steps_done)
    model_dir = None
    if finished:  # a Hugging Face directory: transformers, lm_eval and pipelines (DoReMi) load it
        from .model_export import relative_model_dir, run_model_dir, save_model_dir
        model_dir = relative_model_dir(output_dir, save_model_dir(
            module.model, prepared.tokenizer(), run_model_dir(output_dir, config.run_id)))
    record = build_record(prepared, fit, metrics, downstream, time.perf_counter() - start,
                          "completed" if finished else "interrupted")
    record["model_dir"] = model_dir   # relative to the output directory
    _annotate(record, annotate)
    record["compute"] = with_totals(record["compute"])   # annotations may add extra runs (DoReMi)
    path = write_json_atomic(record_path(output_dir / "records", config.run_id), record)
    if finished:
        (output_dir / "failed" / f"{config.run_id}.json").unlink(missing_ok=True)  # superseded
    if live is not None and finished:
        _track(record, path, run_dir, live, tracking_uri)
    elif live is not None:
        live.abandon("KILLED")   # stopped early on purpose (stop_after_steps): resumable, not finished
    return record, path


def _track(record: dict[str, Any], path: Path, run_dir: Path, live: Any, uri: str | None) -> None:
    """Close the live MLflow run with the final metrics and artifacts (or, if live tracking could not
    start, log the whole record now); the MLflow run id goes into the record."""
    from .plots import plot_mixture
    from .tracking import track_record

    artifacts = [path, plot_mixture(record, run_dir / "mixture.png")]
    model_dir = run_dir / "model"
    artifacts += [model_dir] if model_dir.is_dir() else []
    run_id = live.close(record, artifacts)
    if run_id is None:
        track_record(record, path, artifacts[1:], uri)
        return
    record["mlflow_run_id"] = run_id
    write_json_atomic(path, record)


def _write_partial(prepared: PreparedRun, output_dir: Path, exc: BaseException, fit: Fit | None,
                   status: str) -> None:
    """Keep what a failed or interrupted run produced (curves, trajectory so far), and say which
    checkpoint is kept. Never raises: the original error is what the user must see."""
    config = prepared.config
    checkpoint_dir = output_dir / "runs" / config.run_id / "checkpoints"
    kept = latest_intact_step(checkpoint_dir)
    payload = {"schema": SCHEMA_VERSION, "run_id": config.run_id, "status": status,
               "error": f"{type(exc).__name__}: {exc}",
               "steps_done": fit.steps_done if fit else 0,
               "kept": {"checkpoint_step": kept,
                        "checkpoint_dir": str(checkpoint_dir) if kept else None,
                        "note": (f"training resumes from the step-{kept} checkpoint when the same command is rerun"
                                 if kept else "no checkpoint was written; a rerun starts from step 0")},
               "config": config.to_dict(),
               "curves": fit.callback.curves if fit else {},
               "mixture": {"domains": prepared.domains, **prepared.strategy.weight_trajectory()},
               "created_unix": time.time()}
    try:
        write_json_atomic(output_dir / "failed" / f"{config.run_id}.json", payload)
    except OSError as write_error:
        print(f"warning: could not write the partial record ({write_error})", flush=True)


def check_served(config: RunConfig, strategy: Any, has_target: bool) -> None:
    """One line naming what a method needs and a pre-training task does not offer."""
    from .capabilities.matrix import pretrain_offers
    lacking = missing(strategy, pretrain_offers(has_target))
    if lacking:
        hint = " (give the task a target: --target DOMAIN)" if Capability.GRADIENT_REWARDS in lacking else ""
        raise ConfigError(f"method: {config.recipe['name']!r} needs {', '.join(map(str, lacking))}, which "
                          f"task {config.task_name!r} does not offer{hint}")
