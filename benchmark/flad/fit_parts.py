"""The Lightning parts of one FLAD fit: module, data module over the arms, validation and capabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..capabilities import Capability, needs
from ..training.callback import MixingCallback
from ..training.datamodule import MixtureDataModule
from ..training.fit import FitParts, optimizer_settings, seed_everything
from ..training.gradient_capability import GradientRewards, TargetBatches
from ..training.module import MixingLanguageModel
from .family import FLAD_TRAINING_DEFAULTS, FewShotValidation, FladRun, pick, serve_examples, warm_start_cached


def _target_pass_items(run: FladRun) -> Any:
    seed, train = run.config.seed, run.target.train
    return lambda pass_index: [pick(options, seed, 8, pass_index, i) for i, options in enumerate(train)]


def _warm_start(run: FladRun) -> None:
    """Rewards at the initial weights for methods that declare the warm start (cached on disk)."""
    if not needs(run.strategy, Capability.WARM_START_REWARDS):
        return
    run.warm, run.warm_info = warm_start_cached(run)
    kind = run.strategy.reward_settings().kind
    run.strategy.set_warm_start_rewards([run.warm[a.name][kind] for a in run.data.arms])


def flad_parts(run: FladRun) -> FitParts:
    config, training = run.config, run.training
    seed_everything(config.seed)
    run.bundle.model.load_state_dict(run.base_state)   # every run starts from the base weights
    run.bundle.model.train()
    _warm_start(run)
    grad_accum, batch_size = training["grad_accum"], training["batch_size"]
    capabilities = []
    if run.bandit:
        target = TargetBatches(_target_pass_items(run), batch_size, config.seed)
        capabilities.append(GradientRewards(run.strategy.reward_settings(), target, len(run.data.arms), grad_accum))
    module = MixingLanguageModel(run.bundle.model, run.objective(), len(run.domains),
                                 optimizer_settings(training, FLAD_TRAINING_DEFAULTS), grad_accum=grad_accum,
                                 grad_clip=training.get("grad_clip", 1.0), capabilities=capabilities)
    sizes = [len(a) for a in run.data.arms] + ([] if run.bandit else [len(run.target.train)])
    datamodule = MixtureDataModule([np.arange(n) for n in sizes], run.strategy, batch_size, grad_accum,
                                   config.seed, serve_examples(run.data.arms, run.target, config.seed))
    protocol = config.task["evaluation"].get("protocol", "t0_rank")
    label = f"  [{config.recipe['name']} {run.target.name} seed {config.seed}]"
    validation = FewShotValidation(run.bundle, run.target.validation, protocol, training.get("eval_batch_size", 64),
                                   training.get("patience", 10), log=lambda m: print(f"{label} {m}", flush=True))
    callback = MixingCallback(validation, training["steps"], training.get("eval_every", 100),
                              training.get("log_every", 10), extra_curves=("lr", "draws"))
    return FitParts(module, datamodule, callback, run.strategy, training)
