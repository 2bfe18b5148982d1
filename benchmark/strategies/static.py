"""Fixed mixtures: uniform (stratified), proportional, explicit weights, temperature sampling."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .base import MixingStrategy, StrategyConfigError, normalized


@dataclass
class StaticStrategy(MixingStrategy):
    """A mixture fixed for the whole run, sampled per sequence (ordinary blending)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._weights = self.compute_weights()

    def compute_weights(self) -> np.ndarray:
        raise NotImplementedError

    def current_weights(self, step: int) -> np.ndarray:
        return self._weights


@dataclass
class UniformStrategy(StaticStrategy):
    """Equal weight per domain (stratified sampling)."""

    name = "uniform"

    def compute_weights(self) -> np.ndarray:
        return np.full(self.num_domains, 1.0 / self.num_domains)


@dataclass
class TemperatureStrategy(StaticStrategy):
    """p_i ∝ n_i^(1/τ): τ = 1 is proportional to size, τ → ∞ is uniform."""

    name = "temperature"

    temperature: float = 1.0

    def validate(self) -> None:
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0
                and math.isfinite(self.temperature)):
            raise StrategyConfigError(f"temperature: must be a positive finite number, got {self.temperature!r}")
        if sum(self.sizes) <= 0:
            raise StrategyConfigError("sizes: at least one domain must be non-empty")

    def compute_weights(self) -> np.ndarray:
        sizes = np.asarray(self.sizes, dtype=np.float64)
        return normalized(np.where(sizes > 0, sizes / sizes.max(), 0.0) ** (1.0 / self.temperature))


@dataclass
class ProportionalStrategy(TemperatureStrategy):
    """Weight ∝ domain size (tokens): temperature sampling with τ = 1."""

    name = "proportional"

    temperature: float = 1.0

    def validate(self) -> None:
        if self.temperature != 1.0:
            raise StrategyConfigError("temperature: proportional sampling fixes τ = 1; use method 'temperature'")
        super().validate()


def resolve_explicit_weights(domains: list[str], weights: dict[str, float], normalize: bool,
                             field_name: str = "weights") -> np.ndarray:
    """Validate a {domain: weight} mapping against the task's domains and return a distribution.

    Every named domain must be one of the task's. With `normalize` the weights are rescaled to sum
    to 1 (published mixtures arrive already restricted to the task's domains, see
    `config.published_mixture_notes`); otherwise they must cover every domain and sum to 1.
    """
    if not isinstance(weights, dict) or not weights:
        raise StrategyConfigError(f"{field_name}: a non-empty mapping domain -> weight is required")
    unknown = sorted(set(weights) - set(domains))
    if unknown:  # a typo must never be dropped silently (published mixtures are restricted before)
        raise StrategyConfigError(
            f"{field_name}: unknown domain(s) {unknown}; allowed: {domains}")
    for name, value in weights.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise StrategyConfigError(f"{field_name}.{name}: must be a non-negative number, got {value!r}")
    vector = np.array([float(weights.get(d, 0.0)) for d in domains])
    if normalize:
        if vector.sum() <= 0:
            raise StrategyConfigError(f"{field_name}: no weight on any domain of this task ({domains})")
        return normalized(vector)
    missing = [d for d in domains if d not in weights]
    if missing:
        raise StrategyConfigError(f"{field_name}: missing domain(s) {missing}; give every domain a weight "
                                  "or set normalize=true")
    if abs(vector.sum() - 1.0) > 1e-3:
        raise StrategyConfigError(f"{field_name}: must sum to 1 (got {vector.sum():.6f}); "
                                  "fix them or set normalize=true")
    return normalized(vector)


@dataclass
class FixedWeightsStrategy(StaticStrategy):
    """Explicit weights per domain name (e.g. The Pile Weights, DoReMi's published mixtures)."""

    name = "fixed"

    weights: dict[str, float] = field(default_factory=dict)
    normalize: bool = False

    def validate(self) -> None:
        self._resolved = resolve_explicit_weights(self.domains, self.weights, self.normalize)

    def compute_weights(self) -> np.ndarray:
        return self._resolved
