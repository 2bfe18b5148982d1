"""Fitting L(n) = ε + β·n^(−α) to a noisy loss curve, as ADO does (docs/methods/ado.md).

Parameters are kept as θ = (a, e, α) with β = exp(a), ε = exp(e). The fit is made in log space:
the prediction is log L̂(n) = logsumexp(a − α·log n, e), compared with log L by a Huber loss
(δ = 1e-3, so almost an L1 loss), plus the released code's soft penalties that keep
α ∈ [0, 0.8], a ≤ 6.5 and e ≥ log(irreducible floor). Every point of a fixed 8×8×8 grid of
starting values is scored; L-BFGS is run from the best `starts` of them and the lowest final
objective wins (the released code runs L-BFGS from all 512 points: `starts=512`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from scipy.optimize import minimize
from scipy.signal import savgol_filter

from threadpoolctl import threadpool_limits

HUBER_DELTA = 1e-3
ALPHA_MAX = 0.8
ALPHA_MIN = 0.001
LOG_BETA_MAX = 6.5
GRID_LOG_BETA = np.arange(-2.0, 6.0, 1.0)
GRID_LOG_EPS = np.arange(-2.0, 2.0, 0.5)
GRID_ALPHA = np.arange(0.0, 0.8, 0.1)


def start_grid() -> np.ndarray:
    """The 512 starting points (a, e, α) of the released code, in its order: [512, 3]."""
    a, e, alpha = np.meshgrid(GRID_LOG_BETA, GRID_LOG_EPS, GRID_ALPHA, indexing="ij")
    return np.stack([a.ravel(), e.ravel(), alpha.ravel()], axis=1)


def predict(theta: np.ndarray, n: np.ndarray | float) -> np.ndarray:
    """L̂(n) = exp(e) + exp(a)·n^(−α) for θ = (a, e, α) (θ may be [..., 3] to broadcast)."""
    theta = np.asarray(theta, dtype=np.float64)
    return np.exp(theta[..., 1]) + np.exp(theta[..., 0]) * np.asarray(n, dtype=np.float64) ** (-theta[..., 2])


def objective(theta: np.ndarray, log_n: np.ndarray, log_loss: np.ndarray, min_log_eps: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Objective and its gradient for a batch of θ [S, 3] (vectorised over starts): ([S], [S, 3])."""
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    a, e, alpha = theta[:, :1], theta[:, 1:2], theta[:, 2:3]
    u = a - alpha * log_n[None, :]
    pred = np.logaddexp(u, e)                                   # [S, T]
    resid = log_loss[None, :] - pred
    absr = np.abs(resid)
    huber = np.where(absr > HUBER_DELTA, HUBER_DELTA * (absr - 0.5 * HUBER_DELTA), 0.5 * resid ** 2)
    dpred = -np.clip(resid, -HUBER_DELTA, HUBER_DELTA)         # dHuber/dpred
    w_u, w_e = np.exp(u - pred), np.exp(e - pred)               # softmax weights of the two terms
    grad = np.stack([(dpred * w_u).sum(1), (dpred * w_e).sum(1), (-dpred * w_u * log_n[None, :]).sum(1)], 1)
    a, e, alpha = a[:, 0], e[:, 0], alpha[:, 0]
    # The released code's soft constraints, unscaled (so they dominate the δ-sized Huber slopes).
    value = (huber.sum(1) + np.maximum(alpha - ALPHA_MAX, 0) - np.minimum(alpha, ALPHA_MIN)
             + np.maximum(a - LOG_BETA_MAX, 0) - np.minimum(e - min_log_eps, 0))
    grad[:, 2] += (alpha > ALPHA_MAX).astype(float) - (alpha < ALPHA_MIN).astype(float)
    grad[:, 0] += (a > LOG_BETA_MAX).astype(float)
    grad[:, 1] -= (e < min_log_eps).astype(float)
    return value, grad


def fit_power_law(n: np.ndarray, loss: np.ndarray, starts: int = 8, irreducible_floor: float = math.exp(0.5),
                  max_iter: int = 200, tol: float = 1e-5) -> np.ndarray:
    """Best θ = (log β, log ε, α) for the points (n, loss); NaNs if no start converged to a finite value."""
    log_n = np.log(np.asarray(n, dtype=np.float64))
    log_loss = np.log(np.asarray(loss, dtype=np.float64))
    min_log_eps = math.log(irreducible_floor)
    grid = start_grid()
    screened, _ = objective(grid, log_n, log_loss, min_log_eps)
    order = np.argsort(screened, kind="stable")[:starts]

    def scalar(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = objective(theta, log_n, log_loss, min_log_eps)
        return float(value[0]), grad[0]

    best, best_value = np.full(3, np.nan), np.inf
    with single_blas_thread():
        for index in order:
            result = minimize(scalar, grid[index], jac=True, method="L-BFGS-B",
                              options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-12})
            if np.isfinite(result.fun) and result.fun < best_value and np.all(np.isfinite(result.x)):
                best, best_value = result.x, float(result.fun)
    return best


def single_blas_thread() -> contextlib.AbstractContextManager:
    """L-BFGS-B's tiny BLAS calls slow down ~20× when BLAS threads contend with training threads."""
    return threadpool_limits(1)


def smooth_losses(history: np.ndarray, window: int, order: int = 3) -> np.ndarray:
    """Savitzky–Golay filter along time (axis 0) of a [T, K] loss history; the window shrinks to the
    longest odd length ≤ T, and a history too short for the polynomial order is returned as is."""
    window = min(window, history.shape[0] - (1 - history.shape[0] % 2))
    if window <= order or window < 3:
        return history.copy()
    return savgol_filter(history, window, order, axis=0)
