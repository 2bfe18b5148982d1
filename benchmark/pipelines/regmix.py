"""RegMix (Liu et al., arXiv 2407.01492): regression from mixture to target loss over a swarm.

Swarm: RegMix's Dirichlet sampler (`mixture_sampling`). Fit: a replay predictor (`lightgbm` or
`ridge`, the registry's `replay_predictors`) on (mixture → target validation loss). Choice: draw
`simulations` random mixtures, predict their loss, average the `top_k` best. See docs/methods/regmix.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import registry
from ..config import ConfigError
from ..replay.predictors import PredictorContext
from ..runner import PreparedRun
from .mixture_sampling import SamplerOptions, draw, prior_dirichlet, sample_swarm
from .over_runs import run_over_runs

SAMPLER_DEFAULTS: dict[str, Any] = {f: getattr(SamplerOptions(), f) for f in SamplerOptions.__dataclass_fields__}


def simulate(prior: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """The candidate mixtures: drawn like the swarm, or as the released notebook, Dirichlet(prior)."""
    if options["simulate_from"] == "swarm":
        return draw(prior, int(options["simulations"]), rng, SamplerOptions.from_options(options))
    if options["simulate_from"] == "prior":
        return prior_dirichlet(prior, int(options["simulations"]), rng)
    raise ConfigError(f"pipeline_options.simulate_from: 'swarm' or 'prior', got {options['simulate_from']!r}")


def top_k_mixture(predictor: Any, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the `k` candidates with the lowest predicted loss, and their predictions."""
    predicted = np.asarray(predictor.predict(candidates), dtype=float)
    best = np.argsort(predicted, kind="stable")[: max(1, min(int(k), len(candidates)))]
    return candidates[best].mean(axis=0), predicted[best]


def fit_predictor(name: str, domains: tuple[str, ...], X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """A replay predictor (mixture → loss) by registry name, fitted on the swarm."""
    cls = registry.resolve("replay_predictors", name, "pipeline_options.regressor")
    return cls(PredictorContext(domains=domains, target="swarm", seed=seed)).fit(X, y)


class RegMix:
    """Swarm from RegMix's sampler; choice by regression + simulation + top-k averaging."""

    name = "regmix"
    defaults: dict[str, Any] = {**SAMPLER_DEFAULTS, "regressor": "lightgbm", "simulations": 100_000,
                                "simulate_from": "swarm", "top_k": 128}

    def propose(self, prior: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        return sample_swarm(prior, int(options["swarm_size"]), rng, SamplerOptions.from_options(options))

    def choose(self, mixtures: np.ndarray, losses: np.ndarray, objective: np.ndarray,
               prior: np.ndarray, options: dict[str, Any], seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        y = losses @ objective
        domains = tuple(f"d{i}" for i in range(mixtures.shape[1]))
        predictor = fit_predictor(options["regressor"], domains, mixtures, y, seed)
        candidates = simulate(prior, options, np.random.default_rng(seed + 1))
        weights, best = top_k_mixture(predictor, candidates, options["top_k"])
        fitted = np.asarray(predictor.predict(mixtures), dtype=float)
        return weights, {"regressor": options["regressor"], "fit_rmse": float(np.sqrt(np.mean((fitted - y) ** 2))),
                         "predicted_top_k_loss": float(best.mean()), "best_swarm_loss": float(y.min()),
                         "simulated": len(candidates)}


def run_regmix(prepared: PreparedRun, output_dir: Path, workers: int = 1,
               **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    """`pipeline: regmix`: swarm → regression → top-k mixture → final run."""
    return run_over_runs(RegMix(), prepared, output_dir, workers=workers, **execute_kwargs)
