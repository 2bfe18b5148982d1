"""RegMix's swarm sampler: random mixtures around a prior (the token distribution).

Behaviour of `mixture_config/synthesize_mixture.py` in sail-sg/regmix (commit b004d3a), with its
constants as our defaults:
- the prior is sharpened or flattened by a temperature, p ← p^τ / Σ p^τ (τ = 0.5 there);
- every draw is Dirichlet(s · p) with the strength s picked uniformly among 15 values
  log-spaced between 0.1 and 5.0 (small s: sparse mixtures, large s: close to the prior);
- a draw is rejected when a domain's weight exceeds min(15 · p_raw, 1), 15 being the number of
  epochs a domain may be repeated (the bound uses the prior *before* the temperature, as there);
- weights below 2e-4 are set to zero, the rest renormalised and rounded to multiples of 2e-4;
- 100× more draws than needed are made, near-duplicates (L1 distance ≤ 1e-5) dropped, and the
  swarm picked at random among the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

STRENGTH_VALUES = 15          # log-spaced strengths between min and max (released code)
MAX_ROUNDS = 200              # rejection-sampling rounds before giving up


@dataclass(frozen=True)
class SamplerOptions:
    """RegMix's sampling constants (names as in our recipes, values as in the released code)."""

    temperature: float = 0.5
    min_strength: float = 0.1
    max_strength: float = 5.0
    maximum_usage: float | None = 15.0
    minimum: float = 2e-4
    sample_multiplier: int = 100

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "SamplerOptions":
        return cls(**{f.name: options[f.name] for f in fields(cls) if f.name in options})


def strengths(options: SamplerOptions) -> np.ndarray:
    if options.min_strength == options.max_strength:
        return np.array([options.min_strength])
    return np.logspace(np.log10(options.min_strength), np.log10(options.max_strength), STRENGTH_VALUES)


def _tempered(prior: np.ndarray, temperature: float) -> np.ndarray:
    p = np.asarray(prior, dtype=float) ** temperature
    return p / p.sum()


def _dirichlet_rows(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Dirichlet draw per row of `alpha` (gamma variates normalised; all-zero rows → NaN)."""
    gamma = rng.gamma(alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gamma / gamma.sum(axis=1, keepdims=True)


def _sparsify(x: np.ndarray, minimum: float) -> np.ndarray:
    """Zero the weights below `minimum`, renormalise, round to its multiples (released code)."""
    if minimum <= 0:
        return x
    x = np.where(x < minimum, 0.0, x)
    x = x / x.sum(axis=1, keepdims=True)
    return np.round(x / minimum) * minimum


def draw(prior: np.ndarray, n: int, rng: np.random.Generator, options: SamplerOptions) -> np.ndarray:
    """`n` accepted mixtures (n × domains), drawn, bounded and sparsified as RegMix does."""
    prior = np.asarray(prior, dtype=float) / np.sum(prior)
    centre, grid = _tempered(prior, options.temperature), strengths(options)
    bound = np.inf if options.maximum_usage is None else np.minimum(prior * options.maximum_usage, 1.0)
    kept: list[np.ndarray] = []
    for _ in range(MAX_ROUNDS):
        batch = max(1024, 2 * n)
        alpha = centre[None, :] * rng.choice(grid, size=batch)[:, None]
        x = _dirichlet_rows(alpha, rng)
        ok = np.isfinite(x).all(axis=1) & (x <= bound).all(axis=1)
        x = _sparsify(x[ok], options.minimum)
        kept.append(x[np.isfinite(x).all(axis=1)])
        if sum(len(k) for k in kept) >= n:
            return np.concatenate(kept)[:n]
    raise ValueError(f"swarm sampler: fewer than {n} mixtures within the maximum_usage bound after "
                     f"{MAX_ROUNDS} rounds; raise maximum_usage or set it to null")


def deduplicate(x: np.ndarray, threshold: float = 1e-5) -> np.ndarray:
    """Drop rows within L1 distance `threshold` of the previous kept row in lexicographic order."""
    rows = x[np.lexsort(x.T)]
    kept = [rows[0]]
    for row in rows[1:]:
        if np.abs(row - kept[-1]).sum() > threshold:
            kept.append(row)
    return np.stack(kept)


def sample_swarm(prior: np.ndarray, size: int, rng: np.random.Generator, options: SamplerOptions) -> np.ndarray:
    """The swarm: `size` distinct mixtures picked among `size × sample_multiplier` draws."""
    pool = deduplicate(draw(prior, size * max(1, options.sample_multiplier), rng, options))
    if len(pool) < size:
        raise ValueError(f"swarm sampler: only {len(pool)} distinct mixtures for a swarm of {size}")
    return pool[rng.choice(len(pool), size=size, replace=False)]


def prior_dirichlet(prior: np.ndarray, n: int, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Dirichlet(strength · prior) with nothing else: the released notebook's simulation draws."""
    prior = np.asarray(prior, dtype=float) / np.sum(prior)
    return rng.dirichlet(prior * strength, size=n)
