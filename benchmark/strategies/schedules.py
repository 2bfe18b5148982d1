"""Mixtures that follow a fixed schedule over training, and loss up-weighting.

- cooldown, scalarization: Li, Xu, Tan, Murray, Khashabi, "Upsample or Upweight? Balanced Training
  on Heavily Imbalanced Datasets" (arXiv 2410.04579, NAACL 2025): temperature sampling and
  scalarization are equivalent under full-batch GD, not under SGD; Cooldown starts at a high
  temperature and lowers it during training.
- upsample-end: Blakeney et al., "Does your data spark joy? Performance gains from domain upsampling
  at the end of training" (arXiv 2406.03476): up-weight small, domain-specific datasets for the last
  10–20% of training.
Documented in docs/methods/static-and-schedules.md. All sample per sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..capabilities import Capability
from .base import MixingStrategy, StrategyConfigError, normalized
from .exp3 import check_choice, check_fraction
from .odm import softmax

COOLDOWN_SHAPES = ("linear", "cosine")


def temperature_weights(sizes: np.ndarray, temperature: float) -> np.ndarray:
    """p_i ∝ n_i^(1/τ), computed as softmax(ln n_i / τ) so large τ and large sizes cannot overflow;
    empty domains get 0."""
    with np.errstate(divide="ignore"):
        return softmax(np.log(np.asarray(sizes, dtype=np.float64)) / temperature)


def check_temperature(field_name: str, value: Any) -> None:
    check_fraction(field_name, value, 0.0, math.inf, low_open=True, high_open=True)


@dataclass
class SizeBasedStrategy(MixingStrategy):
    """Validates that some domain has data (temperature weights need a non-zero size)."""

    def validate(self) -> None:
        if sum(self.sizes) <= 0:
            raise StrategyConfigError("sizes: at least one domain must be non-empty")
        self._sizes = np.asarray(self.sizes, dtype=np.float64)


def check_total_steps(value: Any) -> None:
    """total_steps is filled in by the config layer from the task's training.steps."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise StrategyConfigError(f"total_steps: must be a positive integer (the run's optimizer steps), got {value!r}")


@dataclass
class CooldownStrategy(SizeBasedStrategy):
    """Cooldown (arXiv 2410.04579): temperature sampling whose τ moves from start_temperature to
    end_temperature. τ stays at start_temperature up to step s0 = cooldown_start_fraction·total_steps,
    then follows progress p = (step − s0)/(total_steps − s0) ∈ [0, 1]:
    linear τ = τ_s + (τ_e − τ_s)·p, cosine τ = τ_e + (τ_s − τ_e)·(1 + cos πp)/2.
    The schedule is interpolated in τ (not 1/τ); the defaults are this benchmark's, not the paper's.
    """

    name = "cooldown"

    start_temperature: float = 5.0
    end_temperature: float = 1.0
    schedule: str = "linear"
    cooldown_start_fraction: float = 0.5
    total_steps: int | None = None

    def validate(self) -> None:
        super().validate()
        check_temperature("start_temperature", self.start_temperature)
        check_temperature("end_temperature", self.end_temperature)
        check_choice("schedule", self.schedule, COOLDOWN_SHAPES)
        check_fraction("cooldown_start_fraction", self.cooldown_start_fraction, 0.0, 1.0, high_open=True)
        check_total_steps(self.total_steps)

    def temperature_at(self, step: int) -> float:
        start = self.cooldown_start_fraction * self.total_steps
        progress = min(1.0, max(0.0, (step - start) / max(self.total_steps - start, 1e-12)))
        if self.schedule == "cosine":
            progress = 1.0 - (1.0 + math.cos(math.pi * progress)) / 2.0
        return self.start_temperature + (self.end_temperature - self.start_temperature) * progress

    def current_weights(self, step: int) -> np.ndarray:
        return temperature_weights(self._sizes, self.temperature_at(step))


@dataclass
class UpsampleEndStrategy(SizeBasedStrategy):
    """Domain upsampling at the end of training (arXiv 2406.03476).

    Base mixture: temperature sampling with `temperature` (1 = proportional). For the last
    round(final_fraction·total_steps) steps, the weights of `upsample_domains` (names; default: the
    domains whose size is below the median size) are multiplied by `factor` and renormalised.
    """

    name = "upsample-end"

    temperature: float = 1.0
    final_fraction: float = 0.1
    factor: float = 2.0
    upsample_domains: list[str] | None = None
    total_steps: int | None = None

    def validate(self) -> None:
        super().validate()
        check_temperature("temperature", self.temperature)
        check_fraction("final_fraction", self.final_fraction, 0.0, 1.0, low_open=True, high_open=True)
        check_fraction("factor", self.factor, 1.0, math.inf, high_open=True)
        check_total_steps(self.total_steps)
        if self.upsample_domains is None:
            mask = self._sizes < np.median(self._sizes)
        else:
            if not isinstance(self.upsample_domains, (list, tuple)):
                raise StrategyConfigError(f"upsample_domains: must be a list of domain names, got "
                                          f"{self.upsample_domains!r}")
            unknown = sorted(set(self.upsample_domains) - set(self.domains))
            if unknown:
                raise StrategyConfigError(f"upsample_domains: unknown domain(s) {unknown}; allowed: {self.domains}")
            mask = np.isin(self.domains, list(self.upsample_domains))
        self.upsampled = mask
        self.first_final_step = self.total_steps - int(round(self.final_fraction * self.total_steps)) + 1
        self._base = temperature_weights(self._sizes, self.temperature)
        self._final = normalized(np.where(mask, self._base * self.factor, self._base))

    def current_weights(self, step: int) -> np.ndarray:
        return self._final if step >= self.first_final_step else self._base


@dataclass
class ScalarizationStrategy(SizeBasedStrategy):
    """Scalarization, "upweight" (arXiv 2410.04579): sample proportionally (p_i ∝ n_i) and multiply
    each example's loss by w_i/p_i, where w is the temperature-τ target mixture. Under full-batch GD
    this equals sampling from w; under SGD it has higher gradient variance. E_p[w/p] = Σ w = 1."""

    name = "scalarization"

    temperature: float = 2.0

    capabilities = frozenset({Capability.LOSS_WEIGHTS})

    def validate(self) -> None:
        super().validate()
        check_temperature("temperature", self.temperature)
        self.sampling_weights = normalized(self._sizes)
        self.target_weights = temperature_weights(self._sizes, self.temperature)
        with np.errstate(divide="ignore", invalid="ignore"):
            # empty domains are never sampled; give them weight 0 rather than NaN
            self._ratio = np.where(self.sampling_weights > 0, self.target_weights / self.sampling_weights, 0.0)

    def current_weights(self, step: int) -> np.ndarray:
        return self.sampling_weights

    def loss_weights(self, domain_ids: np.ndarray) -> np.ndarray:
        """Per-example loss multiplier w_i/p_i for examples of domains `domain_ids`."""
        return self._ratio[np.asarray(domain_ids, dtype=np.int64)]
