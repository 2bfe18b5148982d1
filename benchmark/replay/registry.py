"""Method name → predictor class, through the project's one lazy registry (benchmark/registry.py,
kind "replay_predictors").

A name is one of `BUILTIN_PREDICTORS`, a `"package.module:Class"` string, or the name of a Python
entry point in group `benchmark.replay_predictors` (declared by an installed package, e.g.
`[project.entry-points."benchmark.replay_predictors"] my-law = "my_pkg.laws:MyLaw"`).
"""

from __future__ import annotations

import inspect
from typing import Any

from .. import registry
from ..config import ConfigError
from .predictors.base import PredictorContext

KIND = "replay_predictors"
ENTRY_POINT_GROUP = registry.KINDS[KIND].group
BUILTIN_PREDICTORS: dict[str, str] = registry.KINDS[KIND].builtins


def resolve_predictor(name: str) -> Any:
    """The predictor class for a built-in name, a 'module:Class' string or an entry point name."""
    return registry.resolve(KIND, name)


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
