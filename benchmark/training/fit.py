"""Assemble one Lightning fit (model, data module, callbacks, trainer) and run it.

The parts are built before training starts and kept on a `Fit`, so that whatever happens during
training, the failure path can still read the curves and the mixture trajectory produced so far.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..capabilities import Capability, needs
from ..data.mixture import serve_token_blocks
from ..interrupts import StopOnSignal
from .checkpoints import AtomicCheckpointIO, StepCheckpoint, find_resume_checkpoint


def quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*on_train_batch_end.*")


@dataclass
class FitOptions:
    progress: bool = True
    resume: bool = True
    stop_after_steps: int | None = None   # end the session early (as a crash would), schedule unchanged
    devices: int = 1
    num_nodes: int = 1
    accelerator: str = "cpu"
    strategy: Any = "auto"
    extra_callbacks: list[Any] = field(default_factory=list)


def optimizer_settings(training: dict[str, Any], family_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The optimizer and LR schedule of a run: the task's training section over the family's defaults
    (pre-training: AdamW, cosine to 10%; FLAD: Adafactor, constant after warm-up)."""
    o = {"optimizer": "adamw", "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "warmup_fraction": 0.01,
         "schedule": "cosine", "min_lr_ratio": 0.1, **(family_defaults or {})}
    o.update({k: training[k] for k in o if k in training})
    return {**o, "lr": training["lr"], "total_steps": training["steps"]}


@dataclass
class FitParts:
    """What a benchmark family builds for one fit; `Fit` adds checkpoints, signals and the trainer."""

    module: Any
    datamodule: Any
    callback: Any                   # the MixingCallback (curves, strategy updates, evaluation)
    strategy: Any
    training: dict[str, Any]        # the resolved training section (steps, checkpoint_every, precision)
    callbacks: list[Any] = field(default_factory=list)   # family extras, before the checkpointer
    warm_start_run: dict[str, Any] | None = None         # the warm start's probes, if the method has one


class Fit:
    """Model + data module + callbacks + trainer of one run, built up front."""

    def __init__(self, parts: FitParts, run_dir: Path, options: FitOptions) -> None:
        import lightning as L

        from ..progress import MixtureProgressBar

        training = parts.training
        quiet_lightning()
        self.module, self.datamodule, self.callback = parts.module, parts.datamodule, parts.callback
        self.warm_start_run = parts.warm_start_run
        self.warm_start_tokens = parts.warm_start_run["tokens"] if parts.warm_start_run else 0
        self.checkpoint_dir = run_dir / "checkpoints"
        self.checkpointer = StepCheckpoint(self.checkpoint_dir, training.get("checkpoint_every", 100))
        self.options = options
        self.seconds = 0.0
        # Steps of the whole budget, loss and top weights instead of Lightning's endless-epoch bar.
        bar = [MixtureProgressBar(training["steps"], parts.strategy)] if options.progress else []
        self.trainer = L.Trainer(
            accelerator=options.accelerator, devices=options.devices, num_nodes=options.num_nodes,
            strategy=options.strategy, plugins=[AtomicCheckpointIO()],
            max_steps=min(options.stop_after_steps or training["steps"], training["steps"]),
            max_epochs=1,  # one endless epoch of planned micro-batches; max_steps ends it
            callbacks=[self.callback, *parts.callbacks, *options.extra_callbacks, self.checkpointer,
                       StopOnSignal(self.checkpointer), *bar],
            logger=False, enable_progress_bar=options.progress, enable_checkpointing=False,
            enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
            use_distributed_sampler=False, deterministic=True, precision=training.get("precision", "32-true"))

    def run(self) -> None:
        """Train, resuming from the newest intact checkpoint unless told to start fresh."""
        resume = find_resume_checkpoint(self.checkpoint_dir) if self.options.resume else None
        start = time.perf_counter()
        try:
            self.trainer.fit(self.module, datamodule=self.datamodule,
                             ckpt_path=str(resume.path) if resume and resume.path else None)
        finally:
            self.seconds = time.perf_counter() - start

    @property
    def steps_done(self) -> int:
        feeder = self.datamodule.feeder
        return feeder.step - 1 if feeder else 0

    @property
    def finished(self) -> bool:
        """The whole budget trained, or stopped early by the evaluator (FLAD's patience)."""
        return self.steps_done >= self.callback.total_steps or self.callback.stopped_early


