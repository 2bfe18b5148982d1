"""Fit each predictor once on the training runs and score it on every test split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import ReplayData, resolve_target
from .predictors.base import PredictorContext
from .registry import create_predictor
from .scoring import RESAMPLES, Score, random_expectation, score_predictions


@dataclass(frozen=True)
class ReplayResult:
    method: str
    scale: str
    score: Score
    predicted: np.ndarray
    measured: np.ndarray


def fit_predictor(name: str, data: ReplayData, target: str, seed: int) -> Any:
    """The named predictor fitted on the training runs' target loss."""
    predictor = create_predictor(name, PredictorContext(data.train.domains, target, seed))
    X, y = data.train.mixtures, data.train.target(target)
    if getattr(predictor, "uses_scored_set", False):
        first = next(iter(data.tests.values()))
        return predictor.fit(X, y, eval_set=(first.mixtures, first.target(target)))
    return predictor.fit(X, y) or predictor


def evaluate(name: str, predictor: Any, data: ReplayData, target: str, seed: int,
             resamples: int) -> list[ReplayResult]:
    """One result per test split, smallest model first."""
    results = []
    for scale, split in data.tests.items():
        measured = split.target(target)
        predicted = np.asarray(predictor.predict(split.mixtures), dtype=float).reshape(-1)
        if getattr(predictor, "analytic", False):
            score = random_expectation(measured)
        else:
            score = score_predictions(predicted, measured, seed=seed, resamples=resamples)
        results.append(ReplayResult(name, scale, score, predicted, measured))
    return results


def run_replay(data: ReplayData, methods: list[str], target: str = "Pile-CC", seed: int = 0,
               resamples: int = RESAMPLES) -> list[ReplayResult]:
    """Scores of every method on every test split of `data` for the given target loss."""
    domain = resolve_target(target, data)
    results: list[ReplayResult] = []
    for name in methods:
        predictor = fit_predictor(name, data, domain, seed)
        results += evaluate(name, predictor, data, domain, seed, resamples)
    return results
