"""FLAD on the one lifecycle: a `PreparedRun` whose fit trains prompted examples of the arms.

Bandit methods (gradient rewards) draw one arm per micro-batch from the auxiliary datasets and
train on the whole few-shot target train half in every update (the gradient capability's target
pass); every other method sees the target as one more arm, "target". Every `eval_every` updates the
few-shot validation half is scored (`FewShotValidation`): after `patience` evaluations without
improvement training stops, and the best weights are restored before testing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..capabilities import Capability, missing, needs
from ..capabilities.matrix import FLAD_OFFERS, recipe_needs
from ..config import ConfigError, RunConfig, build_strategy
from ..runner import PreparedRun
from .data import TargetData
from .models import ModelBundle

TARGET_ARM = "target"
FLAD_TRAINING_DEFAULTS = {"optimizer": "adafactor", "weight_decay": 0.0, "schedule": "constant",
                          "warmup_fraction": 0.01, "min_lr_ratio": 0.0, "betas": [0.9, 0.999]}


def pick(options: dict[str, Any], seed: int, stream: int, *keys: int) -> Any:
    """One template of a target example, a function of (seed, stream, keys) only — the same on every
    rank, in every resumed run, whatever was drawn before."""
    names = sorted(options)
    return options[names[int(np.random.Generator(np.random.PCG64([seed, stream, *keys])).integers(len(names)))]]


def serve_examples(arms: list[Any], target: TargetData, seed: int) -> Any:
    """The feeder's `serve` for FLAD: arm examples by index; the target arm (mixed methods) draws a
    template per use, keyed by its stream position."""
    def serve(readers: Any, domains: np.ndarray, indices: np.ndarray, positions: np.ndarray) -> dict[str, Any]:
        examples = [arms[d].examples[i] if d < len(arms) else pick(target.train[i], seed, 7, int(p))
                    for d, i, p in zip(domains, indices, positions)]
        return {"examples": examples, "domain": torch.from_numpy(domains.astype(np.int64))}
    return serve


class FewShotValidation:
    """Few-shot validation accuracy (curve `val_acc`), the best weights so far, and patience."""

    curve_keys = ("val_acc",)

    def __init__(self, bundle: ModelBundle, docs: list[Any], protocol: str, batch_size: int, patience: int,
                 log: Any = print):
        self.bundle, self.docs, self.protocol, self.batch_size, self.patience = bundle, docs, protocol, batch_size, patience
        self.log = log
        self.best_acc, self.best_step, self.bad_evaluations = -1.0, 0, 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def __call__(self, trainer: Any, module: Any, step: int, curves: dict[str, list]) -> bool:
        from .evaluation import accuracy
        acc = accuracy(self.bundle, self.docs, self.protocol, self.batch_size)
        curves["val_acc"].append(acc)
        if acc > self.best_acc:
            self.best_acc, self.best_step, self.bad_evaluations = acc, step, 0
            self.best_state = {n: p.detach().to("cpu", copy=True) for n, p in module.model.state_dict().items()}
        else:
            self.bad_evaluations += 1
        self.log(f"step {step}: val acc {acc:.3f} (best {self.best_acc:.3f} at {self.best_step})")
        return self.bad_evaluations >= self.patience

    def restore_best(self, model: torch.nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {"best_acc": self.best_acc, "best_step": self.best_step, "bad_evaluations": self.bad_evaluations,
                "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_acc, self.best_step = state["best_acc"], state["best_step"]
        self.bad_evaluations, self.best_state = state["bad_evaluations"], state["best_state"]


@dataclass
class FladRun(PreparedRun):
    bundle: ModelBundle = None
    target: TargetData = None
    output_dir: Path = Path(".")
    test: dict[str, Any] = field(default_factory=dict)
    base_state: dict[str, Any] = field(default_factory=dict)
    base_model_runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bandit(self) -> bool:
        return needs(self.strategy, Capability.GRADIENT_REWARDS)

    @property
    def training(self) -> dict[str, Any]:
        return self.config.task["training"]

    def objective(self) -> Any:
        from ..training.objectives import PromptedExamples
        return PromptedExamples(self.bundle.tokenizer, self.bundle.kind, self.training.get("max_input_length"))

    def fit_parts(self, reference_model: torch.nn.Module | None = None) -> Any:
        from .fit_parts import flad_parts
        return flad_parts(self)

    def final_metrics(self, fit: Any) -> dict[str, Any]:
        validation = fit.callback.evaluator
        validation.restore_best(self.bundle.model)
        self.bundle.model.eval()
        protocol = self.config.task["evaluation"].get("protocol", "t0_rank")
        return {"validation": {"acc": validation.best_acc, "protocol": protocol, "step": validation.best_step}}

    def downstream(self, fit: Any) -> dict[str, Any]:
        from .scoring import test_accuracy
        self.test = test_accuracy(self)
        return {self.target.name: {k: self.test[k] for k in ("acc", "n", "protocol")} | {"num_fewshot": 0}}

    def tokenizer(self) -> Any:
        return self.bundle.tokenizer

    def record_fields(self, fit: Any) -> dict[str, Any]:
        from .record import flad_record_fields
        return flad_record_fields(self, fit)


def prepare_flad_run(config: RunConfig, output_dir: Path) -> FladRun:
    """Data (cached per process), the target's few-shot split, a fresh copy of the base model and the
    strategy over the arms (+ the target arm for methods without gradient rewards)."""
    from ..strategies import get_strategy_class
    from .resources import base_model, flad_data

    cls = get_strategy_class(config.recipe["strategy"])
    lacking = missing(recipe_needs(config.recipe), FLAD_OFFERS)
    if lacking:
        raise ConfigError(f"method: {config.recipe['name']!r} needs {', '.join(map(str, lacking))}, which FLAD "
                          f"task {config.task_name!r} does not offer")
    data = flad_data(config.task["data"], output_dir)
    target = data.target(config.task["data"]["target"], config.seed, config.task["data"].get("template_seed", 0))
    bandit = needs(cls, Capability.GRADIENT_REWARDS)
    domains = [a.name for a in data.arms] + ([] if bandit else [TARGET_ARM])
    sizes = [len(a) for a in data.arms] + ([] if bandit else [len(target.train)])
    strategy = build_strategy(config, domains, sizes, strategy_seed=config.seed)
    bundle, state, runs = base_model(config.task["model"], data, output_dir)
    return FladRun(config, data, strategy, bundle, target, output_dir, base_state=state, base_model_runs=runs)
