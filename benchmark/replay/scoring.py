"""Scores of one predictor on one test split: how well its predicted losses rank the mixtures.

- Spearman ρ between predicted and measured target loss (ties get average ranks; a constant
  prediction carries no ranking and scores ρ = 0), with a percentile bootstrap 95% CI over test
  mixtures (pairs resampled with replacement, fixed seed, 1000 resamples by default).
- Top-1 regret: measured loss of the mixture the predictor ranks best, minus the best measured
  loss among the test mixtures (0 = it picked the true best; in nats/token).
- Top-k hit rate (k = 5): |T ∩ P| / k, where T is the set of the k mixtures with the lowest
  measured loss and P the k with the lowest predicted loss.

Ties in the prediction are broken uniformly at random and the EXPECTED regret / hit rate over that
tie-breaking is reported, computed exactly; so a constant predictor scores exactly what a random
ranking scores on average, see `random_expectation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

TOP_K = 5
RESAMPLES = 1000
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Score:
    n: int
    spearman: float
    ci_low: float
    ci_high: float
    top1_regret: float
    topk_hit: float
    k: int = TOP_K
    analytic: bool = False   # expectation of a random ranking, not a fitted predictor's score


def rowwise_spearman(pred: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Spearman ρ of each row pair of two (rows × n) arrays; NaN where a row is constant."""
    a = rankdata(pred, axis=-1)
    b = rankdata(measured, axis=-1)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=-1) / np.where(denom > 0, denom, 1.0), np.nan)


def spearman(pred: np.ndarray, measured: np.ndarray) -> float:
    """Spearman ρ; 0 when the prediction is constant (no ranking, as a random one on average)."""
    rho = float(rowwise_spearman(np.asarray(pred)[None], np.asarray(measured)[None])[0])
    return 0.0 if np.isnan(rho) else rho


def bootstrap_ci(pred: np.ndarray, measured: np.ndarray, resamples: int = RESAMPLES,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman ρ over resampled (prediction, measurement) pairs."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pred), size=(resamples, len(pred)))
    rhos = rowwise_spearman(np.asarray(pred)[idx], np.asarray(measured)[idx])
    rhos = np.nan_to_num(rhos, nan=0.0)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(rhos, [tail, 100 - tail])
    return float(low), float(high)


def inclusion_probability(pred: np.ndarray, k: int) -> np.ndarray:
    """P(mixture i is among the k lowest predictions) when ties are broken uniformly at random."""
    pred = np.asarray(pred, dtype=float)
    k = min(k, len(pred))
    threshold = np.sort(pred)[k - 1]
    below = pred < threshold
    tied = pred == threshold
    prob = below.astype(float)
    prob[tied] = (k - below.sum()) / tied.sum()
    return prob


def top1_regret(pred: np.ndarray, measured: np.ndarray) -> float:
    """Expected measured loss of the predicted-best mixture minus the best measured loss."""
    measured = np.asarray(measured, dtype=float)
    return float(inclusion_probability(pred, 1) @ measured - measured.min())


def topk_hit_rate(pred: np.ndarray, measured: np.ndarray, k: int = TOP_K) -> float:
    """Expected fraction of the k truly best (lowest measured) mixtures among the k predicted best."""
    true_best = np.argsort(np.asarray(measured), kind="stable")[:k]
    return float(inclusion_probability(pred, k)[true_best].sum() / min(k, len(measured)))


def score_predictions(pred: np.ndarray, measured: np.ndarray, seed: int = 0,
                      resamples: int = RESAMPLES, k: int = TOP_K) -> Score:
    """All scores of one prediction vector against the measured losses of the same mixtures."""
    pred, measured = np.asarray(pred, dtype=float), np.asarray(measured, dtype=float)
    if pred.shape != measured.shape:
        raise ValueError(f"predictions have shape {pred.shape}, measurements {measured.shape}")
    low, high = bootstrap_ci(pred, measured, resamples, seed)
    return Score(len(pred), spearman(pred, measured), low, high, top1_regret(pred, measured),
                 topk_hit_rate(pred, measured, k), k)


def random_expectation(measured: np.ndarray, k: int = TOP_K) -> Score:
    """Exact expected scores of a uniformly random ranking of the mixtures.

    E[ρ] = 0 (the interval shown is ±1.96/√(n−1), the spread of ρ over random rankings); E[top-1
    regret] = mean measured loss − min; E[top-k hit rate] = k/n (hypergeometric mean k·k/n, over k).
    """
    measured = np.asarray(measured, dtype=float)
    n = len(measured)
    spread = Z95 / np.sqrt(n - 1) if n > 1 else float("nan")
    return Score(n, 0.0, -spread, spread, float(measured.mean() - measured.min()), min(k, n) / n, k, analytic=True)
