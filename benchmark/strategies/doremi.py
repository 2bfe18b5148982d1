"""DoReMi's proxy run: Group DRO over domains against a frozen reference model.

Xie et al., "DoReMi: Optimizing Data Mixtures Speeds Up Language Model Pretraining"
(arXiv 2305.10429; code sangmichaelxie/doremi). Each step, with domains sampled uniformly:
    λ_i = mean over domain i's tokens of max(ℓ_proxy − ℓ_ref, 0)          (per-token excess loss)
    α ← α · exp(η · λ);  α ← α / Σα;  α ← (1 − c)·α + c/k                  (exponentiated gradient)
and the proxy's loss is re-weighted per example by α_domain / p_domain (p = the uniform sampling
weights). The output is the time average ᾱ of α over the proxy run, on which the main model trains.
The whole three-run pipeline (reference → proxy → main) lives in benchmark/pipelines/doremi.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capabilities import Capability
from .base import DomainStats, MixingStrategy, StrategyConfigError, TimeAveragedWeights


@dataclass
class DoReMiProxyStrategy(TimeAveragedWeights, MixingStrategy):
    name = "doremi-proxy"

    step_size: float = 1.0      # η
    smoothing: float = 1e-3     # c

    granularity = "sample"
    capabilities = frozenset({Capability.REFERENCE_MODEL, Capability.LOSS_WEIGHTS})

    def validate(self) -> None:
        if not (isinstance(self.step_size, (int, float)) and self.step_size > 0):
            raise StrategyConfigError(f"step_size: must be > 0, got {self.step_size!r}")
        if not (isinstance(self.smoothing, (int, float)) and 0 <= self.smoothing <= 1):
            raise StrategyConfigError(f"smoothing: must be in [0, 1], got {self.smoothing!r}")
        k = self.num_domains
        self.sampling = np.full(k, 1.0 / k)
        self.alpha = np.full(k, 1.0 / k)
        self.alpha_sum = np.zeros(k)
        self.updates = 0

    def current_weights(self, step: int) -> np.ndarray:
        return self.sampling

    def logged_weights(self, sampling: np.ndarray) -> np.ndarray:
        return self.alpha  # the trajectory worth seeing is the DRO weights, not uniform sampling

    def loss_weights(self, domain_ids: np.ndarray) -> np.ndarray:
        return (self.alpha / self.sampling)[np.asarray(domain_ids, dtype=np.int64)]

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if stats.excess_loss_sum is None:
            raise ValueError("doremi-proxy: the trainer must report per-domain excess losses "
                             "(a frozen reference model is required)")
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.where(stats.tokens > 0, stats.excess_loss_sum / np.maximum(stats.tokens, 1), 0.0)
        alpha = self.alpha * np.exp(self.step_size * excess)
        alpha /= alpha.sum()
        self.alpha = (1.0 - self.smoothing) * alpha + self.smoothing / self.num_domains
        self.alpha_sum += self.alpha
        self.updates += 1
