"""The mixing-strategy interface: what every data-mixing method implements.

A strategy is plain Python + NumPy and needs no Lightning, so it can drive any training loop:

    strategy = ODMStrategy(domains, sizes, seed=0, alpha=0.9)
    for step in range(1, num_steps + 1):
        plan = strategy.plan(step, num_microbatches=G, batch_size=B)   # [G, B] domain ids
        ...train on batches drawn from those domains, collecting DomainStats...
        strategy.update(step, stats)

The plan is drawn from the strategy's own seeded RNG, so every data-parallel rank that holds the
same strategy state draws the same plan and takes its strided share of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..capabilities import Capability


class StrategyConfigError(ValueError):
    """A hyperparameter is invalid; the message names the field and what is allowed."""


@dataclass
class DomainStats:
    """Per-domain training statistics of one optimizer step (summed over micro-batches and ranks).

    token_loss_sum / tokens: summed token cross-entropy and token counts, per domain.
    microbatch_loss_sum / microbatches: sum of the per-micro-batch mean losses, and the number of
    micro-batches, of micro-batches drawn wholly from one domain (ODM's "mixed minibatches").
    sequences: number of sequences per domain.
    rewards: optional per-arm reward measured by the trainer in this update window (e.g. FLAD's
    gradient alignment with the target), NaN for arms not pulled; None for loss-driven methods.
    """

    token_loss_sum: np.ndarray
    tokens: np.ndarray
    microbatch_loss_sum: np.ndarray
    microbatches: np.ndarray
    sequences: np.ndarray
    rewards: np.ndarray | None = None
    excess_loss_sum: np.ndarray | None = None   # Σ max(ℓ − ℓ_ref, 0) per domain (reference-model hook)

    @classmethod
    def zeros(cls, num_domains: int) -> "DomainStats":
        return cls(*(np.zeros(num_domains, dtype=np.float64) for _ in range(5)))

    def as_array(self) -> np.ndarray:
        """The five summable rows (rewards are not summed across ranks)."""
        return np.stack([self.token_loss_sum, self.tokens, self.microbatch_loss_sum,
                         self.microbatches, self.sequences])

    @classmethod
    def from_array(cls, array: np.ndarray) -> "DomainStats":
        """From the five summable rows, plus an optional sixth: the excess-loss sums."""
        rows = [np.asarray(row, dtype=np.float64).copy() for row in array]
        return cls(*rows[:5], excess_loss_sum=rows[5] if len(rows) > 5 else None)

    @property
    def drawn(self) -> np.ndarray:
        """Boolean mask of domains that appeared in this step."""
        return self.sequences > 0

    def mean_token_loss(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.tokens > 0, self.token_loss_sum / np.maximum(self.tokens, 1), 0.0)

    def mean_microbatch_loss(self) -> np.ndarray:
        """Mean over a domain's micro-batches of their mean token loss (ODM code's L_i).

        Falls back to the token mean for domains drawn only inside mixed (per-sample) micro-batches.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            per_mb = self.microbatch_loss_sum / np.maximum(self.microbatches, 1)
        return np.where(self.microbatches > 0, per_mb, self.mean_token_loss())


@dataclass
class StepLog:
    step: int
    weights: list[float]
    rewards: list[float] | None = None


