"""One run end to end: data → strategy → Lightning fit → final evaluation → record → MLflow."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig, build_strategy
from .data.pretrain_task import PretrainData, build_task_data
from .evaluation.downstream import run_lm_eval
from .evaluation.per_domain import evaluate_per_domain, summarize_losses
from .offline import go_offline
from .records import SCHEMA_VERSION, git_commit, package_versions, record_path, write_json_atomic


class RunFailed(RuntimeError):
    """Training stopped with an error; the partial record and the last checkpoint are kept."""


@dataclass
class PreparedRun:
    config: RunConfig
    data: PretrainData
    strategy: Any


def prepare_run(config: RunConfig, output_dir: Path) -> PreparedRun:
    """Everything that can fail on bad input, done before any training starts."""
    data = build_task_data(config.task["data"], output_dir / "data")
    strategy = build_strategy(config, data.domains, data.sizes, strategy_seed=config.seed)
    return PreparedRun(config, data, strategy)


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*on_train_batch_end.*")
    warnings.filterwarnings("ignore", message=".*Checkpoint directory.*exists and is not empty.*")


def train(prepared: PreparedRun, run_dir: Path, progress: bool = True, resume: bool = True,
          stop_after_steps: int | None = None, devices: int = 1, accelerator: str = "cpu",
          strategy: Any = "auto", extra_callbacks: list[Any] | None = None,
          reference_model: torch.nn.Module | None = None, num_nodes: int = 1) -> tuple[Any, Any, Any, float]:
    """Fit the model; returns (module, datamodule, callback, seconds). `stop_after_steps` ends the
    session early (as a crash would) without changing the configured schedule."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from .training.callback import MixingCallback
    from .training.datamodule import MixtureDataModule
    from .training.model import build_model
    from .training.module import MixingLanguageModel

    config, data = prepared.config, prepared.data
    training = config.task["training"]
    _quiet_lightning()
    L.seed_everything(config.seed, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)
    model = build_model(config.task["model"], data.vocab_size, config.seed)
    optim = {"lr": training["lr"], "betas": training.get("betas", [0.9, 0.95]), "eps": training.get("eps", 1e-8),
             "weight_decay": training.get("weight_decay", 0.1), "warmup_fraction": training.get("warmup_fraction", 0.01),
             "min_lr_ratio": training.get("min_lr_ratio", 0.1), "total_steps": training["steps"]}
    if "reference_model" in prepared.strategy.hooks and reference_model is None:
        raise ValueError(f"{config.recipe['strategy']} needs a frozen reference model (run it through its pipeline)")
    module = MixingLanguageModel(model, len(data.domains), optim, reference_model)
    grad_accum = training.get("grad_accum", 1)
    datamodule = MixtureDataModule(data, prepared.strategy, training["batch_size"], grad_accum, config.seed)
    callback = MixingCallback(data, training["steps"], training.get("eval_every", 100),
                              training.get("eval_batch_size", 64), training.get("log_every", 10))
    checkpoint_dir = run_dir / "checkpoints"
    checkpointing = ModelCheckpoint(dirpath=checkpoint_dir, filename="last", every_n_train_steps=training.get(
        "checkpoint_every", 100), save_top_k=1, monitor=None, enable_version_counter=False)
    trainer = L.Trainer(
        accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
        max_steps=min(stop_after_steps or training["steps"], training["steps"]),
        max_epochs=1,  # one endless epoch of planned micro-batches; max_steps ends it
        accumulate_grad_batches=grad_accum, gradient_clip_val=training.get("grad_clip", 1.0) or None,
        callbacks=[callback, *(extra_callbacks or []), checkpointing], logger=False, enable_progress_bar=progress,
        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
        use_distributed_sampler=False, deterministic=True, precision=training.get("precision", "32-true"))
    ckpt = checkpoint_dir / "last.ckpt"
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt) if resume and ckpt.exists() else None)
    return module, datamodule, callback, time.perf_counter() - start


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


