"""Online Data Mixing (Albalak et al., arXiv 2312.02406), in both published forms.

form="paper": Algorithm 1 — EXP3 with an importance-weighted EMA reward and a Gibbs policy:
    π_t(i) = (1 − K·ε_t) · softmax(ε_{t−1}·R̂)_i + ε_t,  R̂_i ← α·R̂_i + (1 − α)·L_i / π_i
    where L_i is the SUM of the losses of domain i's micro-batches in the step.
form="code": what the released runs did (SmoothedMeanWeightUpdater):
    R_i ← α·R_i + (1 − α)·exp(L_i),  π_t(i) = (1 − K·ε_t) · R_i / Σ_j R_j + ε_t
    where L_i is the mean over domain i's micro-batches of their mean token loss.
Both: ε_t = min{1/K, scale·sqrt(ln K/(K·t))} with t = global optimizer step (warm-up included);
a warm-up that samples every sequence i.i.d. from the initial weights without updates; after it,
one domain per micro-batch; updates only for the domains drawn in the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import DomainStats, MixingStrategy, StrategyConfigError, exploration_rate, normalized
from .static import resolve_explicit_weights

ODM_FORMS = ("paper", "code")


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def initial_mixture(spec: str | dict[str, float], domains: list[str], sizes: list[float],
                    field_name: str = "initial_weights") -> np.ndarray:
    """'uniform', 'proportional', or an explicit {domain: weight} mapping (renormalised)."""
    if spec == "uniform":
        return np.full(len(domains), 1.0 / len(domains))
    if spec == "proportional":
        return normalized(np.asarray(sizes, dtype=np.float64))
    if isinstance(spec, dict):
        return resolve_explicit_weights(domains, spec, normalize=True, field_name=field_name)
    raise StrategyConfigError(f"{field_name}: must be 'uniform', 'proportional' or a mapping domain -> weight, "
                              f"got {spec!r}")


@dataclass
class WarmupBanditStrategy(MixingStrategy):
    """Shared by ODM and EXP3: sample-level warm-up on initial weights, then one arm per micro-batch."""

    warmup_steps: int | None = None
    warmup_fraction: float = 0.0
    total_steps: int | None = None
    initial_weights: Any = "proportional"
    exploration_scale: float = 1.0

    granularity = "microbatch"

    def validate(self) -> None:
        if self.warmup_steps is not None and (not isinstance(self.warmup_steps, int) or self.warmup_steps < 0):
            raise StrategyConfigError(f"warmup_steps: must be a non-negative integer, got {self.warmup_steps!r}")
        if not (0.0 <= self.warmup_fraction < 1.0):
            raise StrategyConfigError(f"warmup_fraction: must be in [0, 1), got {self.warmup_fraction!r}")
        if not (isinstance(self.exploration_scale, (int, float)) and self.exploration_scale > 0):
            raise StrategyConfigError(f"exploration_scale: must be > 0, got {self.exploration_scale!r}")
        self._initial = initial_mixture(self.initial_weights, self.domains, self.sizes)

    @property
    def warmup(self) -> int:
        if self.warmup_steps is not None:
            return self.warmup_steps
        return int(round(self.warmup_fraction * (self.total_steps or 0)))

    def in_warmup(self, step: int) -> bool:
        return step <= self.warmup

    def granularity_at(self, step: int) -> str:
        return "sample" if self.in_warmup(step) else "microbatch"

    def epsilon(self, step: int) -> float:
        if step <= 0:
            return 1.0 / self.num_domains  # ε_0 = 1/K
        return exploration_rate(step, self.num_domains, self.exploration_scale)


@dataclass
class ODMStrategy(WarmupBanditStrategy):
    name = "odm"

    form: str = "paper"
    alpha: float = 0.9

    def validate(self) -> None:
        super().validate()
        if self.form not in ODM_FORMS:
            raise StrategyConfigError(f"form: must be one of {ODM_FORMS}, got {self.form!r}")
        if not (isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha < 1.0):
            raise StrategyConfigError(f"alpha: must be in [0, 1), got {self.alpha!r}")
        self.rewards = np.zeros(self.num_domains)
        self._last_pi = self._initial.copy()

    def current_weights(self, step: int) -> np.ndarray:
        if self.in_warmup(step):
            pi = self._initial
        else:
            eps = self.epsilon(step)
            if self.form == "paper":
                exploit = softmax(self.epsilon(step - 1) * self.rewards)
            else:
                total = self.rewards.sum()
                # R starts at 0: before any reward the exploitation part is uniform.
                exploit = self.rewards / total if total > 0 else np.full(self.num_domains, 1.0 / self.num_domains)
            pi = (1.0 - self.num_domains * eps) * exploit + eps
        self._last_pi = pi
        return pi

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if self.in_warmup(step):
            return
        drawn = stats.drawn
        if self.form == "paper":
            signal = stats.microbatch_loss_sum / self._last_pi
        else:
            with np.errstate(over="ignore"):
                signal = np.exp(stats.mean_microbatch_loss())
        self.rewards = np.where(drawn, self.alpha * self.rewards + (1.0 - self.alpha) * signal, self.rewards)
        if not np.all(np.isfinite(self.rewards)):
            raise FloatingPointError(f"odm: reward became non-finite at step {step} (loss {stats.mean_token_loss()})")

    def reward_log(self) -> list[float]:
        return self.rewards.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"rewards": self.rewards.tolist(), "last_pi": self._last_pi.tolist()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.rewards = np.asarray(state["rewards"], dtype=np.float64)
        self._last_pi = np.asarray(state["last_pi"], dtype=np.float64)

