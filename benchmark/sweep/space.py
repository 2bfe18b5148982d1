"""A recipe's `search_space`: validated against its strategy, turned into Optuna distributions
and sampled for a trial.

Besides scalar parameters (float, int, categorical), a mapping hyperparameter such as the `fixed`
strategy's `weights` can be searched over the probability simplex of the task's domains:
`weights: {type: simplex, start: [uniform]}`. The sweep fills in the domains (`with_domains`), each
domain d gets one Optuna parameter `weights/d` = u_d in [0, 1], and the weights are
w_d = -ln(u_d) / sum_e -ln(u_e): independent uniform u's give a uniform (Dirichlet(1)) draw on the
simplex, so random sampling covers it evenly while TPE models each u_d. `start: [uniform]` enqueues
the uniform mixture as the first trial, so the search never ends worse than uniform on validation;
`proportional` and `temperature-T` enqueue the static baselines' mixtures (p ∝ size^(1/T), over the
training sizes the sweep binds with the domains) after it.
`concentration: a` (default 1) draws Dirichlet(a) instead: w_d ∝ the Gamma(a) quantile with upper
tail u_d (a = 1: -ln u_d). A large a keeps random draws near uniform — the place to search when
starving any domain is costly and the whole simplex is mostly such mixtures.
"""

from __future__ import annotations

import dataclasses
import math
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
    fields = {f.name: str(f.type) for f in dataclasses.fields(get_strategy_class(recipe["strategy"]))}
    for name, spec in space.items():
        where = f"baselines/{method}.yaml search_space.{name}"
        if name not in fields:
            raise config_error(f"{where}: not a hyperparameter of strategy {recipe['strategy']}; allowed: "
                               f"{', '.join(sorted(set(fields) - {'domains', 'sizes', 'seed', 'history'}))}")
        if not isinstance(spec, dict) or spec.get("type") not in ("float", "int", "categorical", SIMPLEX):
            raise config_error(f"{where}.type: must be one of float, int, categorical, simplex")
        if spec["type"] == SIMPLEX:
            _check_simplex(where, spec, fields[name])
            continue
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
    """Optuna distributions of a validated search space (e.g. to add fabricated trials); a simplex
    contributes one [0, 1] parameter per domain."""
    optuna = load_optuna()
    kinds = {"float": optuna.distributions.FloatDistribution, "int": optuna.distributions.IntDistribution,
             "categorical": optuna.distributions.CategoricalDistribution}
    out = {}
    for name, spec in _flat(space).items():
        args, kwargs = _arguments(spec)
        out[name] = kinds[spec["type"]](*args, **kwargs)
    return out


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Sample one trial's hyperparameters from a validated search space (simplex entries as weight
    mappings; the raw per-domain draws are the trial's Optuna params)."""
    samplers = {"float": trial.suggest_float, "int": trial.suggest_int, "categorical": trial.suggest_categorical}
    raw = {}
    for name, spec in _flat(space).items():
        args, kwargs = _arguments(spec)
        raw[name] = samplers[spec["type"]](name, *args, **kwargs)
    return hyperparameters_of(space, raw)


SIMPLEX = "simplex"


def _start_temperature(start: Any) -> float | None:
    """A starting point's sampling temperature: uniform = inf, proportional = 1, temperature-T = T
    (the static baselines' mixtures, p ∝ size^(1/T)); None for an unknown name."""
    if start == "uniform":
        return math.inf
    if start == "proportional":
        return 1.0
    if isinstance(start, str) and start.startswith("temperature-"):
        try:
            value = float(start[len("temperature-"):])
        except ValueError:
            return None
        return value if value > 0 and math.isfinite(value) else None
    return None


def _check_simplex(where: str, spec: dict[str, Any], field_type: str) -> None:
    if not field_type.startswith("dict"):
        raise config_error(f"{where}.type: simplex needs a mapping hyperparameter (domain -> weight), "
                           f"this one is {field_type}")
    unknown = sorted(str(start) for start in spec.get("start") or [] if _start_temperature(start) is None)
    if unknown:
        raise config_error(f"{where}.start: unknown starting point(s) {unknown}; allowed: uniform, proportional, "
                           "temperature-T (T > 0)")
    concentration = spec.get("concentration", 1.0)
    if isinstance(concentration, bool) or not isinstance(concentration, (int, float)) or not concentration > 0:
        raise config_error(f"{where}.concentration: must be a positive number (the Dirichlet concentration), "
                           f"got {concentration!r}")


