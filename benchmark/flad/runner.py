"""`run_flad`: FLAD benchmark runs end to end — one result record per (method, target, split seed).

    records = run_flad("embedded-flad", ["exp3-flad", "target-only"], seeds=[42, 100], targets="all")

Task files (tasks/*.yaml with `family: flad`) name the data (`data.builder`: embedded | p3), the
model, the training budget and the evaluation protocol; recipes (baselines/*.yaml with
`applies_to: flad`, or generic fixed mixtures) name the strategy. A seed is a few-shot split seed
(the paper's five: 42, 100, 222, 3456, 5876) and also seeds training.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import (ConfigError, RunConfig, _merge, apply_overrides, check_applies_to,
                      label, load_recipe, load_task, validate_training)
from ..offline import go_offline
from ..progress import RunClock
from .arms import PAPER_SPLIT_SEEDS, T0_HELD_OUT, TargetSpec, arm_list, p3_prefix, resolve_targets
from .data import MAX_EXAMPLES_PER_ARM, Arm, TargetData, arm_configs, load_arm, load_target
from .evaluation import PROTOCOLS

FAMILY = "flad"


# -- configuration ----------------------------------------------------------------------------------
def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _num(v: Any, low: float = 0.0) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= low


TRAINING_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "steps": (_int, "a positive integer"), "batch_size": (_int, "a positive integer"),
    "grad_accum": (_int, "a positive integer (G: micro-batches = bandit rounds per update)"),
    "lr": (lambda v: _num(v) and v > 0, "a positive number"),
    "optimizer": (lambda v: v in ("adafactor", "adamw"), "adafactor or adamw"),
    "weight_decay": (_num, "a non-negative number"),
    "warmup_fraction": (lambda v: _num(v) and v < 1, "a number in [0, 1)"),
    "schedule": (lambda v: v in ("constant", "cosine"), "constant or cosine"),
    "grad_clip": (_num, "a non-negative number (0 disables clipping)"),
    "eval_every": (_int, "a positive integer"), "patience": (_int, "a positive integer"),
    "eval_batch_size": (_int, "a positive integer"), "log_every": (_int, "a positive integer"),
    "precision": (lambda v: v in ("32-true", "bf16-mixed"), "32-true or bf16-mixed"),
    "max_input_length": (_int, "a positive integer"), "warm_start_examples": (_int, "a positive integer"),
    "threads": (_int, "a positive integer (CPU threads)"),
    "checkpoint_every": (_int, "a positive integer (optimizer steps between checkpoints)"),
    "by_method": (lambda v: isinstance(v, dict), "a mapping method → training overrides"),
}
EVALUATION_KEYS = {"protocol", "also", "template_seed", "batch_size"}
SECTIONS = ("data", "model", "training", "evaluation")
DATA_KEYS = {"builder", "target", "template_seed", "max_examples_per_arm", "arms", "arm_list", "source",
             "skip_missing_arms"}


def _optional_keys() -> dict[str, set[str]]:
    from .base_model import EMBEDDED_MODEL_KEYS
    from .models import HF_MODEL_KEYS
    from .synthetic import DEFAULTS
    return {"data": DATA_KEYS | set(DEFAULTS), "model": EMBEDDED_MODEL_KEYS | HF_MODEL_KEYS,
            "training": set(TRAINING_KEYS) - {"by_method"}, "evaluation": EVALUATION_KEYS}


class FladRunConfig(RunConfig):
    @property
    def family(self) -> str:
        return FAMILY

    @property
    def run_id(self) -> str:  # the target is part of a FLAD run's identity
        return (f"{self.task_name}__{self.task['data']['target']}__{self.recipe['name']}__seed{self.seed}__"
                f"{self.config_hash[:10]}")


OPTIONAL_KEYS = _optional_keys()


def resolve_flad_config(task_name: str, method: str, seed: int, target: str, overrides: list[str] | None = None,
                        quick: bool = False) -> RunConfig:
    """Task + recipe + `--set` overrides → a validated RunConfig for one (method, target, split seed).
    The target is part of the configuration (data.target), the seed is not (runs over splits share a hash)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed: must be a non-negative integer, got {seed!r}")
    task = load_task(task_name)
    if task.get("family") != FAMILY:
        raise ConfigError(f"task: {task_name!r} is a {task.get('family')} task, not a flad task")
    recipe = load_recipe(method)
    check_applies_to(method, recipe, task_name, FAMILY)
    if quick:
        task = _merge(task, task.get("quick", {}))
    body = {section: copy.deepcopy(task.get(section, {})) for section in SECTIONS}
    by_method = body["training"].pop("by_method", {}) or {}
    if method in by_method:
        body["training"] = _merge(body["training"], by_method[method])
    body["data"]["target"] = target
    # optional keys may be set even where the task file leaves them at their defaults
    apply_overrides(body, recipe, overrides or [], OPTIONAL_KEYS)
    _validate(body)
    return FladRunConfig(label(task_name), body, recipe, seed, quick)


