"""The predictor interface shared by built-in and plug-in predictors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class PredictorContext:
    """What a predictor may know beyond (X, y): the domain of each column, the target, a seed."""

    domains: tuple[str, ...]
    target: str = "pile_cc"
    seed: int = 0


@runtime_checkable
class Predictor(Protocol):
    """fit on training mixtures X (n × domains) and their target losses y; predict losses for X.

    Optional class attributes read by the runner:
    - `uses_scored_set = True`: `fit` also receives `eval_set=(X, y)` of the smallest test split
      (RegMix's notebook protocol; this leaks the scored data into training);
    - `analytic = True`: the predictor stands for a random ranking; its exact expected scores are
      reported instead of scoring `predict`.
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Predictor": ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...
