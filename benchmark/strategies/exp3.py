"""Cumulative-reward bandits: the ODM repository's `exp3`, FLAD's EXP3-FLAD and UCB1-FLAD.

Sources (documented in docs/methods/exp3.md and docs/methods/flad-bandits.md; the released code was
read for facts only):
- `exp3`: github alon-albalak/online-data-mixing, `Exp3WeightUpdater` (megatron/data/data_sampling_utils.py).
- `exp3-flad`, `ucb1-flad`: Albalak, Raffel, Wang, "Improving Few-Shot Generalization by Exploring
  and Exploiting Auxiliary Data", NeurIPS 2023, arXiv 2302.00674; github alon-albalak/FLAD
  (`Exp3BatchedFLADTrainer`, `UCB1BatchedFLADTrainer` in src/trainer.py).

Every point where the FLAD paper and its code differ is a named option (`sampler`,
`exploration_time`, `target_gradient`, `reward`), never a silent choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..capabilities import Capability, RewardSettings
from ..capabilities.gradient_rewards import FLAD_REWARDS, TARGET_GRADIENTS
from .base import DomainStats, MixingStrategy, StepLog, StrategyConfigError, exploration_rate
from .odm import WarmupBanditStrategy, floored_policy, released_exp, softmax

FLAD_SAMPLERS = ("code", "paper")
EXPLORATION_TIMES = ("code", "paper")


# -- helpers shared by the bandits here and flad_baselines ---------------------------------------
def check_choice(field_name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StrategyConfigError(f"{field_name}: must be one of {list(allowed)}, got {value!r}")


def check_fraction(field_name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                   high_open: bool = False) -> None:
    """value must be a real number in the interval [low, high] (ends opened on request)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise StrategyConfigError(f"{field_name}: must be a number in {interval}, got {value!r}")


