"""Baselines that learn nothing: more Pile-CC, closeness to the natural mixture, and chance."""

from __future__ import annotations

import numpy as np

from ..data import ReplayDataError
from .base import PredictorContext

# Token share of each Pile domain in RegMix's corpus split, as listed by `get_token_distribution`
# in mixture_config/synthesize_mixture.py of sail-sg/regmix (commit b004d3a); also the Dirichlet
# prior the authors sampled mixtures around. Keys are this track's domain names.
PILE_TOKEN_SHARES: dict[str, float] = {
    "arxiv": 0.113285273, "freelaw": 0.079608651, "nih_exporter": 0.003913491,
    "pubmed_central": 0.185375901, "wikipedia_en": 0.051081359, "dm_mathematics": 0.015962925,
    "github": 0.101750772, "philpapers": 0.003707518, "stackexchange": 0.066529351,
    "enron_emails": 0.001750772, "gutenberg_pg_19": 0.027085479, "pile_cc": 0.236869207,
    "ubuntu_irc": 0.01184346, "europarl": 0.007929969, "hackernews": 0.008032956,
    "pubmed_abstracts": 0.038825953, "uspto_backgrounds": 0.046446962,
}


class _Unfitted:
    """fit() is a no-op for predictors that ignore the training runs."""

    def __init__(self, context: PredictorContext) -> None:
        self.context = context

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_Unfitted":
        return self

    def column(self, domain: str) -> int:
        if domain not in self.context.domains:
            raise ReplayDataError(f"{type(self).__name__}: the mixtures have no '{domain}' column")
        return self.context.domains.index(domain)


class PileCCWeight(_Unfitted):
    """Predicted loss = −(weight of Pile-CC): the more web text, the better."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return -np.asarray(X)[:, self.column("pile_cc")]


def proportional_mixture(domains: tuple[str, ...]) -> np.ndarray:
    """The token-proportional mixture over `domains` (renormalised to sum to 1)."""
    missing = [d for d in domains if d not in PILE_TOKEN_SHARES]
    if missing:
        raise ReplayDataError(f"distance-to-proportional: no token count for domain(s) {', '.join(missing)}")
    shares = np.array([PILE_TOKEN_SHARES[d] for d in domains])
    return shares / shares.sum()


class DistanceToProportional(_Unfitted):
    """Predicted loss = Euclidean distance between the mixture and the token-proportional one."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(X) - proportional_mixture(self.context.domains), axis=1)


class RandomRanking(_Unfitted):
    """A uniformly random ranking; the runner reports its exact expected scores (`analytic`)."""

    analytic = True

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.random.default_rng(self.context.seed).random(len(X))