@dataclass
class MixingStrategy:
    """Base class. Subclasses set `name`, validate their hyperparameters in `__post_init__`, and
    override `current_weights` and (for online methods) `update`.

    Attributes every strategy has:
      domains: domain (arm) names, in task order; sizes: their sizes in tokens (or examples);
      seed: seeds the plan RNG (identical on every rank).
    """

    domains: list[str]
    sizes: list[float]
    seed: int = 0
    log_every: int = 1
    history: list[StepLog] = field(default_factory=list, repr=False)

    name: ClassVar[str] = "base"
    # "microbatch": every micro-batch comes from one domain; "sample": each sequence's domain is
    # drawn independently (ordinary sample-level blending).
    granularity: ClassVar[str] = "sample"
    # What the trainer must provide beyond per-step loss statistics (benchmark/capabilities);
    # a method that declares nothing pays nothing.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __post_init__(self) -> None:
        if len(self.domains) == 0:
            raise StrategyConfigError("domains: at least one domain is required")
        if len(self.sizes) != len(self.domains):
            raise StrategyConfigError("sizes: one size per domain is required")
        if any(s < 0 for s in self.sizes):
            raise StrategyConfigError("sizes: domain sizes must be non-negative")
        self.rng = np.random.Generator(np.random.PCG64(self.seed))
        self.validate()

    # -- to override ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise StrategyConfigError naming the field for invalid hyperparameters."""

    def current_weights(self, step: int) -> np.ndarray:
        """The sampling distribution used for optimizer step `step` (1-indexed)."""
        raise NotImplementedError

    def granularity_at(self, step: int) -> str:
        return self.granularity

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        """Called once after optimizer step `step` with statistics reduced across ranks."""

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -- shared machinery ----------------------------------------------------------------------
    @property
    def num_domains(self) -> int:
        return len(self.domains)

    def plan(self, step: int, num_microbatches: int, batch_size: int) -> np.ndarray:
        """Domain id of every sequence of every micro-batch of step `step`: int array [G, B].

        G counts the micro-batches of the whole global step (all ranks); rank r takes rows
        r, r + world_size, ...
        """
        weights = self.current_weights(step)
        self._last_plan_weights = weights
        if self.granularity_at(step) == "microbatch":
            rows = self.rng.choice(self.num_domains, size=num_microbatches, p=weights)
            plan = np.repeat(rows[:, None], batch_size, axis=1)
        else:
            plan = self.rng.choice(self.num_domains, size=(num_microbatches, batch_size), p=weights)
        if self.log_every and (step % self.log_every == 0 or step == 1):
            logged = np.asarray(self.logged_weights(weights), dtype=float)
            self.history.append(StepLog(step, logged.tolist(), self.reward_log()))
        return plan

    def logged_weights(self, sampling: np.ndarray) -> np.ndarray:
        """The mixture recorded in the trajectory (the sampling weights, unless a method's real
        output is another mixture, e.g. DoReMi's DRO weights)."""
        return sampling

    def reward_log(self) -> list[float] | None:
        """Per-arm reward estimates to log beside the weights (None for static methods)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rng": self.rng.bit_generator.state,
            "history": [vars(h).copy() for h in self.history],
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"checkpoint holds strategy {state.get('name')!r}, not {self.name!r}")
        self.rng.bit_generator.state = state["rng"]
        self.history = [StepLog(**h) for h in state["history"]]
        self.load_extra_state(state["extra"])

    def weight_trajectory(self) -> dict[str, Any]:
        return {
            "steps": [h.step for h in self.history],
            "weights": [h.weights for h in self.history],
            "rewards": [h.rewards for h in self.history] if any(h.rewards for h in self.history) else None,
        }


class TimeAveragedWeights:
    """For proxy methods whose output is ᾱ, the mean of α over their updates (DoReMi, DoGE): the
    subclass keeps `alpha`, `alpha_sum` and `updates`; ᾱ is logged beside the sampling weights and
    the three travel in the checkpoint."""

    alpha: np.ndarray
    alpha_sum: np.ndarray
    updates: int

    def average_weights(self) -> np.ndarray:
        """ᾱ: the mixture the proxy hands to the main run (α itself before any update)."""
        return self.alpha.copy() if self.updates == 0 else self.alpha_sum / self.updates

    def reward_log(self) -> list[float]:
        return self.average_weights().tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"alpha": self.alpha.tolist(), "alpha_sum": self.alpha_sum.tolist(), "updates": self.updates}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.alpha = np.asarray(state["alpha"], dtype=np.float64)
        self.alpha_sum = np.asarray(state["alpha_sum"], dtype=np.float64)
        self.updates = int(state["updates"])


def normalized(weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.sum()


def exploration_rate(step: int, num_domains: int, scale: float = 1.0) -> float:
    """ε_t = min{1/K, scale·sqrt(ln K / (K·t))} — the EXP3 schedule shared by ODM and EXP3-FLAD."""
    if num_domains == 1:
        return 1.0
    t = max(step, 1)
    return float(min(1.0 / num_domains, scale * np.sqrt(np.log(num_domains) / (num_domains * t))))
