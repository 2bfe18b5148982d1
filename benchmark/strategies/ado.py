"""Adaptive Data Optimization (Jiang, Zhou, Feng, Malladi, Kolter; arXiv 2410.11820, ICLR 2025).

Every domain k gets a power law L̂_k(n) = ε_k + β_k·n^(−α_k) of its training loss, refitted every
`fit_interval` steps (benchmark/strategies/power_law.py). Its learning speed is the magnitude of
the derivative, −dL̂_k/dn = α_k·(L̂_k(n) − ε_k)/n. After each step t (once fitted, from `start_step`):

    h      ← (1 − γ₁)·h + γ₁·c(t)                 c: the step's sampled fractions (code) or π(t) (paper)
    ρ      ∝ μ · h^s · max(α, α_min)·(L̂(n) − ε)/n,   then floored: ρ ← max(ρ, δ_min)/Σ
    π(t+1) = (1 − γ₂)·π̄ + γ₂·ρ
    π̄      ← (1 − 1/t)·π̄ + ρ/t
with μ the prior, h, π̄ and π all starting at μ. Docs: docs/methods/ado.md (released code:
github yidingjiang/ado, src/data_selectors/ado.py, class AdoSelector).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import DomainStats, MixingStrategy, StrategyConfigError, normalized
from .exp3 import check_choice, check_fraction
from .odm import initial_mixture
from .power_law import fit_power_law, predict, smooth_losses

CREDIT_SOURCES = ("counts", "policy")
SAMPLE_AXES = ("total", "domain")


def _check_int(field_name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise StrategyConfigError(f"{field_name}: must be an integer >= {low}, got {value!r}")


@dataclass
class ADOStrategy(MixingStrategy):
    """Class defaults are the released code's (a 60,000-step Pile run); baselines/ado.yaml scales
    the step counts to the task."""

    name = "ado"

    prior: Any = "proportional"          # μ: the code's "empirical" mode = token-proportional
    warmup_steps: int = 1000             # losses of steps ≤ this are left out of every fit (ignore_steps)
    start_step: int = 500                # first step whose update may fit and move the policy
    fit_interval: int = 1000             # refit at steps t ≥ start_step with t % fit_interval == 0
    fit_subsample: int = 10              # every 10th point of the curve enters the fit
    smoothing_window: int = 101          # Savitzky–Golay window over the loss history (0: none)
    smoothing_order: int = 3
    fit_starts: int = 8                  # best grid starts refined by L-BFGS (512 = every start, as in the code)
    irreducible_floor: float = math.exp(0.5)   # soft bound ε ≥ e^0.5 of the code's fit
    sample_axis: str = "total"           # n: samples seen in total (code) | from the domain itself
    credit_source: str = "counts"        # h's signal: the step's sampled fractions (code) | π (paper)
    credit_smoothing: float = 0.1        # γ₁
    credit_exponent: float = 0.5         # s
    policy_mix: float = 0.1              # γ₂
    min_probability: float = 0.01        # δ_min
    min_exponent: float = 0.05           # α_min in the learning speed

    def validate(self) -> None:
        for field_name, low in (("warmup_steps", 0), ("start_step", 1), ("fit_interval", 1), ("fit_subsample", 1),
                                ("smoothing_window", 0), ("smoothing_order", 0), ("fit_starts", 1)):
            _check_int(field_name, getattr(self, field_name), low)
        if self.smoothing_window and (self.smoothing_window % 2 == 0 or self.smoothing_window <= self.smoothing_order):
            raise StrategyConfigError(f"smoothing_window: must be 0 or an odd integer > smoothing_order "
                                      f"({self.smoothing_order}), got {self.smoothing_window!r}")
        if self.fit_starts > 512:
            raise StrategyConfigError(f"fit_starts: the start grid has 512 points, got {self.fit_starts!r}")
        check_fraction("irreducible_floor", self.irreducible_floor, 0.0, math.inf, low_open=True, high_open=True)
        check_choice("sample_axis", self.sample_axis, SAMPLE_AXES)
        check_choice("credit_source", self.credit_source, CREDIT_SOURCES)
        check_fraction("credit_smoothing", self.credit_smoothing, 0.0, 1.0)
        check_fraction("credit_exponent", self.credit_exponent, 0.0, math.inf, high_open=True)
        check_fraction("policy_mix", self.policy_mix, 0.0, 1.0)
        check_fraction("min_probability", self.min_probability, 0.0, 1.0 / self.num_domains, high_open=True)
        check_fraction("min_exponent", self.min_exponent, 0.0, math.inf, high_open=True)
        self.mu = initial_mixture(self.prior, self.domains, self.sizes, field_name="prior")
        self.credit = self.mu.copy()          # h
        self.policy_avg = self.mu.copy()      # π̄
        self.policy = self.mu.copy()          # π for the next step
        self.preference: np.ndarray | None = None   # ρ of the last policy update
        self.params: np.ndarray | None = None       # [K, 3] = (log β, log ε, α) per domain
        self.counts: list[list[float]] = []   # per step: the x-axis increment of every domain
        self.losses: list[list[float]] = []   # per step: every domain's mean token loss (imputed if absent)
        self.fits = 0

    # -- the policy -----------------------------------------------------------------------------
    def current_weights(self, step: int) -> np.ndarray:
        return self.policy

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        self._record(stats)
        drawn = stats.sequences
        signal = normalized(drawn) if self.credit_source == "counts" else self.policy
        self.credit = (1.0 - self.credit_smoothing) * self.credit + self.credit_smoothing * signal
        if step >= self.start_step and step % self.fit_interval == 0:
            self.refit()
        if step >= self.start_step and self.params is not None:
            self._move_policy(step)

    def learning_speed(self) -> np.ndarray:
        """−dL̂_k/dn at the current n, with the exponent bounded below by `min_exponent`."""
        assert self.params is not None
        n = np.asarray(self.counts).sum(axis=0)
        eps = np.exp(self.params[:, 1])
        alpha = np.maximum(self.params[:, 2], self.min_exponent)
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = alpha * (predict(self.params, n) - eps) / n
        return np.where(n > 0, speed, 0.0)

    def _move_policy(self, step: int) -> None:
        raw = self.learning_speed() * self.mu * self.credit ** self.credit_exponent
        if not (np.all(np.isfinite(raw)) and raw.sum() > 0):
            raise FloatingPointError(f"ado: preference is not a distribution at step {step}: {raw}")
        rho = normalized(np.maximum(normalized(raw), self.min_probability))
        self.preference = rho
        self.policy = (1.0 - self.policy_mix) * self.policy_avg + self.policy_mix * rho
        self.policy_avg = (1.0 - 1.0 / step) * self.policy_avg + rho / step

    # -- the data and the fit -------------------------------------------------------------------
    def _record(self, stats: DomainStats) -> None:
        drawn = stats.sequences
        if self.sample_axis == "total":
            self.counts.append([float(drawn.sum())] * self.num_domains)
        else:
            self.counts.append(drawn.astype(float).tolist())
        # A domain absent from the step keeps its previous loss; on the first step, the step's mean.
        step_mean = float(stats.token_loss_sum.sum() / max(stats.tokens.sum(), 1))
        previous = self.losses[-1] if self.losses else [step_mean] * self.num_domains
        mean = stats.mean_token_loss()
        self.losses.append([float(mean[k]) if stats.tokens[k] > 0 else previous[k] for k in range(self.num_domains)])

    def refit(self) -> None:
        """Fit every domain's power law on the (smoothed, subsampled) curve after the warm-up; a fit
        that is not finite keeps the previous parameters."""
        cumulative = np.cumsum(np.asarray(self.counts), axis=0)
        losses = np.asarray(self.losses)
        if self.smoothing_window:
            losses = smooth_losses(losses, self.smoothing_window, self.smoothing_order)
        rows = slice(self.warmup_steps, None, self.fit_subsample)
        n, curve = cumulative[rows], losses[rows]
        if n.shape[0] == 0:
            return
        params = np.empty((self.num_domains, 3))
        for k in range(self.num_domains):
            keep = (n[:, k] > 0) & (curve[:, k] > 0)
            params[k] = (fit_power_law(n[keep, k], curve[keep, k], self.fit_starts, self.irreducible_floor)
                         if keep.any() else np.nan)
        if np.all(np.isfinite(params)):
            self.params = params
            self.fits += 1

    # -- logging and checkpoints ----------------------------------------------------------------
    def reward_log(self) -> list[float] | None:
        return None if self.preference is None else self.preference.tolist()

    def extra_state(self) -> dict[str, Any]:
        arrays = {"credit": self.credit, "policy_avg": self.policy_avg, "policy": self.policy,
                  "preference": self.preference, "params": self.params}
        return {**{k: (None if v is None else v.tolist()) for k, v in arrays.items()},
                "counts": [list(c) for c in self.counts], "losses": [list(row) for row in self.losses],
                "fits": self.fits}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        for key in ("credit", "policy_avg", "policy", "preference", "params"):
            setattr(self, key, None if state[key] is None else np.asarray(state[key], dtype=np.float64))
        self.counts = [list(c) for c in state["counts"]]
        self.losses = [list(row) for row in state["losses"]]
        self.fits = state["fits"]
