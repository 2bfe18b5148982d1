"""Ridge regression on the raw mixture weights, regularisation chosen by k-fold cross-validation.

RegMix's linear model (paper, Appendix E, as reported by secondary sources): ridge regression with
5-fold CV over an L2 strength in {1e-3, ..., 1e3}. The intercept is not penalised.
"""

from __future__ import annotations

import numpy as np

from .base import PredictorContext

ALPHAS = tuple(10.0 ** p for p in range(-3, 4))
FOLDS = 5


def ridge_fit(X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept minimising ||y − Xw − b||² + alpha·||w||²."""
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    w = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ yc)
    return w, float(y_mean - x_mean @ w)


def cv_error(X: np.ndarray, y: np.ndarray, alpha: float, folds: list[np.ndarray]) -> float:
    """Mean squared validation error of ridge(alpha) over the folds."""
    errors = []
    for held_out in folds:
        keep = np.ones(len(y), dtype=bool)
        keep[held_out] = False
        w, b = ridge_fit(X[keep], y[keep], alpha)
        errors.append(np.mean((X[held_out] @ w + b - y[held_out]) ** 2))
    return float(np.mean(errors))


class RidgeCV:
    """Linear regression with an L2 penalty picked by shuffled 5-fold cross-validation."""

    def __init__(self, context: PredictorContext, alphas: tuple[float, ...] = ALPHAS, folds: int = FOLDS) -> None:
        self.context, self.alphas, self.folds = context, alphas, folds
        self.alpha: float | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RidgeCV":
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        order = np.random.default_rng(self.context.seed).permutation(len(y))
        folds = np.array_split(order, min(self.folds, len(y)))
        self.alpha = min(self.alphas, key=lambda a: cv_error(X, y, a, folds))
        self.coef_, self.intercept_ = ridge_fit(X, y, self.alpha)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_
