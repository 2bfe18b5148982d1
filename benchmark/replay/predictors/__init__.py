"""Mixture → target-loss predictors. Each is a class built from a `PredictorContext` with
`fit(X, y)` and `predict(X)`; lower predicted loss means a better mixture."""

from .base import Predictor, PredictorContext

__all__ = ["Predictor", "PredictorContext"]
