"""A recipe's `search_space`: validated against its strategy, turned into Optuna distributions
and sampled for a trial."""

from __future__ import annotations

import dataclasses
from typing import Any

from .common import config_error, load_optuna


def search_space_of(method: str) -> dict[str, Any]:
    """The recipe's search_space, validated (names, types, bounds)."""
    from ..config import load_recipe, recipe_names
    from ..strategies import get_strategy_class

    recipe = load_recipe(method)
    space = recipe.get("search_space") or {}
    if not isinstance(space, dict) or not space:
        with_space = [n for n in recipe_names() if load_recipe(n).get("search_space")]
        raise config_error(f"method: recipe {method!r} has no search_space to tune; recipes with one: "
                           f"{', '.join(with_space)}")
    fields = {f.name for f in dataclasses.fields(get_strategy_class(recipe["strategy"]))}
    for name, spec in space.items():
        where = f"baselines/{method}.yaml search_space.{name}"
        if name not in fields:
            raise config_error(f"{where}: not a hyperparameter of strategy {recipe['strategy']}; allowed: "
                               f"{', '.join(sorted(fields - {'domains', 'sizes', 'seed', 'history'}))}")
        if not isinstance(spec, dict) or spec.get("type") not in ("float", "int", "categorical"):
            raise config_error(f"{where}.type: must be one of float, int, categorical")
        if spec["type"] == "categorical":
            if not isinstance(spec.get("choices"), list) or not spec["choices"]:
                raise config_error(f"{where}.choices: must be a non-empty list")
            continue
        low, high = spec.get("low"), spec.get("high")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise config_error(f"{where}: needs numbers low < high, got low={low!r}, high={high!r}")
        if spec.get("log") and low <= 0:
            raise config_error(f"{where}.low: must be > 0 with log: true, got {low!r}")
    return space


def _arguments(spec: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional and keyword arguments of one parameter, the same for a distribution and for
    `trial.suggest_*` (so the stored distributions and the sampled ones always agree)."""
    if spec["type"] == "categorical":
        return (list(spec["choices"]),), {}
    log = bool(spec.get("log", False))
    if spec["type"] == "float":
        return (float(spec["low"]), float(spec["high"])), {"log": log, "step": spec.get("step")}
    return (int(spec["low"]), int(spec["high"])), {"log": log, "step": int(spec.get("step", 1))}


def distributions(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions of a validated search space (e.g. to add fabricated trials)."""
    optuna = load_optuna()
    kinds = {"float": optuna.distributions.FloatDistribution, "int": optuna.distributions.IntDistribution,
             "categorical": optuna.distributions.CategoricalDistribution}
    out = {}
    for name, spec in space.items():
        args, kwargs = _arguments(spec)
        out[name] = kinds[spec["type"]](*args, **kwargs)
    return out


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Sample one trial's hyperparameters from a validated search space."""
    samplers = {"float": trial.suggest_float, "int": trial.suggest_int, "categorical": trial.suggest_categorical}
    params = {}
    for name, spec in space.items():
        args, kwargs = _arguments(spec)
        params[name] = samplers[spec["type"]](name, *args, **kwargs)
    return params
