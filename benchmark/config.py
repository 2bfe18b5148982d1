"""Task files + method recipes + overrides → one validated, hashable run configuration.

Every error here is a `ConfigError` whose message names the bad field and what is allowed; the CLI
turns it into a one-line message and exit status 2 before any training starts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import registry
from .data.pretrain_target import DEFAULT_TARGET_BLOCKS
from .errors import ConfigError
from .paths import resource_dir
from .strategies import StrategyConfigError, get_strategy_class
from .yaml_io import safe_load

__all__ = ["ConfigError"]   # re-exported: callers import ConfigError from here


# Allowed keys of each task section, with a validator per key: (type, predicate, description).
def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _non_negative_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _positive_number(v: Any) -> bool:
    return _non_negative_number(v) and v > 0


def _fraction(v: Any) -> bool:
    return _non_negative_number(v) and v < 1


TRAINING_KEYS: dict[str, tuple[Any, str]] = {
    "steps": (_positive_int, "a positive integer"),
    "batch_size": (_positive_int, "a positive integer"),
    "grad_accum": (_positive_int, "a positive integer"),
    "lr": (_positive_number, "a positive number"),
    "betas": (lambda v: isinstance(v, list) and len(v) == 2 and all(_fraction(b) for b in v),
              "a list of two numbers in [0, 1)"),
    "eps": (_positive_number, "a positive number"),
    "weight_decay": (_non_negative_number, "a non-negative number"),
    "warmup_fraction": (_fraction, "a number in [0, 1)"),
    "min_lr_ratio": (lambda v: _non_negative_number(v) and v <= 1, "a number in [0, 1]"),
    "grad_clip": (_non_negative_number, "a non-negative number (0 disables clipping)"),
    "eval_every": (_positive_int, "a positive integer"),
    "eval_batch_size": (_positive_int, "a positive integer"),
    "checkpoint_every": (_positive_int, "a positive integer"),
    "log_every": (_positive_int, "a positive integer"),
    "precision": (lambda v: v in ("32-true", "bf16-mixed", "16-mixed", "bf16-true"),
                  "one of 32-true, bf16-mixed, 16-mixed, bf16-true"),
    "warm_start_examples": (_positive_int, "a positive integer (examples per domain in a warm start)"),
}
SECTIONS = ("data", "model", "training", "evaluation")
OVERRIDE_SECTIONS = SECTIONS + ("method",)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _index(kind: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(resource_dir(kind).glob("*.yaml"))}


# Task files live in tasks/, recipes in baselines/; installed packages add more by entry point.
_FILE_KINDS = {"tasks": "tasks", "recipes": "baselines"}
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def _names(kind: str) -> list[str]:
    return sorted(set(_index(_FILE_KINDS[kind])) | set(registry.plugins(kind)))


def task_names() -> list[str]:
    return _names("tasks")


def recipe_names() -> list[str]:
    return _names("recipes")


def is_path(name: str) -> bool:
    """`--task x.yaml` / `--method path/to/recipe.yaml` name files; anything else names a registered one."""
    return name.endswith((".yaml", ".yml")) or "/" in name or "\\" in name


def _entry_point_yaml(value: str, field_name: str) -> Path:
    """An entry point of group benchmark.tasks / benchmark.recipes → its YAML file. The value is
    "package:relative/path.yaml" (a file shipped inside the package) or "module:attr" where attr
    is a path or a function returning one."""
    package, _, rest = value.partition(":")
    if rest.endswith((".yaml", ".yml")):
        return Path(str(resources.files(package).joinpath(rest)))
    target = registry.import_target(value, field_name)
    return Path(target() if callable(target) else target)


def _yaml_path(kind: str, name: str, field_name: str) -> Path:
    """The file a task or method name stands for: a path, a shipped file or an entry point."""
    if not isinstance(name, str):
        raise ConfigError(f"{field_name}: must be a name or a path to a YAML file, got {name!r}")
    if is_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"{field_name}: file not found: {name}")
        return path
    index, plugins = _index(_FILE_KINDS[kind]), registry.plugins(kind)
    if name in index:
        return index[name]
    if name in plugins:
        return _entry_point_yaml(plugins[name], field_name)
    raise registry.name_error(field_name, registry.KINDS[kind].noun, name, _names(kind), import_hint=False)


def label(name: str) -> str:
    """What records and run ids call a task or method given by name or path (the file's stem)."""
    return Path(name).stem if is_path(name) else name


def _load_task_file(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A task file with its `include:` chain resolved: the including file's keys override,
    deep-merged (lm-eval's convention). `include` is a file relative to the including file's
    folder, or a task name."""
    path = path.resolve()
    if path in chain:
        raise ConfigError(f"include: cycle {' -> '.join(p.name for p in (*chain, path))}")
    data = load_yaml(path)
    include = data.pop("include", None)
    if include is None:
        return data
    if not isinstance(include, str):
        raise ConfigError(f"{path}: include: must be a file name or a task name, got {include!r}")
    sibling = path.parent / include
    base_path = sibling if sibling.is_file() else _yaml_path("tasks", include, f"{path.name}: include")
    return _merge(_load_task_file(base_path, (*chain, path)), data)


def load_task(name: str) -> dict[str, Any]:
    """A task by name (tasks/, or an entry point of group benchmark.tasks) or by path, includes resolved."""
    return _load_task_file(_yaml_path("tasks", name, "task"))


def load_recipe(name: str) -> dict[str, Any]:
    """A method recipe by name (baselines/, or an entry point of group benchmark.recipes) or by
    path. Its `strategy` (and `pipeline`) may be a registered name or "package.module:Class"."""
    path = _yaml_path("recipes", name, "method")
    recipe = load_yaml(path)
    registry.check("strategies", recipe.get("strategy"), f"{path}: strategy")
    if recipe.get("pipeline") is not None:
        registry.check("pipelines", recipe["pipeline"], f"{path}: pipeline")
    recipe.setdefault("hyperparameters", {})
    recipe["name"] = str(recipe.get("name") or label(name)) if is_path(name) else name
    if not _SAFE_NAME.fullmatch(recipe["name"]):
        raise ConfigError(f"{path}: name: must be letters, digits and . _ + - (it is part of run ids), "
                          f"got {recipe['name']!r}")
    return recipe


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. training.steps=100 or method.alpha=0.5")
    key, raw = text.split("=", 1)
    path = key.strip().split(".")
    if path[0] not in OVERRIDE_SECTIONS or len(path) < 2:
        raise ConfigError(f"--set {key!r}: the key must start with one of {', '.join(OVERRIDE_SECTIONS)} "
                          "followed by a field, e.g. training.steps")
    try:
        value = safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r} ({exc})") from exc
    return path, value


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class RunConfig:
    task_name: str
    task: dict[str, Any]          # data / model / training / evaluation sections, resolved
    recipe: dict[str, Any]        # name, strategy, hyperparameters, description, source
    seed: int
    quick: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def config_hash(self) -> str:
        """Hash of everything but the seed: runs of one configuration over seeds share it."""
        payload = {k: v for k, v in self.to_dict().items() if k != "seed"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def family(self) -> str:
        return "pretrain"

    @property
    def run_id(self) -> str:
        return f"{self.task_name}__{self.recipe['name']}__seed{self.seed}__{self.config_hash[:10]}"


def check_applies_to(method: str, recipe: dict[str, Any], task_name: str, family: str | None) -> None:
    """A recipe marked `applies_to: flad` (or `pretrain`) only runs on tasks of that family."""
    applies_to = recipe.get("applies_to")
    if applies_to and applies_to != family:
        allowed = [n for n in recipe_names() if load_recipe(n).get("applies_to") in (None, family)]
        why = f" ({recipe['applies_because']})" if recipe.get("applies_because") else ""
        raise ConfigError(f"method: {method!r} applies to {applies_to} tasks{why}, and task {task_name!r} is a "
                          f"{family} task; methods for it: {', '.join(allowed)}")


def apply_overrides(body: dict[str, Any], recipe: dict[str, Any], overrides: list[str],
                    optional_keys: dict[str, set[str]] | None = None) -> None:
    """Apply `--set` overrides in place: `method.NAME` → recipe hyperparameters; anything else must
    name an existing key of a task section (or one of that section's `optional_keys`)."""
    for text in overrides:
        path, value = parse_override(text)
        if path[0] == "method":
            if len(path) != 2:
                raise ConfigError(f"--set {'.'.join(path)}: method hyperparameters are flat (method.NAME)")
            recipe["hyperparameters"][path[1]] = value
            continue
        node = body[path[0]]
        for part in path[1:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"--set {'.'.join(path)}: unknown key; {part!r} is not a section of {path[0]}")
            node = node[part]
        allowed = set(node)
        if len(path) == 2 and optional_keys:
            allowed |= optional_keys.get(path[0], set())
        if path[-1] not in allowed:
            raise ConfigError(f"--set {'.'.join(path)}: unknown key; allowed here: {', '.join(sorted(allowed)) or '(none)'}")
        node[path[-1]] = value


def resolve_run_config(task_name: str, method: str, seed: int, overrides: list[str] | None = None,
                       quick: bool = False, target: str | None = None) -> RunConfig:
    """The one entry point for both families: the task's family picks the schema (FLAD: its own
    training keys, the target in the configuration, default the task's first default target)."""
    task = load_task(task_name)
    if task.get("family") == "flad":
        from .flad.runner import resolve_flad_config
        if target is None and not task.get("default_targets"):
            raise ConfigError(f"--target: task {task_name!r} names no default_targets; give a target")
        return resolve_flad_config(task_name, method, seed, target or task["default_targets"][0], overrides, quick)
    return resolve_config(task_name, method, seed, overrides, quick, target)


def resolve_config(task_name: str, method: str, seed: int, overrides: list[str] | None = None,
                   quick: bool = False, target: str | None = None) -> RunConfig:
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed: must be a non-negative integer, got {seed!r}")
    task = load_task(task_name)
    recipe = load_recipe(method)
    check_applies_to(recipe["name"], recipe, label(task_name), task.get("family"))
    if quick:
        task = _merge(task, task.get("quick", {}))
    task_body = {s: task.get(s, {}) for s in SECTIONS}
    if target:   # a held-out split of one domain (data/pretrain_target.py)
        task_body["data"] = {**task_body["data"], "target": {"domain": target, "blocks": DEFAULT_TARGET_BLOCKS}}
    apply_overrides(task_body, recipe, overrides or [], {"training": set(TRAINING_KEYS)})
    config = RunConfig(label(task_name), task_body, recipe, seed, quick)
    validate_training(config.task["training"])
    return config


def validate_training(training: dict[str, Any], keys: dict[str, tuple[Any, str]] | None = None,
                      required: tuple[str, ...] = ("steps", "batch_size", "lr")) -> None:
    """Every key known and valid (`keys`: key → (check, description of allowed values))."""
    keys = TRAINING_KEYS if keys is None else keys
    for key, value in training.items():
        if key not in keys:
            raise ConfigError(f"training.{key}: unknown key; allowed: {', '.join(keys)}")
        check, allowed = keys[key]
        if not check(value):
            raise ConfigError(f"training.{key}: must be {allowed}, got {value!r}")
    for key in required:
        if key not in training:
            raise ConfigError(f"training.{key}: required")


def resolve_mixture_reference(value: Any, task: dict[str, Any], field: str) -> Any:
    """Recipes can name mixtures instead of listing numbers:
    `task` → the task's `data.initial_weights` (e.g. The Pile Weights for pile-odm, proportional for
    the embedded benchmark); `published:NAME` → column NAME of paper_tables/pile_weights.yaml."""
    if value == "task":
        value = task["data"].get("initial_weights", "proportional")
    if isinstance(value, str) and value.startswith("published:"):
        table = load_yaml(resource_dir("paper_tables") / "pile_weights.yaml")
        name = value.split(":", 1)[1]
        mixtures = [k for k, v in table.items() if k != "domains" and isinstance(v, dict)]
        if name not in mixtures:
            raise ConfigError(f"method.{field}: unknown published mixture {name!r}; allowed: {', '.join(mixtures)}")
        return dict(table[name])
    return value


def _published_name(value: Any, task: dict[str, Any]) -> str | None:
    if value == "task":
        value = task["data"].get("initial_weights", "proportional")
    return value.split(":", 1)[1] if isinstance(value, str) and value.startswith("published:") else None


def published_mixture_notes(config: RunConfig, domains: list[str]) -> dict[str, Any]:
    """For each hyperparameter that names a published mixture: the mixture, and the domains it
    weights that this task lacks (dropped before renormalising) — recorded in the result record."""
    notes = {}
    for key, value in config.recipe["hyperparameters"].items():
        name = _published_name(value, config.task)
        if name is not None:
            published = resolve_mixture_reference(value, config.task, key)
            notes[key] = {"published": name, "dropped_domains": sorted(set(published) - set(domains)),
                          "renormalised": bool(set(published) - set(domains))}
    return notes


def _resolve_hyperparameter(key: str, value: Any, task: dict[str, Any], domains: list[str]) -> Any:
    """Named mixtures → mappings. A published mixture over domains this task lacks keeps only the
    present ones (its documented renormalisation); a user's own mapping is checked in full."""
    resolved = resolve_mixture_reference(value, task, key)
    if _published_name(value, task) is not None:
        resolved = {d: w for d, w in resolved.items() if d in domains}
    return resolved


def build_strategy(config: RunConfig, domains: list[str], sizes: list[float], strategy_seed: int) -> Any:
    """Instantiate the recipe's strategy for the task's domains; hyperparameter errors → ConfigError."""
    cls = get_strategy_class(config.recipe["strategy"])
    params = {key: _resolve_hyperparameter(key, value, config.task, domains)
              for key, value in config.recipe["hyperparameters"].items()}
    fields = {f.name for f in dataclasses.fields(cls)} - {"domains", "sizes", "seed", "history"}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ConfigError(f"method.{unknown[0]}: unknown hyperparameter for {config.recipe['strategy']}; "
                          f"allowed: {', '.join(sorted(fields))}")
    params.setdefault("log_every", config.task["training"].get("log_every", 1))
    if "total_steps" in fields:
        params.setdefault("total_steps", config.task["training"]["steps"])
    try:
        return cls(domains=list(domains), sizes=list(sizes), seed=strategy_seed, **params)
    except StrategyConfigError as exc:
        raise ConfigError(f"method.{exc}") from exc
