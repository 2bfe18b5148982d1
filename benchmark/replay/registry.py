"""Method name → predictor class, imported lazily.

A name is one of `BUILTIN_PREDICTORS`, a `"package.module:Class"` string, or the name of a Python
entry point in group `benchmark.replay_predictors` (declared by an installed package, e.g.
`[project.entry-points."benchmark.replay_predictors"] my-law = "my_pkg.laws:MyLaw"`).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from importlib.metadata import entry_points
from typing import Any

from ..config import ConfigError
from .predictors.base import PredictorContext

ENTRY_POINT_GROUP = "benchmark.replay_predictors"
_PREFIX = "benchmark.replay.predictors."
BUILTIN_PREDICTORS: dict[str, str] = {
    "ridge": _PREFIX + "linear:RidgeCV",
    "lightgbm": _PREFIX + "boosting:LightGBMHeldOut",
    "lightgbm-notebook": _PREFIX + "boosting:LightGBMNotebook",
    "mixing-law": _PREFIX + "mixing_law:MixingLaw",
    "pile-cc-weight": _PREFIX + "trivial:PileCCWeight",
    "distance-to-proportional": _PREFIX + "trivial:DistanceToProportional",
    "random": _PREFIX + "trivial:RandomRanking",
}


def plugin_names() -> dict[str, Any]:
    """Entry points of installed packages in the replay predictor group."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def import_target(spec: str) -> Any:
    """The attribute named by 'package.module:Attr'; ConfigError when it cannot be imported."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"methods: {spec!r} is not of the form 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"methods: cannot import module {module_name!r} for {spec!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"methods: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def resolve_predictor(name: str) -> Any:
    """The predictor class for a built-in name, a 'module:Class' string or an entry point name."""
    if name in BUILTIN_PREDICTORS:
        return import_target(BUILTIN_PREDICTORS[name])
    if ":" in name:
        return import_target(name)
    plugins = plugin_names()
    if name in plugins:
        return plugins[name].load()
    known = sorted(BUILTIN_PREDICTORS) + sorted(plugins)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"methods: unknown predictor {name!r}; {hint}known: {', '.join(known)} "
                      "(or a 'package.module:Class')")


def create_predictor(name: str, context: PredictorContext) -> Any:
    """An instance of the named predictor, given the context if its constructor accepts one."""
    cls = resolve_predictor(name)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    instance = cls(context) if "context" in params else cls()
    if not (callable(getattr(instance, "fit", None)) and callable(getattr(instance, "predict", None))):
        raise ConfigError(f"methods: {name!r} does not provide fit(X, y) and predict(X)")
    return instance