def has_simplex(space: dict[str, Any]) -> bool:
    return any(spec.get("type") == SIMPLEX for spec in space.values())


def with_domains(space: dict[str, Any], domains: list[str], sizes: list[float] | None = None) -> dict[str, Any]:
    """The space with every simplex entry bound to the task's domains and their training sizes (for
    size-based starting points; stored in the study, so a resume over other data is refused)."""
    bound = {"domains": list(domains), **({"sizes": [float(x) for x in sizes]} if sizes is not None else {})}
    return {name: ({**spec, **bound} if spec.get("type") == SIMPLEX else spec) for name, spec in space.items()}


def _flat(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna's parameters: scalars as they are, a simplex as one [0, 1] float per domain."""
    out: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.get("type") != SIMPLEX:
            out[name] = spec
            continue
        if not spec.get("domains"):
            raise config_error(f"search_space.{name}: a simplex needs the task's domains (bound by the sweep)")
        out.update({f"{name}/{d}": {"type": "float", "low": 0.0, "high": 1.0} for d in spec["domains"]})
    return out


def hyperparameters_of(space: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A trial's Optuna params as the recipe's hyperparameters (simplex draws → normalised weights)."""
    params = {name: value for name, value in raw.items() if name in space}
    for name, spec in space.items():
        if spec.get("type") == SIMPLEX:
            mass = [_gamma_upper_quantile(float(raw[f"{name}/{d}"]), float(spec.get("concentration", 1.0)))
                    for d in spec["domains"]]
            total = sum(mass)
            weights = [m / total if total > 0 else 1.0 / len(mass) for m in mass]
            params[name] = dict(zip(spec["domains"], weights))
    return params


def _gamma_upper_quantile(u: float, concentration: float) -> float:
    """x with P(Gamma(concentration, 1) > x) = u: 0 at u = 1, unbounded as u → 0 (clipped)."""
    u = max(u, 1e-12)
    if concentration == 1.0:
        return -math.log(u)
    from scipy.special import gammainccinv

    return float(gammainccinv(concentration, u))


def initial_points(space: dict[str, Any]) -> list[dict[str, Any]]:
    """Raw params of the trials to enqueue when the study is created (a simplex's `start`)."""
    points = []
    for name, spec in space.items():
        if spec.get("type") != SIMPLEX:
            continue
        for start in spec.get("start") or []:
            weights = _start_weights(spec, _start_temperature(start))
            concentration = float(spec.get("concentration", 1.0))
            # masses with the Gamma's mean at uniform weight, so u stays away from 0 and 1
            points.append({f"{name}/{d}": _raw_of(w * len(weights) * concentration, concentration)
                           for d, w in zip(spec["domains"], weights)})
    return points


def _start_weights(spec: dict[str, Any], temperature: float) -> list[float]:
    """The mixture of a starting point: uniform, or p ∝ size^(1/T) over the bound sizes."""
    count = len(spec["domains"])
    if math.isinf(temperature):
        return [1.0 / count] * count
    if not spec.get("sizes"):
        raise config_error("search_space: a size-based starting point needs the task's domain sizes "
                           "(bound by the sweep)")
    from ..strategies.static import TemperatureStrategy      # the static baselines' own weights

    return [float(w) for w in TemperatureStrategy(domains=list(spec["domains"]), sizes=list(spec["sizes"]),
                                                  temperature=temperature).compute_weights()]


def _raw_of(mass: float, concentration: float) -> float:
    """The u whose Gamma(concentration) upper-tail quantile is `mass` (inverse of _gamma_upper_quantile)."""
    if concentration == 1.0:
        return math.exp(-mass)
    from scipy.special import gammaincc

    return float(gammaincc(concentration, mass))
