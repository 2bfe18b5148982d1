"""Data mixing law (Ye et al., arXiv 2403.16952) for one target domain:

    L(r) = c + k · exp(Σ_j t_j · r_j),   k > 0,

fitted to the training runs by nonlinear least squares (scipy), keeping the best of a few random
restarts. Parameters: c, log k and one t_j per training domain.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from .base import PredictorContext

RESTARTS = 5


def law(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """c + exp(log k + X·t) for theta = (c, log k, t_1 … t_d)."""
    return theta[0] + np.exp(np.clip(theta[1] + X @ theta[2:], -50.0, 50.0))


def initial_guess(y: np.ndarray, d: int, rng: np.random.Generator, restart: int) -> np.ndarray:
    """Start below the smallest loss with small random exponents (zero exponents on restart 0)."""
    c = float(y.min() - 0.5 * y.std() - 1e-3)
    t = np.zeros(d) if restart == 0 else rng.normal(0.0, 1.0, d)
    return np.concatenate([[c, np.log(max(float(y.mean()) - c, 1e-6))], t])


class MixingLaw:
    """Exponential mixing law for the target loss, best of `restarts` least-squares fits."""

    def __init__(self, context: PredictorContext, restarts: int = RESTARTS) -> None:
        self.context, self.restarts = context, restarts

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MixingLaw":
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        rng = np.random.default_rng(self.context.seed)
        best = None
        for restart in range(self.restarts):
            theta0 = initial_guess(y, X.shape[1], rng, restart)
            fit = least_squares(lambda th: law(th, X) - y, theta0, max_nfev=2000)
            if best is None or fit.cost < best.cost:
                best = fit
        self.theta = best.x
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return law(self.theta, np.asarray(X, dtype=float))