def _validate(body: dict[str, Any]) -> None:
    training = body["training"]
    validate_training(training, TRAINING_KEYS, required=("steps", "batch_size", "grad_accum", "lr"))
    evaluation = body["evaluation"]
    unknown = sorted(set(evaluation) - EVALUATION_KEYS)
    if unknown:
        raise ConfigError(f"evaluation.{unknown[0]}: unknown key; allowed: {', '.join(sorted(EVALUATION_KEYS))}")
    for protocol in [evaluation.get("protocol", "t0_rank"), *evaluation.get("also", [])]:
        if protocol not in PROTOCOLS:
            raise ConfigError(f"evaluation.protocol: must be one of {list(PROTOCOLS)}, got {protocol!r}")
    if body["data"].get("builder") not in ("embedded", "p3"):
        raise ConfigError(f"data.builder: must be embedded or p3, got {body['data'].get('builder')!r}")
    if body["data"]["builder"] == "embedded" and "lm_eval_builtin" in [evaluation.get("protocol"), *evaluation.get("also", [])]:
        raise ConfigError("evaluation.protocol: lm_eval_builtin runs lm-eval's own hub tasks; the embedded targets "
                          "have none (use t0_rank or lm_eval_acc)")


# -- data -------------------------------------------------------------------------------------------
@dataclass
class FladData:
    """What a FLAD run needs: the auxiliary arms, the targets' specs, a loader for one target's
    few-shot split, and (embedded benchmark only) which arms truly help each target."""

    arms: list[Arm]
    targets: dict[str, TargetSpec]
    source: Any
    manifest: dict[str, Any]
    vocabulary: list[str] | None = None
    corpus: np.ndarray | None = None
    truth: dict[str, Any] | None = None
    _targets: dict[tuple[str, int], TargetData] = field(default_factory=dict)

    def target(self, name: str, split_seed: int, template_seed: int) -> TargetData:
        key = (name, split_seed)
        if key not in self._targets:
            self._targets[key] = load_target(self.source, self.targets[name], split_seed, template_seed)
        return self._targets[key]

    def roles(self, target: str) -> dict[str, str] | None:
        if self.truth is None:
            return None
        from .synthetic import arm_roles
        return arm_roles(self.truth, target)


def build_flad_data(data: dict[str, Any], cache_dir: Path, log: Callable[[str], None] = print) -> FladData:
    builder = data.get("builder")
    template_seed = data.get("template_seed", 0)
    max_examples = data.get("max_examples_per_arm", MAX_EXAMPLES_PER_ARM)
    if builder == "embedded":
        from . import synthetic as syn
        from .sources import P3Source
        spec = syn.resolve_spec(data)
        directory = syn.write_embedded(spec, cache_dir)
        truth = syn.load_ground_truth(directory)
        source = P3Source(directory / "p3")
        names = list(truth["arms"])
        targets = syn.target_specs(truth)
        vocab, corpus = truth["vocabulary"], syn.pretraining_corpus(spec, 32)
    elif builder == "p3":
        truth, vocab, corpus = None, None, None
        variant = data.get("arm_list", "default")
        names = arm_list(data.get("arms", "t0mix"), variant)
        targets = dict(T0_HELD_OUT)
        source = _real_source(data.get("source") or {}, names, targets, template_seed)
    else:
        raise ConfigError(f"data.builder: must be embedded or p3, got {builder!r}")
    configs = arm_configs(source, names)
    missing = [a for a in names if not configs[a]]
    if missing and not data.get("skip_missing_arms", False):
        raise ConfigError(f"data: {len(missing)} arm(s) have no template configs in {source.describe()}: "
                          f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} (set data.skip_missing_arms=true "
                          "to run without them; they are listed in the record's data manifest)")
    start = time.perf_counter()
    arms = [load_arm(source, a, configs[a], "train", max_examples, template_seed) for a in names if configs[a]]
    log(f"loaded {len(arms)} auxiliary arms ({sum(len(a) for a in arms)} examples) in {time.perf_counter() - start:.1f} s")
    manifest = {"source": source.describe(), "arms": {a.name: {"examples": len(a), "templates": a.templates}
                                                      for a in arms},
                "missing_arms": missing, "max_examples_per_arm": max_examples, "template_seed": template_seed}
    return FladData(arms, targets, source, manifest, vocab, corpus, truth)


