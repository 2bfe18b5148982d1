"""Online Data Mixing (Albalak et al., arXiv 2312.02406), in both published forms.

form="paper": Algorithm 1 — EXP3 with an importance-weighted EMA reward and a Gibbs policy, indexed
as the paper writes it (step t samples with ε_t and ε_{t−1}):
    π_t(i) = (1 − K·ε_t) · softmax(ε_{t−1}·R̂)_i + ε_t,  R̂_i ← α·R̂_i + (1 − α)·L_i / π_i
    where L_i is the SUM of the losses of domain i's micro-batches in the step.
form="code": exactly what the released runs did (SmoothedMeanWeightUpdater.group_update):
    after step s:  R_i ← α·R_i + (1 − α)·exp(L_i),  w = (1 − K·ε_s) · R / Σ_j R_j + ε_s,  π = w / Σ w
    and π is the policy of step s + 1; the first step after warm-up samples the initial weights.
    L_i is the mean over domain i's micro-batches of their mean token loss.
Both: ε_t = min{1/K, scale·sqrt(ln K/(K·t))} with t = global optimizer step (warm-up included);
a warm-up that samples every sequence i.i.d. from the initial weights without updates; after it,
one domain per micro-batch; updates only for the domains drawn in the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import DomainStats, MixingStrategy, StrategyConfigError, exploration_rate, normalized
from .static import resolve_explicit_weights

ODM_FORMS = ("paper", "code")


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


# The released updaters work on Python floats; these keep their arithmetic bit for bit (K is small).
def released_sum(values: np.ndarray) -> float:
    """Left-to-right sum, the order of the released code's `sum` (NumPy would sum pairwise)."""
    total = 0.0
    for value in values.tolist():
        total += value
    return total


def released_exp(values: np.ndarray) -> np.ndarray:
    """Elementwise `math.exp`, as the released updaters call it; inf where it would overflow."""
    out = []
    for value in values.tolist():
        try:
            out.append(math.exp(value))
        except OverflowError:
            out.append(math.inf)
    return np.asarray(out, dtype=np.float64)


def floored_policy(scores: np.ndarray, eps: float) -> np.ndarray:
    """The released updaters' policy: w = scores·((1 − K·ε)/Σ scores) + ε, then w / Σ w.

    Σ w is 1 up to rounding, so the renormalisation only removes rounding error; it is kept so that
    the policy matches the released code to the last bit.
    """
    weights = scores * ((1.0 - len(scores) * eps) / released_sum(scores)) + eps
    return weights / released_sum(weights)


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
        self.reset_lagged_policy()

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

    # -- the released updaters' clock: the policy computed after step s is used for step s + 1 ------
    def reset_lagged_policy(self) -> None:
        # Before the first update the released code samples the initial weights and holds ε = 1/K.
        self.policy = self._initial.copy()
        self.eps = 1.0 / self.num_domains

    def advance_epsilon(self, step: int) -> float:
        """ε of the update after `step` (ε_step); returns the ε it replaces (1/K at the first update)."""
        previous, self.eps = self.eps, self.epsilon(step)
        return previous

    def lagged_state(self) -> dict[str, Any]:
        return {"policy": self.policy.tolist(), "eps": self.eps}

    def load_lagged_state(self, state: dict[str, Any]) -> None:
        self.policy = np.asarray(state["policy"], dtype=np.float64)
        self.eps = float(state["eps"])


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
        elif self.form == "code":
            pi = self.policy  # computed by the update after step − 1 (the initial weights before it)
        else:
            eps = self.epsilon(step)
            pi = (1.0 - self.num_domains * eps) * softmax(self.epsilon(step - 1) * self.rewards) + eps
        self._last_pi = pi
        return pi

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if self.in_warmup(step):
            return
        drawn = stats.drawn
        if self.form == "paper":
            signal = stats.microbatch_loss_sum / self._last_pi
        else:
            signal = released_exp(stats.mean_microbatch_loss())
        self.rewards = np.where(drawn, self.alpha * self.rewards + (1.0 - self.alpha) * signal, self.rewards)
        if not np.all(np.isfinite(self.rewards)):
            raise FloatingPointError(f"odm: reward became non-finite at step {step} (loss {stats.mean_token_loss()})")
        if self.form == "code":
            # As released, R is scaled by the previous ε (1/K at the first update); it cancels in R/ΣR.
            scores = self.advance_epsilon(step) * self.rewards
            if not np.any(scores > 0):
                raise ValueError(f"odm: no domain drawn at step {step}, so no reward to form a policy from")
            self.policy = floored_policy(scores, self.eps)

    def reward_log(self) -> list[float]:
        return self.rewards.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"rewards": self.rewards.tolist(), "last_pi": self._last_pi.tolist(), **self.lagged_state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.rewards = np.asarray(state["rewards"], dtype=np.float64)
        self._last_pi = np.asarray(state["last_pi"], dtype=np.float64)
        if self.form == "code":
            self.load_lagged_state(state)
