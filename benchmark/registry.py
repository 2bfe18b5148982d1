"""One lazy registry of everything a task or recipe names: name → "package.module:attr".

Nothing here imports a strategy, a data builder, a pipeline or a predictor until it is asked for,
so importing the package stays cheap and no module registers itself by being imported. A name
resolves, in order, to:
  1. a built-in entry of the kind's table below;
  2. an installed package's entry point in the kind's group, e.g. in its pyproject.toml
     `[project.entry-points."benchmark.strategies"] my-method = "my_pkg.mixing:MyStrategy"`;
  3. a `"package.module:Attr"` string (the module must be importable, e.g. on PYTHONPATH).
Unknown names raise ConfigError naming the field, a close match and the allowed names.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Kind:
    """One kind of plug-in: its entry-point group, the config field that names it, its built-ins."""

    group: str
    field: str
    noun: str
    builtins: dict[str, str] = field(default_factory=dict)


_S = "benchmark.strategies."
_P = "benchmark.replay.predictors."
KINDS: dict[str, Kind] = {
    "strategies": Kind("benchmark.strategies", "strategy", "strategy", {
        "uniform": _S + "static:UniformStrategy", "temperature": _S + "static:TemperatureStrategy",
        "proportional": _S + "static:ProportionalStrategy", "fixed": _S + "static:FixedWeightsStrategy",
        "odm": _S + "odm:ODMStrategy", "exp3": _S + "exp3:Exp3Strategy",
        "exp3-flad": _S + "exp3:Exp3FLADStrategy", "ucb1-flad": _S + "exp3:UCB1FLADStrategy",
        "target-only": _S + "flad_baselines:TargetOnlyStrategy",
        "explore-only": _S + "flad_baselines:ExploreOnlyStrategy",
        "exploit-only": _S + "flad_baselines:ExploitOnlyStrategy",
        "cooldown": _S + "schedules:CooldownStrategy", "upsample-end": _S + "schedules:UpsampleEndStrategy",
        "scalarization": _S + "schedules:ScalarizationStrategy", "doremi-proxy": _S + "doremi:DoReMiProxyStrategy",
        "dga": _S + "dga:DGAStrategy", "doge-proxy": _S + "doge:DoGEProxyStrategy",
        "doge-ood-proxy": _S + "doge:DoGEOODProxyStrategy",
        "skill-it": _S + "skill_it:SkillItStrategy",
        "aioli": _S + "aioli:AioliStrategy",
        "ado": _S + "ado:ADOStrategy",
    }),
    "data_builders": Kind("benchmark.data_builders", "data.builder", "data builder", {
        "synthetic_pretrain": "benchmark.data.pretrain_task:build_synthetic_pretrain",
        "pile_odm": "benchmark.data.pile:build_pile_odm",
        "mini_pile": "benchmark.data.mini_pile.prepare:build_mini_pile",
    }),
    # `python -m benchmark prepare --task T` runs the preparer of T's data.builder (args, data section).
    "data_preparers": Kind("benchmark.data_preparers", "data.builder", "data preparer", {
        "pile_odm": "benchmark.data.pile:prepare_from_cli",
        "mini_pile": "benchmark.data.mini_pile.prepare:prepare_from_cli",
    }),
    "pipelines": Kind("benchmark.pipelines", "pipeline", "pipeline", {
        "doremi": "benchmark.pipelines.doremi:run_doremi",
        "regmix": "benchmark.pipelines.regmix:run_regmix",
        "mixing-law": "benchmark.pipelines.mixing_laws:run_mixing_law",
        "doge": "benchmark.pipelines.doge:run_doge",
        "skill-it": "benchmark.pipelines.skill_it:run_skill_it",
    }),
    "replay_predictors": Kind("benchmark.replay_predictors", "methods", "predictor", {
        "ridge": _P + "linear:RidgeCV", "lightgbm": _P + "boosting:LightGBMHeldOut",
        "lightgbm-notebook": _P + "boosting:LightGBMNotebook", "mixing-law": _P + "mixing_law:MixingLaw",
        "pile-cc-weight": _P + "trivial:PileCCWeight",
        "distance-to-proportional": _P + "trivial:DistanceToProportional", "random": _P + "trivial:RandomRanking",
    }),
    # Task and recipe files: the value names a YAML file, see config.py `_entry_point_yaml`.
    "tasks": Kind("benchmark.tasks", "task", "task"),
    "recipes": Kind("benchmark.recipes", "method", "method"),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise KeyError(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}")
    return KINDS[kind]


def plugins(kind: str) -> dict[str, str]:
    """Entry points of installed packages in the kind's group: name → "module:attr" (read on each
    call so a package installed mid-session is seen; importlib.metadata caches nothing itself)."""
    return {ep.name: ep.value for ep in entry_points(group=_kind(kind).group)}


def targets(kind: str) -> dict[str, str]:
    """Every registered name of a kind → its "module:attr" target; built-ins win over plug-ins."""
    return {**plugins(kind), **_kind(kind).builtins}


def names(kind: str) -> list[str]:
    return sorted(targets(kind))


def is_import_string(name: Any) -> bool:
    """True for "package.module:Attr" (not a registered name, not a Windows drive path)."""
    return isinstance(name, str) and name.count(":") == 1 and all(name.split(":")) and "/" not in name


def import_target(spec: str, field_name: str) -> Any:
    """The attribute named by "package.module:Attr"; ConfigError when it cannot be imported."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{field_name}: {spec!r} is not of the form 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{field_name}: cannot import module {module_name!r} for {spec!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{field_name}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def name_error(field_name: str, noun: str, name: Any, known: list[str], import_hint: bool = True) -> ConfigError:
    """One line: the field, the bad name, a close match if there is one, the allowed names."""
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    tail = " (or a 'package.module:Class')" if import_hint else ""
    return ConfigError(f"{field_name}: unknown {noun} {name!r}; {hint}allowed: {', '.join(known)}{tail}")


def unknown_name_error(kind: str, name: Any, field_name: str | None = None) -> ConfigError:
    spec = _kind(kind)
    return name_error(field_name or spec.field, spec.noun, name, names(kind))


def target_of(kind: str, name: Any, field_name: str | None = None) -> str:
    """The "module:attr" a name stands for, without importing it."""
    if is_import_string(name):
        return name
    found = targets(kind).get(name) if isinstance(name, str) else None
    if found is None:
        raise unknown_name_error(kind, name, field_name)
    return found


def resolve(kind: str, name: Any, field_name: str | None = None) -> Any:
    """The object a name stands for, imported now (and only now)."""
    return import_target(target_of(kind, name, field_name), field_name or _kind(kind).field)


def check(kind: str, name: Any, field_name: str | None = None) -> None:
    """Fail early on a bad name: registered names are checked without importing anything; a
    "module:attr" string is imported, since that is the only way to know it exists."""
    if is_import_string(name):
        resolve(kind, name, field_name)
    else:
        target_of(kind, name, field_name)