def _real_source(spec: dict[str, Any], arms: list[str], targets: dict[str, TargetSpec], template_seed: int) -> Any:
    """bigscience/P3 (default) or promptsource templates over raw hub datasets (FLAD code's route)."""
    from .arms import split_arm
    from .sources import P3Source, PromptsourceSource, hub_raw_loader, local_raw_loader, tfew_hellaswag_templates
    kind = spec.get("kind", "p3")
    if kind == "p3":
        return P3Source(spec.get("path", "bigscience/P3"), spec.get("revision"))
    if kind != "promptsource":
        raise ConfigError(f"data.source.kind: must be p3 or promptsource, got {kind!r}")
    datasets = {p3_prefix(a): split_arm(a) for a in arms}
    datasets.update({t.p3_prefix: t.hub for t in targets.values()})
    overrides = {}
    if spec.get("hellaswag_templates", "tfew") == "tfew":
        overrides[targets["hellaswag"].p3_prefix] = tfew_hellaswag_templates(template_seed)
    loader = local_raw_loader(Path(spec["raw_dir"])) if spec.get("raw_dir") else hub_raw_loader
    suffixes: dict[str, list[str]] = {}  # ANLI's rounds: splits of one raw dataset, a suffix per round
    for t in targets.values():
        if t.p3_suffix:
            suffixes.setdefault(t.p3_prefix, []).append(t.p3_suffix)
    return PromptsourceSource(spec.get("templates_root"), datasets, loader, overrides, suffixes, template_seed)


# -- runs ---------------------------------------------------------------------------------------------
def flad_configs(task_name: str, methods: list[str], seeds: list[int] | None, targets: str | list[str] | None,
                 overrides: list[str] | None, quick: bool, output_dir: Path) -> list[RunConfig]:
    """Every (method, target, split seed) configuration, validated; `targets`: names, "all" or None (the
    task's default targets)."""
    from .resources import flad_data

    task = load_task(task_name)
    seeds = list(seeds or task.get("seeds") or PAPER_SPLIT_SEEDS)
    first = resolve_flad_config(task_name, methods[0], seeds[0], "?", overrides, quick)
    threads = first.task["training"].get("threads")
    if threads:
        torch.set_num_threads(threads)
    data = flad_data(first.task["data"], output_dir)
    try:
        names = resolve_targets(targets or ",".join(task.get("default_targets", [])) or "all", list(data.targets))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return [resolve_flad_config(task_name, m, s, t, overrides, quick) for m in methods for t in names for s in seeds]


def run_flad(task_name: str, method: str | list[str], seeds: list[int] | None = None,
             targets: str | list[str] | None = "all", overrides: list[str] | None = None,
             output_dir: Path | str = Path("benchmark_runs"), quick: bool = False, device: str | None = None,
             track: bool = False, tracking_uri: str | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Run methods × targets × split seeds through the one lifecycle; returns the result records (also
    written under output_dir/records/). Every configuration is validated before any training starts."""
    from ..runner import execute, prepare_run

    go_offline()
    output_dir = Path(output_dir)
    methods = [m for item in ([method] if isinstance(method, str) else method) for m in item.split(",") if m]
    configs = flad_configs(task_name, methods, seeds, targets, overrides, quick, output_dir)
    prepared = [prepare_run(config, output_dir) for config in configs]
    accelerator = "gpu" if (device or ("cuda" if torch.cuda.is_available() else "cpu")) == "cuda" else "cpu"
    records, clock = [], RunClock(len(prepared))
    for item in prepared:
        print(clock.header(f"{item.config.recipe['name']} on {task_name}/{item.target.name} split seed "
                           f"{item.config.seed}"), flush=True)
        record, _ = execute(item, output_dir, progress=progress, track=track, tracking_uri=tracking_uri,
                            accelerator=accelerator)
        records.append(record)
    return records