def check_rewards_vector(field_name: str, rewards: Any, length: int) -> np.ndarray:
    """A list of `length` finite per-arm rewards (e.g. warm-start similarities from the trainer)."""
    try:
        vector = np.asarray(rewards, dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyConfigError(f"{field_name}: must be a list of {length} numbers, got {rewards!r}") from None
    if vector.shape != (length,):
        raise StrategyConfigError(f"{field_name}: must hold one reward per arm ({length}), got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise StrategyConfigError(f"{field_name}: every reward must be finite, got {rewards!r}")
    return vector


def gibbs_policy(cumulative_reward: np.ndarray, eps: float, prev_eps: float) -> np.ndarray:
    """EXP3's π(a) = (1 − K·ε_t)·softmax(ε_{t−1}·R̂)_a + ε_t (ODM Algorithm 1; FLAD's EXP3-FLAD)."""
    return (1.0 - len(cumulative_reward) * eps) * softmax(prev_eps * cumulative_reward) + eps


# -- ODM repository's cumulative EXP3 --------------------------------------------------------------
@dataclass
class Exp3Strategy(WarmupBanditStrategy):
    """The ODM repository's cumulative EXP3 (`Exp3WeightUpdater.group_update`, method "exp3").

    Mechanics shared with ODM (docs/methods/odm.md): a warm-up that samples every sequence from the
    initial weights without updates, then one domain per micro-batch; ε_t = min{1/K, s·sqrt(ln K/(K·t))}
    with t = global optimizer step (warm-up included); one update per optimizer step for the domains
    drawn in it. As released (docs/methods/exp3.md), after step s:
        R̂_i += (L_i / 10) / π_s(i)      for each drawn i (L_i: mean micro-batch loss, π_s: the policy s used)
        w = (1 − K·ε_s)·softmax(ε_{s−1}·R̂) + ε_s,  π_{s+1} = w / Σ w
    where ε_{s−1} is the ε of the previous update (1/K at the first one). The first step after
    warm-up samples the initial weights, and its update divides by them.
    """

    name = "exp3"

    reward_divisor: float = 10.0  # "scale down reward so that cumulative reward doesn't explode"

    def validate(self) -> None:
        super().validate()
        check_fraction("reward_divisor", self.reward_divisor, 0.0, math.inf, low_open=True, high_open=True)
        self.cumulative_reward = np.zeros(self.num_domains)

    def current_weights(self, step: int) -> np.ndarray:
        if self.in_warmup(step):
            return self._initial
        return self.policy  # computed by the update after step − 1 (the initial weights before it)

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if self.in_warmup(step):
            return
        drawn = stats.drawn
        # self.policy is still the π this step was sampled from.
        self.cumulative_reward[drawn] += stats.mean_microbatch_loss()[drawn] / self.reward_divisor / self.policy[drawn]
        if not np.all(np.isfinite(self.cumulative_reward)):
            raise FloatingPointError(f"exp3: cumulative reward became non-finite at step {step}")
        exponent = self.advance_epsilon(step) * self.cumulative_reward
        scores = released_exp(exponent)
        if not np.all(np.isfinite(scores)):
            # The released code stops here (OverflowError); shifting by the max leaves the policy as is.
            scores = released_exp(exponent - exponent.max())
        self.policy = floored_policy(scores, self.eps)

    def reward_log(self) -> list[float]:
        return self.cumulative_reward.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"cumulative_reward": self.cumulative_reward.tolist(), **self.lagged_state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.cumulative_reward = np.asarray(state["cumulative_reward"], dtype=np.float64)
        self.load_lagged_state(state)


# -- FLAD ------------------------------------------------------------------------------------------
@dataclass
class FLADBanditStrategy(MixingStrategy):
    """Options shared by EXP3-FLAD and UCB1-FLAD (arXiv 2302.00674; docs/methods/flad-bandits.md).

    Arms are the auxiliary datasets only (the few-shot target is trained on every update by the
    trainer). One bandit round = one micro-batch from one arm; rewards arrive once per optimizer
    update in `DomainStats.rewards` (NaN for arms not pulled in the window), which the trainer
    computes (capability GRADIENT_REWARDS) as `flad_reward(∇aux, ∇target, reward)` on the parameter subset:
      reward: "ga" | "gms" | "agg" — R_GA, R_GMS or R_AGG (see `flad_reward`).
      target_gradient: "after" (code: recomputed on the updated weights after the optimizer step) |
        "before" (paper pseudo-code: computed once before the update).
      sampler: "code" — the released sampler applies a softmax to the probabilities it is handed, so
        what is drawn is softmax(π) (EXP3) or softmax(one-hot) (UCB1); "paper" — draw from π /
        take the argmax.
    """

    reward: str = "agg"
    target_gradient: str = "after"
    sampler: str = "code"

    granularity = "microbatch"
    capabilities = frozenset({Capability.GRADIENT_REWARDS})

    def validate(self) -> None:
        check_choice("reward", self.reward, FLAD_REWARDS)
        check_choice("target_gradient", self.target_gradient, TARGET_GRADIENTS)
        check_choice("sampler", self.sampler, FLAD_SAMPLERS)

    def granularity_at(self, step: int) -> str:
        return "microbatch"

    def reward_settings(self) -> RewardSettings:
        return RewardSettings(self.reward, self.target_gradient)

    def pulled_rewards(self, stats: DomainStats) -> tuple[np.ndarray, np.ndarray]:
        """(mask of arms pulled in the window, their rewards)."""
        if stats.rewards is None:
            raise ValueError(f"{self.name}: DomainStats.rewards is required (the trainer's gradient-rewards capability)")
        rewards = np.asarray(stats.rewards, dtype=np.float64)
        if rewards.shape != (self.num_domains,):
            raise ValueError(f"{self.name}: expected {self.num_domains} rewards, got shape {rewards.shape}")
        pulled = ~np.isnan(rewards)
        if np.isinf(rewards[pulled]).any():
            raise FloatingPointError(f"{self.name}: infinite reward {rewards[pulled]}")
        return pulled, rewards[pulled]


@dataclass
class Exp3FLADStrategy(FLADBanditStrategy):
    """EXP3-FLAD (docs/methods/flad-bandits.md, "EXP3-FLAD").

    After each update, for each pulled arm a: R̂_a += r̃_a / π_a, where π_a is the policy's
    probability (the code divides by π even when it samples from softmax(π)) and r̃ is the reward,
    optionally smoothed: r̃_a ← (1 − β)·r̃_a + β·r_a (the code's `similarity_beta`, default 1 = none;
    here an arm's first reward initialises r̃, where the code starts from 1 or a warm-start value).
    Then ε_t = min{1/K, scale·sqrt(ln K/(K·t))} and π = (1 − K·ε_t)·softmax(ε_{t−1}·R̂) + ε_t, with
      exploration_time "code": t = global_step·G·10 + 1 (the code's unexplained ×10; G = micro-batches
        per update, learnt from `plan`'s num_microbatches) | "paper": t = rounds (micro-batches) played.
    No warm start: ε_0 = 1/K, so the policy is uniform until the first update.
    """

    name = "exp3-flad"

    beta: float = 1.0
    exploration_time: str = "code"
    exploration_scale: float = 1.0

    def validate(self) -> None:
        super().validate()
        check_fraction("beta", self.beta, 0.0, 1.0, low_open=True)
        check_choice("exploration_time", self.exploration_time, EXPLORATION_TIMES)
        check_fraction("exploration_scale", self.exploration_scale, 0.0, math.inf, low_open=True, high_open=True)
        k = self.num_domains
        self.cumulative_reward = np.zeros(k)
        self.smoothed_reward = np.full(k, np.nan)  # NaN until an arm's first reward
        self.eps = self.prev_eps = 1.0 / k
        self.policy = np.full(k, 1.0 / k)
        self.microbatches_per_update: int | None = None
        self.rounds_played = 0

    def sampling_distribution(self) -> np.ndarray:
        return softmax(self.policy) if self.sampler == "code" else self.policy

    def current_weights(self, step: int) -> np.ndarray:
        return self.sampling_distribution()

    def plan(self, step: int, num_microbatches: int, batch_size: int) -> np.ndarray:
        self.microbatches_per_update = num_microbatches
        plan = super().plan(step, num_microbatches, batch_size)
        self.rounds_played += num_microbatches
        return plan

    def exploration_t(self, step: int) -> int:
        if self.exploration_time == "paper":
            return max(self.rounds_played, 1)
        if self.microbatches_per_update is None:
            raise RuntimeError("exp3-flad: plan() must run before update() (it gives G for t = step·G·10 + 1)")
        return step * self.microbatches_per_update * 10 + 1

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        pulled, rewards = self.pulled_rewards(stats)
        previous = self.smoothed_reward[pulled]
        smoothed = np.where(np.isnan(previous), rewards, (1.0 - self.beta) * previous + self.beta * rewards)
        self.smoothed_reward[pulled] = smoothed
        self.cumulative_reward[pulled] += smoothed / self.policy[pulled]
        self.prev_eps = self.eps
        self.eps = exploration_rate(self.exploration_t(step), self.num_domains, self.exploration_scale)
        self.policy = gibbs_policy(self.cumulative_reward, self.eps, self.prev_eps)

    def reward_log(self) -> list[float]:
        return self.cumulative_reward.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"cumulative_reward": self.cumulative_reward.tolist(),
                "smoothed_reward": self.smoothed_reward.tolist(), "eps": self.eps, "prev_eps": self.prev_eps,
                "policy": self.policy.tolist(), "microbatches_per_update": self.microbatches_per_update,
                "rounds_played": self.rounds_played}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.cumulative_reward = np.asarray(state["cumulative_reward"], dtype=np.float64)
        self.smoothed_reward = np.asarray(state["smoothed_reward"], dtype=np.float64)
        self.eps, self.prev_eps = float(state["eps"]), float(state["prev_eps"])
        self.policy = np.asarray(state["policy"], dtype=np.float64)
        self.microbatches_per_update = state["microbatches_per_update"]
        self.rounds_played = int(state["rounds_played"])


def sample_softmax_of_one_hot(rng: np.random.Generator, chosen: int, num_arms: int) -> int:
    """One draw from softmax(one-hot(chosen)): e/(e + K − 1) on `chosen`, 1/(e + K − 1) elsewhere.

    O(1) instead of building the K-vector: the FLAD code's sampler applied to UCB1's one-hot.
    """
    if num_arms == 1:
        return 0
    x = rng.random() * (math.e + num_arms - 1)
    if x < math.e:
        return chosen
    other = min(int(x - math.e), num_arms - 2)  # uniform over the K − 1 other arms
    return other + (other >= chosen)


@dataclass
class UCB1FLADStrategy(FLADBanditStrategy):
    """UCB1-FLAD (docs/methods/flad-bandits.md, "UCB1-FLAD").

    Warm start (warm_start=true, as published; the code asserts it): R̂_a = the reward of arm a's
    first min(1000, size) examples at the pretrained weights, n_a = 1. The trainer supplies these
    (capability WARM_START_REWARDS) through `warm_start_rewards` or `set_warm_start_rewards` before the
    first plan. Without it: R̂ = 0, n = 0, and unpulled arms are chosen first (in arm order).
    Before every micro-batch: UCB_a = R̂_a + sqrt(2·ln(rounds_played + K) / n_a); the argmax
    (sampler "paper") or a draw from softmax(one-hot(argmax)) (sampler "code") is pulled, and its
    n_a and rounds_played increase by one.
    After each update, for pulled arms: R̂_a ← β·R̂_a + (1 − β)·r_a, β = 0.9 — the code's weighting
    (`similarity_beta` 0.1 on the new reward); the paper's text writes β = 0.9 on the new reward.
    Logged weights: the step's mean per-micro-batch sampling distribution.
    """

    name = "ucb1-flad"

    # the default (warm_start: true); an instance without the warm start narrows it in validate()
    capabilities = frozenset({Capability.GRADIENT_REWARDS, Capability.WARM_START_REWARDS})

    beta: float = 0.9
    warm_start: bool = True
    warm_start_rewards: list[float] | None = None

    def validate(self) -> None:
        super().validate()
        check_fraction("beta", self.beta, 0.0, 1.0, high_open=True)
        if not isinstance(self.warm_start, bool):
            raise StrategyConfigError(f"warm_start: must be true or false, got {self.warm_start!r}")
        if self.warm_start_rewards is not None and not self.warm_start:
            raise StrategyConfigError("warm_start_rewards: given but warm_start is false")
        self.capabilities = frozenset({Capability.GRADIENT_REWARDS} | (
            {Capability.WARM_START_REWARDS} if self.warm_start else set()))
        self.estimates = np.zeros(self.num_domains)
        self.pulls = np.zeros(self.num_domains)
        self.rounds_played = 0
        self.warm_started = False
        if self.warm_start_rewards is not None:
            self.set_warm_start_rewards(self.warm_start_rewards)

    def set_warm_start_rewards(self, rewards: list[float] | np.ndarray) -> None:
        """R̂_a = rewards[a], n_a = 1 — called by the trainer before the first plan."""
        if not self.warm_start:
            raise StrategyConfigError("warm_start_rewards: given but warm_start is false")
        if self.rounds_played:
            raise RuntimeError("ucb1-flad: warm-start rewards must be set before the first plan")
        self.estimates = check_rewards_vector("warm_start_rewards", rewards, self.num_domains).copy()
        self.pulls = np.ones(self.num_domains)
        self.warm_started = True

    def _best_arm(self) -> int:
        if self.num_domains == 1:
            return 0
        scale = math.sqrt(2.0 * math.log(self.rounds_played + self.num_domains))
        with np.errstate(divide="ignore"):
            bonus = scale / np.sqrt(self.pulls)  # n_a = 0 → +inf: unpulled arms first
        return int(np.argmax(self.estimates + bonus))

    def _distribution_for(self, chosen: int) -> np.ndarray:
        if self.sampler == "paper":
            return np.eye(1, self.num_domains, chosen).ravel()
        one_hot = np.zeros(self.num_domains)
        one_hot[chosen] = 1.0
        return softmax(one_hot)

    def current_weights(self, step: int) -> np.ndarray:
        """Sampling distribution of the next micro-batch."""
        return self._distribution_for(self._best_arm())

    def plan(self, step: int, num_microbatches: int, batch_size: int) -> np.ndarray:
        if self.warm_start and not self.warm_started:
            raise RuntimeError("ucb1-flad: warm_start is true but no warm-start rewards were supplied "
                               "(set warm_start_rewards or call set_warm_start_rewards)")
        k = self.num_domains
        best = np.empty(num_microbatches, dtype=np.int64)
        arms = np.empty(num_microbatches, dtype=np.int64)
        for g in range(num_microbatches):
            best[g] = self._best_arm()
            arms[g] = best[g] if self.sampler == "paper" else sample_softmax_of_one_hot(self.rng, int(best[g]), k)
            self.pulls[arms[g]] += 1
            self.rounds_played += 1
        if self.log_every and (step % self.log_every == 0 or step == 1):
            self.history.append(StepLog(step, self._mean_distribution(best).tolist(), self.reward_log()))
        return np.repeat(arms[:, None], batch_size, axis=1)

    def _mean_distribution(self, best: np.ndarray) -> np.ndarray:
        share = np.bincount(best, minlength=self.num_domains) / len(best)
        if self.sampler == "paper":
            return share
        # softmax(one-hot): every arm 1/(e + K − 1), plus (e − 1)/(e + K − 1) on the argmax
        denominator = math.e + self.num_domains - 1
        return (1.0 + (math.e - 1.0) * share) / denominator

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        pulled, rewards = self.pulled_rewards(stats)
        self.estimates[pulled] = self.beta * self.estimates[pulled] + (1.0 - self.beta) * rewards

    def reward_log(self) -> list[float]:
        return self.estimates.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"estimates": self.estimates.tolist(), "pulls": self.pulls.tolist(),
                "rounds_played": self.rounds_played, "warm_started": self.warm_started}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.estimates = np.asarray(state["estimates"], dtype=np.float64)
        self.pulls = np.asarray(state["pulls"], dtype=np.float64)
        self.rounds_played = int(state["rounds_played"])
        self.warm_started = bool(state["warm_started"])