def build_record(prepared: PreparedRun, datamodule: Any, callback: Any, metrics: dict[str, Any],
                 downstream: dict[str, Any], seconds: float, status: str, error: str | None = None) -> dict[str, Any]:
    config, data = prepared.config, prepared.data
    feeder = datamodule.feeder
    trajectory = prepared.strategy.weight_trajectory()
    training = config.task["training"]
    steps_done = (feeder.step - 1) if feeder else 0
    tokens_per_step = training["batch_size"] * training.get("grad_accum", 1) * data.train_blocks[0].shape[1]
    strategy_seconds = feeder.strategy_seconds if feeder else 0.0
    train_seconds = callback.train_seconds
    return {
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
        "data_manifest": data.manifest,
        "curves": callback.curves,
        "mixture": {"domains": data.domains, **trajectory},
        "final": metrics,
        "downstream": downstream,
        "sampling": {"epochs_per_domain": dict(zip(data.domains, feeder.epochs_per_domain())) if feeder else {}},
        "timing": {"wall_seconds": seconds, "train_seconds": train_seconds, "strategy_seconds": strategy_seconds,
                   "strategy_share": strategy_seconds / train_seconds if train_seconds else 0.0,
                   "eval_seconds": callback.eval_seconds},
        "compute": {"steps": steps_done, "train_tokens": steps_done * tokens_per_step, "extra_runs": []},
        "created_unix": time.time(),
    }


def execute(prepared: PreparedRun, output_dir: Path, progress: bool = True, resume: bool = True,
            stop_after_steps: int | None = None, track: bool = True, tracking_uri: str | None = None,
            devices: int = 1, accelerator: str = "cpu", extra_callbacks: list[Any] | None = None,
            reference_model: torch.nn.Module | None = None, annotate: dict[str, Any] | None = None,
            num_nodes: int = 1, parallel: str = "ddp") -> tuple[dict[str, Any] | None, Path | None]:
    """Train, evaluate, write the record atomically, then log it to MLflow.

    Under DDP (devices > 1) every rank trains and evaluates its share; rank 0 writes the record and
    returns it, the other ranks write their mixture trajectory beside the checkpoint and return
    (None, None). `annotate` adds fields to the record (e.g. a pipeline's extra compute)."""
    go_offline()
    config = prepared.config
    run_dir = output_dir / "runs" / config.run_id
    results_dir = output_dir / "records"
    start = time.perf_counter()
    try:
        module, datamodule, callback, _ = train(prepared, run_dir, progress, resume, stop_after_steps,
                                                devices=devices, accelerator=accelerator,
                                                strategy=parallel_strategy(parallel, devices * num_nodes),
                                                extra_callbacks=extra_callbacks, reference_model=reference_model,
                                                num_nodes=num_nodes)
    except Exception as exc:
        _write_partial(prepared, output_dir, exc)
        raise RunFailed(f"{config.run_id}: {type(exc).__name__}: {exc}") from exc
    finished = datamodule.feeder.step - 1 >= config.task["training"]["steps"]
    trainer = module.trainer
    metrics = final_metrics(prepared, module, trainer.world_size, trainer.global_rank) if finished else {}
    if trainer.global_rank != 0:
        write_json_atomic(run_dir / f"rank{trainer.global_rank}_mixture.json", prepared.strategy.weight_trajectory())
        return None, None
    downstream = downstream_metrics(prepared, module) if finished else {}
    if finished:  # final weights, for pipelines that reuse this model (e.g. DoReMi's reference)
        torch.save(module.model.state_dict(), run_dir / "final_model.pt")
    record = build_record(prepared, datamodule, callback, metrics, downstream, time.perf_counter() - start,
                          "completed" if finished else "interrupted")
    for key, value in (annotate or {}).items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
    path = write_json_atomic(record_path(results_dir, config.run_id), record)
    if track and finished:
        from .plots import plot_mixture
        from .tracking import log_record
        plot = plot_mixture(record, run_dir / "mixture.png")
        record["mlflow_run_id"] = log_record(record, [path, plot], tracking_uri)
        write_json_atomic(path, record)
    return record, path


def _write_partial(prepared: PreparedRun, output_dir: Path, exc: BaseException) -> None:
    """Keep what a failed run produced (curves, trajectory so far) next to its checkpoint."""
    config = prepared.config
    payload = {"schema": SCHEMA_VERSION, "run_id": config.run_id, "status": "failed",
               "error": f"{type(exc).__name__}: {exc}", "config": config.to_dict(),
               "mixture": {"domains": prepared.data.domains, **prepared.strategy.weight_trajectory()},
               "created_unix": time.time()}
    write_json_atomic(output_dir / "failed" / f"{config.run_id}.json", payload)

