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
from ..training.warm_start import apply_warm_start, cache_file
from .family import FLAD_TRAINING_DEFAULTS, FewShotValidation, FladRun, pick, serve_examples


def _target_pass_items(run: FladRun) -> Any:
    seed, train = run.config.seed, run.target.train
    return lambda pass_index: [pick(options, seed, 8, pass_index, i) for i, options in enumerate(train)]


def _warm_start(run: FladRun) -> dict | None:
    """Rewards at the initial weights for methods that declare the warm start (cached on disk)."""
    t = run.training
    payload = {"model": run.bundle.description, "data": run.data.manifest, "target": run.target.name,
               "few_shot": run.target.few_shot_indices, "rule": "summed-batches-v2",
               "settings": {k: t.get(k) for k in ("batch_size", "grad_accum", "warm_start_examples")}}
    path = cache_file(run.output_dir / "flad" / "warm_start", f"{run.config.task_name}__{run.target.name}__"
                      f"seed{run.config.seed}", payload)
    items = [pick(options, run.config.seed, 8, 0, i) for i, options in enumerate(run.target.train)]
    return apply_warm_start(run.strategy, run.bundle.model, run.objective(), run.data.arms, items, t,
                            run.config.seed, path)


def _domain_gradients(run: FladRun, sizes: list[int]) -> Any:
    """Batches of each arm served exactly as training serves them (the target arm draws a template
    per row), and the target gradient on the target's training half (a fresh template draw per pass)."""
    from ..training.domain_gradients import DomainBatches, DomainGradients

    settings, seed = run.strategy.gradient_settings(), run.config.seed
    size = settings.batch_size or run.training["batch_size"]
    serve = serve_examples(run.data.arms, run.target, seed)
    domains = DomainBatches(sizes, lambda d, rows: serve(None, np.full(len(rows), d), rows, rows), size, seed)
    target = TargetBatches(_target_pass_items(run), size, seed) if settings.target else None
    return DomainGradients(settings, len(sizes), run.training["grad_accum"], domains, target)


def flad_parts(run: FladRun) -> FitParts:
    config, training = run.config, run.training
    seed_everything(config.seed)
    run.bundle.model.load_state_dict(run.base_state)   # every run starts from the base weights
    run.bundle.model.train()
    warm_start_run = _warm_start(run)
    grad_accum, batch_size = training["grad_accum"], training["batch_size"]
    capabilities = []
    if run.bandit:
        target = TargetBatches(_target_pass_items(run), batch_size, config.seed)
        capabilities.append(GradientRewards(run.strategy.reward_settings(), target, len(run.data.arms), grad_accum))
    sizes = [len(a) for a in run.data.arms] + ([] if run.bandit else [len(run.target.train)])
    if needs(run.strategy, Capability.DOMAIN_GRADIENTS):   # DGA: every arm's gradient vs the target's
        capabilities.append(_domain_gradients(run, sizes))
    module = MixingLanguageModel(run.bundle.model, run.objective(), len(run.domains),
                                 optimizer_settings(training, FLAD_TRAINING_DEFAULTS), grad_accum=grad_accum,
                                 grad_clip=training.get("grad_clip", 1.0), capabilities=capabilities)
    datamodule = MixtureDataModule([np.arange(n) for n in sizes], run.strategy, batch_size, grad_accum,
                                   config.seed, serve_examples(run.data.arms, run.target, config.seed))
    protocol = config.task["evaluation"].get("protocol", "t0_rank")
    label = f"  [{config.recipe['name']} {run.target.name} seed {config.seed}]"
    validation = FewShotValidation(run.bundle, run.target.validation, protocol, training.get("eval_batch_size", 64),
                                   training.get("patience", 10), log=lambda m: print(f"{label} {m}", flush=True))
    callback = MixingCallback(validation, training["steps"], training.get("eval_every", 100),
                              training.get("log_every", 10), extra_curves=("lr", "draws"))
    return FitParts(module, datamodule, callback, run.strategy, training, warm_start_run=warm_start_run)