def seed_everything(seed: int) -> None:
    import lightning as L
    L.seed_everything(seed, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pretrain_parts(prepared: Any, reference_model: torch.nn.Module | None = None) -> FitParts:
    """Pre-training: GPT-NeoX from the task's config on token blocks, per-domain validation."""
    from .callback import MixingCallback, PerDomainValidation
    from .datamodule import MixtureDataModule
    from .model import build_model
    from .module import MixingLanguageModel
    from .objectives import TokenBlocks

    config, data = prepared.config, prepared.data
    training = config.task["training"]
    if needs(prepared.strategy, Capability.REFERENCE_MODEL) and reference_model is None:
        raise ValueError(f"{config.recipe['strategy']} needs a frozen reference model (run it through its pipeline)")
    seed_everything(config.seed)
    model = build_model(config.task["model"], data.vocab_size, config.seed)
    grad_accum = training.get("grad_accum", 1)
    capabilities, warm_start_run = _target_capabilities(prepared, model)
    if needs(prepared.strategy, Capability.HELD_OUT_EVALUATION):
        from .held_out import HeldOutEvaluation
        capabilities.append(HeldOutEvaluation(data.validation_blocks, training.get("eval_batch_size", 64),
                                              data.token_offset))
    if needs(prepared.strategy, Capability.DOMAIN_GRADIENTS):   # DGA, DoGE
        from .domain_gradients import for_pretraining
        capabilities.append(for_pretraining(prepared.strategy, data, prepared.target_blocks, training, config.seed))
    module = MixingLanguageModel(model, TokenBlocks(), len(data.domains), optimizer_settings(training),
                                 reference_model, grad_accum, training.get("grad_clip", 1.0), capabilities)
    datamodule = MixtureDataModule(data.train_blocks, prepared.strategy, training["batch_size"], grad_accum,
                                   config.seed, serve_token_blocks(data.token_offset))
    callback = MixingCallback(PerDomainValidation(data, training.get("eval_batch_size", 64)), training["steps"],
                              training.get("eval_every", 100), training.get("log_every", 10))
    return FitParts(module, datamodule, callback, prepared.strategy, training, warm_start_run=warm_start_run)


def _target_capabilities(prepared: Any, model: torch.nn.Module) -> tuple[list[Any], dict | None]:
    """Gradient rewards and the warm start against a pre-training task's held-out target (data.target)."""
    from types import SimpleNamespace

    from ..capabilities import RewardSettings
    from .gradient_capability import GradientRewards, TargetBatches, blocks_batch
    from .objectives import TokenBlocks
    from .warm_start import apply_warm_start, cache_file

    strategy, data, config = prepared.strategy, prepared.data, prepared.config
    if prepared.target_blocks is None:
        return [], None
    training, collate = config.task["training"], blocks_batch(data.token_offset)
    targets = list(prepared.target_blocks)
    capabilities = []
    if needs(strategy, Capability.GRADIENT_REWARDS):
        settings: RewardSettings = strategy.reward_settings()
        batches = TargetBatches(lambda _pass: targets, training["batch_size"], config.seed, collate)
        capabilities.append(GradientRewards(settings, batches, len(data.domains), training.get("grad_accum", 1)))
    first = training.get("warm_start_examples", 1000)
    arms = [SimpleNamespace(name=d, examples=list(b[:first])) for d, b in zip(data.domains, data.train_blocks)]
    payload = {"data": data.manifest, "model": config.task["model"], "seed": config.seed,
               "settings": {k: training.get(k) for k in ("batch_size", "grad_accum", "warm_start_examples")}}
    path = cache_file(prepared.output_dir / "warm_start", f"{config.task_name}__seed{config.seed}", payload)
    warm = apply_warm_start(strategy, model, TokenBlocks(), arms, targets, training, config.seed, path, collate)
    return capabilities, warm
