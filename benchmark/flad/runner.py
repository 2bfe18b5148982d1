"""`run_flad`: FLAD benchmark runs end to end — one result record per (method, target, split seed).

    records = run_flad("embedded-flad", ["exp3-flad", "target-only"], seeds=[42, 100], targets="all")

Task files (tasks/*.yaml with `family: flad`) name the data (`data.builder`: embedded | p3), the
model, the training budget and the evaluation protocol; recipes (baselines/*.yaml with
`applies_to: flad`, or generic fixed mixtures) name the strategy. A seed is a few-shot split seed
(the paper's five: 42, 100, 222, 3456, 5876) and also seeds training.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import (ConfigError, RunConfig, _merge, apply_overrides, build_strategy, check_applies_to,
                      label, load_recipe, load_task, validate_training)
from ..compute import compute_section, count_params
from ..offline import go_offline
from ..progress import RunClock, StepProgress
from ..model_export import relative_model_dir, run_model_dir, save_model_dir
from ..records import SCHEMA_VERSION, git_commit, package_versions, record_path, write_json_atomic
from .arms import PAPER_SPLIT_SEEDS, T0_HELD_OUT, TargetSpec, arm_list, p3_prefix, resolve_targets
from .data import MAX_EXAMPLES_PER_ARM, Arm, TargetData, arm_configs, load_arm, load_target, manifest_hash
from .evaluation import PROTOCOLS, lm_eval_accuracy, lm_eval_builtin_accuracy, lm_eval_task_name
from .models import ModelBundle, embedded_base_model, hub_model
from .trainer import TARGET_ARM, FladLoop, LoopSettings

FAMILY = "flad"
SUPPORTED_HOOKS = {"arm_rewards", "warm_start_rewards"}


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
    "by_method": (lambda v: isinstance(v, dict), "a mapping method → training overrides"),
}
EVALUATION_KEYS = {"protocol", "also", "template_seed", "batch_size"}
SECTIONS = ("data", "model", "training", "evaluation")
DATA_KEYS = {"builder", "target", "template_seed", "max_examples_per_arm", "arms", "arm_list", "source",
             "skip_missing_arms"}


def _optional_keys() -> dict[str, set[str]]:
    from .models import EMBEDDED_MODEL_KEYS, HF_MODEL_KEYS
    from .synthetic import DEFAULTS
    return {"data": DATA_KEYS | set(DEFAULTS), "model": EMBEDDED_MODEL_KEYS | HF_MODEL_KEYS,
            "training": set(TRAINING_KEYS) - {"by_method"}, "evaluation": EVALUATION_KEYS}


class FladRunConfig(RunConfig):
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


def loop_settings(training: dict[str, Any]) -> LoopSettings:
    known = {f for f in LoopSettings.__dataclass_fields__}
    return LoopSettings(**{k: v for k, v in training.items() if k in known})


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


# -- models -----------------------------------------------------------------------------------------
def build_model_bundle(model_spec: dict[str, Any], data: FladData, cache_dir: Path,
                       log: Callable[[str], None] = print) -> ModelBundle:
    source = model_spec.get("source", "embedded")
    if source == "embedded":
        if data.vocabulary is None:
            raise ConfigError("model.source: 'embedded' needs the embedded data builder (data.builder: embedded)")
        return embedded_base_model(model_spec, data.vocabulary, data.corpus, cache_dir, log)
    if source == "hf":
        return hub_model(model_spec)
    raise ConfigError(f"model.source: must be embedded or hf, got {source!r}")


# -- one run ------------------------------------------------------------------------------------------
def _warm_start(loop: FladLoop, bundle: ModelBundle, config: RunConfig, data: FladData, cache_root: Path,
                target: TargetData) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Warm-start rewards, cached per (model, data, target, split seed): {arm: {ga, gms, agg}}."""
    key_payload = {"model": bundle.description, "data": data.manifest, "target": target.name,
                   "few_shot": target.few_shot_indices, "settings": {
                       k: config.task["training"].get(k) for k in ("batch_size", "grad_accum", "warm_start_examples")}}
    key = hashlib.sha256(json.dumps(key_payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache_root / f"{config.task_name}__{target.name}__seed{config.seed}__{key}.json"
    if path.exists():
        return json.loads(path.read_text()), {"kind": "warm_start", "cached": True, "path": str(path)}
    start = time.perf_counter()
    rewards = loop.warm_start_rewards()
    seconds = time.perf_counter() - start
    write_json_atomic(path, rewards)
    examples = sum(min(loop.s.warm_start_examples, len(a)) for a in data.arms) + len(target.train)
    return rewards, {"kind": "warm_start", "cached": False, "path": str(path), "examples": examples,
                     "seconds": seconds, "steps": 0, "tokens": None}


def _mass(weights: list[list[float]], domains: list[str], roles: dict[str, str], role: str) -> list[float]:
    mask = np.array([roles.get(d) == role for d in domains])
    return [float(np.asarray(w)[mask].sum()) for w in weights]


def run_one(config: RunConfig, data: FladData, bundle_factory: Callable[[], ModelBundle], output_dir: Path,
            device: str = "cpu", log: Callable[[str], None] = print, progress: bool = True,
            track: bool = False, tracking_uri: str | None = None) -> dict[str, Any]:
    wall_start = time.perf_counter()
    training, evaluation = config.task["training"], config.task["evaluation"]
    target_name = config.task["data"]["target"]
    template_seed = config.task["data"].get("template_seed", 0)
    settings = loop_settings(training)
    torch.manual_seed(config.seed)
    target = data.target(target_name, config.seed, template_seed)
    bundle = bundle_factory()
    bundle.model.to(device)
    arm_names = [a.name for a in data.arms]
    from ..strategies import get_strategy_class
    cls = get_strategy_class(config.recipe["strategy"])
    probe_hooks = set(getattr(cls, "hooks", frozenset()))
    if probe_hooks - SUPPORTED_HOOKS:
        raise ConfigError(f"method: {config.recipe['name']!r} needs {sorted(probe_hooks - SUPPORTED_HOOKS)}, which the "
                          "FLAD trainer does not provide")
    bandit = "arm_rewards" in probe_hooks
    domains = arm_names if bandit else arm_names + [TARGET_ARM]
    sizes = [len(a) for a in data.arms] + ([] if bandit else [len(target.train)])
    strategy = build_strategy(config, domains, sizes, strategy_seed=config.seed)
    protocol = evaluation.get("protocol", "t0_rank")
    live = _live_tracking(config, strategy, lambda: loop.curves, tracking_uri) if track else None
    loop = FladLoop(bundle, data.arms, target, strategy, settings, config.seed, protocol,
                    log=lambda m: log(f"  [{config.recipe['name']} {target_name} seed {config.seed}] {m}"),
                    progress=StepProgress(settings.steps, emit=log) if progress else None,
                    on_evaluation=live.flush if live else None)
    extra_runs: list[dict[str, Any]] = []   # the method's own extra compute (the base model is the benchmark's)
    warm, warm_tokens = None, 0
    if "warm_start_rewards" in strategy.hooks:
        warm_tokens = loop.warm_start_tokens()   # the method pays for it even when the rewards are cached
        warm, info = _warm_start(loop, bundle, config, data, output_dir / "flad" / "warm_start", target)
        extra_runs.append({**info, "tokens": warm_tokens, "flops": 0.0,
                           "note": "probe passes: counted in extra_forward_tokens / extra_backward_tokens"})
        kind = getattr(strategy, "reward", "agg")
        strategy.set_warm_start_rewards([warm[a][kind] for a in arm_names])
    if live:
        live.start()
    try:
        result = loop.run()
    except BaseException:
        if live:
            live.abandon("FAILED")
        raise
    eval_start = time.perf_counter()
    work = output_dir / "flad" / "lm_eval" / f"{config.run_id}__{target_name}"
    by_protocol = {}
    for p in [protocol, *[x for x in evaluation.get("also", []) if x != protocol]]:
        if p == "lm_eval_builtin":
            by_protocol[p] = lm_eval_builtin_accuracy(bundle, data.targets[target_name].lm_eval_task,
                                                      evaluation.get("batch_size", 64), config.seed)
            continue
        docs = target.test if p == "t0_rank" else target.test_fixed
        task_name = lm_eval_task_name(config.task_name, target_name, p)
        res = lm_eval_accuracy(bundle, docs, p, task_name, work, evaluation.get("batch_size", 64), config.seed)
        res.pop("scores")
        by_protocol[p] = res
    eval_seconds = time.perf_counter() - eval_start + result.timing["eval_seconds"]
    headline = by_protocol[protocol]
    trajectory = strategy.weight_trajectory()
    roles = data.roles(target_name)
    flad_info: dict[str, Any] = {
        "task": config.task_name, "target": target_name, "split_seed": config.seed, "mode": "bandit" if bandit else "mixed",
        "protocol": protocol, "best_step": result.best_step, "stopped_early": result.stopped_early,
        "few_shot": {"train": len(target.train), "validation": len(target.validation), "test": len(target.test),
                     "indices": target.few_shot_indices},
        "skipped_templates": target.skipped_templates,
        "reward": getattr(strategy, "reward", None), "target_gradient": getattr(strategy, "target_gradient", None),
        "sampler": getattr(strategy, "sampler", None),
        "warm_start_rewards": warm,
        "base_model": {**bundle.description, "built_in_this_run": list(bundle.extra_compute)},
    }
    if roles is not None:
        flad_info["arm_roles"] = {d: roles.get(d, "target") for d in domains}
        flad_info["helpful_mass"] = _mass(trajectory["weights"], domains, roles, "helpful")
        flad_info["harmful_mass"] = _mass(trajectory["weights"], domains, roles, "harmful")
        flad_info["helpful_mass_uniform"] = sum(r == "helpful" for r in roles.values()) / len(domains)
        helpful = np.array([roles.get(d) == "helpful" for d in domains])
        aux = np.array([d != TARGET_ARM for d in domains])
        flad_info["helpful_drawn"] = [float(np.asarray(x["draws"])[helpful].sum() / max(np.asarray(x["draws"])[aux].sum(), 1))
                                      for x in result.drawn]
        flad_info["drawn_steps"] = [x["step"] for x in result.drawn]
    timing = dict(result.timing)
    train_seconds = timing["train_seconds"]
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": config.run_id,
        "status": "completed",
        "error": None,
        "task": config.task_name,
        "target": target_name,
        "method": config.recipe["name"],
        "strategy": config.recipe["strategy"],
        "method_variant": dict(config.recipe["hyperparameters"]),
        "seed": config.seed,
        "config": config.to_dict(),
        "config_hash": config.config_hash,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "data_manifest": {**data.manifest, "target": target_name, "hash": manifest_hash(data.arms, target)},
        "curves": result.curves,
        "mixture": {"domains": domains, **trajectory},
        "final": {"validation": {"acc": result.best_val_acc, "protocol": protocol, "step": result.best_step},
                  "test": {"acc": headline["acc"], "n": headline.get("n"), "protocol": protocol,
                           "avg_ppl": None, "worst_ppl": None,  # pre-training metrics: not defined for FLAD
                           "by_protocol": by_protocol}},
        "downstream": {target_name: {"acc": headline["acc"], "n": headline.get("n"), "protocol": protocol,
                                     "num_fewshot": 0}},
        "flad": flad_info,
        "timing": {"wall_seconds": time.perf_counter() - wall_start, "train_seconds": train_seconds,
                   "strategy_seconds": timing["strategy_seconds"], "reward_seconds": timing["reward_seconds"],
                   "strategy_share": timing["strategy_seconds"] / train_seconds if train_seconds else 0.0,
                   "reward_share": timing["reward_seconds"] / train_seconds if train_seconds else 0.0,
                   "eval_seconds": eval_seconds},
        "compute": compute_section(result.steps_done, result.train_tokens, count_params(bundle.model),
                                   extra_forward_tokens=result.probe_tokens + warm_tokens,
                                   extra_backward_tokens=result.probe_tokens + warm_tokens,
                                   extra_runs=extra_runs, method_seconds=timing["strategy_seconds"]),
        "created_unix": time.time(),
    }
    # the best-on-validation weights (restored by the loop), for transformers and the lm_eval CLI
    record["model_dir"] = relative_model_dir(output_dir, save_model_dir(
        bundle.model, bundle.tokenizer, run_model_dir(output_dir, config.run_id)))
    path = write_json_atomic(record_path(output_dir / "records", f"{config.run_id}"), record)
    if live:
        _close_tracking(live, record, path, tracking_uri)
    return record


def _live_tracking(config: RunConfig, strategy: Any, curves: Callable[[], dict], uri: str | None) -> Any:
    """Stream the run's curves and arm weights to MLflow while the loop trains."""
    from ..training.live_tracking import LiveTracking

    identity = {"run_id": config.run_id, "task": config.task_name, "method": config.recipe["name"],
                "seed": config.seed, "config_hash": config.config_hash, "config": config.to_dict(),
                "git_commit": git_commit()}
    return LiveTracking(uri, identity, list(strategy.domains), curves, strategy.weight_trajectory)


def _close_tracking(live: Any, record: dict[str, Any], path: Path, uri: str | None) -> None:
    """Final metrics and the record on the live MLflow run (or the whole record, if it never opened)."""
    from ..tracking import track_record

    run_id = live.close(record, [path])
    if run_id is None:
        track_record(record, path, [], uri)
        return
    record["mlflow_run_id"] = run_id
    write_json_atomic(path, record)


def run_flad(task_name: str, method: str | list[str], seeds: list[int] | None = None,
             targets: str | list[str] | None = "all", overrides: list[str] | None = None,
             output_dir: Path | str = Path("benchmark_runs"), quick: bool = False, device: str | None = None,
             track: bool = False, tracking_uri: str | None = None, log: Callable[[str], None] = print,
             progress: bool = True) -> list[dict[str, Any]]:
    """Run methods × targets × split seeds; returns the result records (also written under
    output_dir/records/). Every configuration is validated before any training starts."""
    if load_task(task_name).get("data", {}).get("builder") == "embedded":
        go_offline()
    output_dir = Path(output_dir)
    methods = [m for item in ([method] if isinstance(method, str) else method) for m in item.split(",") if m]
    task = load_task(task_name)
    seeds = list(seeds or task.get("seeds") or PAPER_SPLIT_SEEDS)
    first = resolve_flad_config(task_name, methods[0], seeds[0], "?", overrides, quick)
    threads = first.task["training"].get("threads")
    if threads:
        torch.set_num_threads(threads)
    data = build_flad_data(first.task["data"], output_dir / "flad" / "data", log)
    try:
        names = resolve_targets(targets, list(data.targets))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    configs = [resolve_flad_config(task_name, m, s, t, overrides, quick) for m in methods for t in names for s in seeds]
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    base: dict[str, Any] = {}

    def factory(config: RunConfig) -> Callable[[], ModelBundle]:
        def make() -> ModelBundle:
            spec = config.task["model"]
            key = json.dumps(spec, sort_keys=True, default=str)
            if spec.get("source", "embedded") == "embedded":
                if key not in base:
                    bundle = build_model_bundle(spec, data, output_dir / "flad" / "base_models", log)
                    base[key] = (bundle, {n: p.detach().clone() for n, p in bundle.model.state_dict().items()})
                    fresh_compute = bundle.extra_compute
                else:
                    fresh_compute = []
                bundle, state = base[key]
                bundle.model.load_state_dict(state)
                return ModelBundle(bundle.model, bundle.tokenizer, bundle.kind, bundle.description, list(fresh_compute))
            return build_model_bundle(spec, data, output_dir / "flad" / "base_models", log)
        return make

    records = []
    clock = RunClock(len(configs))
    for config in configs:
        log(clock.header(f"{config.recipe['name']} on {task_name}/{config.task['data']['target']} "
                         f"split seed {config.seed}"))
        records.append(run_one(config, data, factory(config), output_dir, device, log, progress,
                               track, tracking_uri))
    return records
