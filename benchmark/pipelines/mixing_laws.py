"""Data mixing laws (Ye et al., arXiv 2403.16952): per-domain exponential laws, minimised on the simplex.

For every validation domain i, L_i(r) = c_i + k_i · exp(Σ_j t_ij r_j) is fitted on the swarm with
the replay track's `mixing-law` predictor; the predicted target loss Σ_i a_i L_i(r) (a: one-hot for
a target domain, uniform for the mean) is minimised over the simplex through r = softmax(z) with
L-BFGS from several starts. See docs/methods/mixing-laws.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..replay.predictors import PredictorContext
from ..replay.predictors.mixing_law import MixingLaw
from ..runner import PreparedRun
from .over_runs import run_over_runs
from .regmix import SAMPLER_DEFAULTS, RegMix


def fit_laws(mixtures: np.ndarray, losses: np.ndarray, objective: np.ndarray, seed: int) -> np.ndarray:
    """θ_i = (c_i, log k_i, t_i1 … t_id) per domain with a non-zero objective weight (others: zeros)."""
    d = mixtures.shape[1]
    thetas = np.zeros((losses.shape[1], d + 2))
    domains = tuple(f"d{j}" for j in range(d))
    for i in np.flatnonzero(objective):
        law = MixingLaw(PredictorContext(domains=domains, target=f"d{i}", seed=seed)).fit(mixtures, losses[:, i])
        thetas[i] = law.theta
    return thetas


def predicted_loss(thetas: np.ndarray, objective: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray]:
    """Σ_i a_i (c_i + exp(log k_i + t_i·r)) and its gradient in r."""
    exps = np.exp(np.clip(thetas[:, 1] + thetas[:, 2:] @ r, -50.0, 50.0))
    value = float(objective @ (thetas[:, 0] + exps))
    return value, (objective * exps) @ thetas[:, 2:]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def minimise_on_simplex(loss: Any, starts: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """argmin of loss(r) → (value, grad) over the simplex, r = softmax(z), best of the starts."""
    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        r = _softmax(z)
        value, grad = loss(r)
        return value, r * (grad - r @ grad)        # chain rule through the softmax
    best = None
    for start in starts:
        z0 = np.log(np.clip(start, 1e-8, None))
        result = minimize(objective, z0, jac=True, method="L-BFGS-B", options={"maxiter": 1000})
        if best is None or result.fun < best.fun:
            best = result
    return _softmax(best.x), float(best.fun)


def starts(prior: np.ndarray, restarts: int, rng: np.random.Generator) -> list[np.ndarray]:
    d = len(prior)
    return [np.asarray(prior, dtype=float), np.full(d, 1.0 / d), *rng.dirichlet(np.ones(d), size=max(0, restarts))]


class MixingLaws:
    """Same swarm as RegMix (same sampler options, hence shared proxies); choice by the fitted laws."""

    name = "mixing_law"
    defaults: dict[str, Any] = {**SAMPLER_DEFAULTS, "restarts": 10}

    def propose(self, prior: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        return RegMix().propose(prior, options, rng)

    def choose(self, mixtures: np.ndarray, losses: np.ndarray, objective: np.ndarray,
               prior: np.ndarray, options: dict[str, Any], seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        thetas = fit_laws(mixtures, losses, objective, seed)
        rng = np.random.default_rng(seed + 1)
        weights, value = minimise_on_simplex(lambda r: predicted_loss(thetas, objective, r),
                                             starts(prior, int(options["restarts"]), rng))
        fitted = np.array([predicted_loss(thetas, objective, r)[0] for r in mixtures])
        y = losses @ objective
        return weights, {"predicted_loss": value, "fit_rmse": float(np.sqrt(np.mean((fitted - y) ** 2))),
                         "best_swarm_loss": float(y.min()),
                         "laws": {str(i): thetas[i].tolist() for i in np.flatnonzero(objective)}}


def run_mixing_law(prepared: PreparedRun, output_dir: Path, workers: int = 1,
                   **execute_kwargs: Any) -> tuple[dict[str, Any] | None, Path | None]:
    """`pipeline: mixing-law`: swarm → per-domain laws → simplex minimum → final run."""
    return run_over_runs(MixingLaws(), prepared, output_dir, workers=workers, **execute_kwargs)
