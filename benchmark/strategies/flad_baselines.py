"""FLAD's fixed-mixture baselines: Target-Only, Explore-Only, Exploit-Only.

Source: Albalak, Raffel, Wang, arXiv 2302.00674, and github alon-albalak/FLAD
(src/multirun_train_mixed.py); documented in docs/methods/flad-bandits.md, "Baselines". Here the target is
one arm among `domains` (named by `target_arm`) and every sequence's arm is drawn independently
(the code's mixed-dataset batches). The grid G ∈ {4, 16} is a training setting, not one of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..capabilities import Capability, RewardSettings
from ..capabilities.gradient_rewards import FLAD_REWARDS
from .base import StrategyConfigError, normalized
from .exp3 import check_choice, check_fraction, check_rewards_vector
from .odm import softmax
from .static import StaticStrategy


@dataclass
class TargetArmStrategy(StaticStrategy):
    """A fixed mixture defined relative to the target arm."""

    target_arm: str = "target"
    target_ratio: float = 1.0  # the target's weight is multiplied by this, then renormalised

    def validate(self) -> None:
        if self.target_arm not in self.domains:
            raise StrategyConfigError(f"target_arm: {self.target_arm!r} is not a domain of this task; "
                                      f"allowed: {self.domains}")
        check_fraction("target_ratio", self.target_ratio, 0.0, math.inf, low_open=True, high_open=True)
        self.target_index = self.domains.index(self.target_arm)

    def with_target_ratio(self, weights: np.ndarray) -> np.ndarray:
        weights = np.array(weights, dtype=np.float64)
        weights[self.target_index] *= self.target_ratio
        return normalized(weights)


@dataclass
class TargetOnlyStrategy(TargetArmStrategy):
    """Target-Only: fine-tune on the few-shot target alone (all weight on the target arm)."""

    name = "target-only"

    def validate(self) -> None:
        super().validate()
        if self.target_ratio != 1.0:
            raise StrategyConfigError("target_ratio: target-only puts all weight on the target; leave it at 1")

    def compute_weights(self) -> np.ndarray:
        return np.eye(1, self.num_domains, self.target_index).ravel()


@dataclass
class ExploreOnlyStrategy(TargetArmStrategy):
    """Explore-Only: uniform over auxiliary arms and the target, the target's weight × target_ratio
    (published grid {1, 5, 10}), renormalised — the code's `relative_sampling_from_target`."""

    name = "explore-only"

    def compute_weights(self) -> np.ndarray:
        return self.with_target_ratio(np.full(self.num_domains, 1.0 / self.num_domains))


@dataclass
class ExploitOnlyStrategy(TargetArmStrategy):
    """Exploit-Only: softmax over warm-start similarities, fixed for all of training.

    warm_start_rewards: one similarity per domain (the target's entry is ignored) or per auxiliary
    arm (domains minus the target, in order), computed once before training as in UCB1-FLAD's warm
    start, by the trainer (capability WARM_START_REWARDS) with `reward` (FLAD: gradient alignment).
    The target's logit is the maximum auxiliary similarity; after the softmax its probability is
    multiplied by target_ratio and the mixture renormalised (the code does the ratio "in
    probability space").
    """

    name = "exploit-only"

    warm_start_rewards: list[float] | None = None
    reward: str = "ga"

    capabilities = frozenset({Capability.WARM_START_REWARDS})

    def reward_settings(self) -> RewardSettings:
        return RewardSettings(self.reward, "before")

    def validate(self) -> None:
        super().validate()
        check_choice("reward", self.reward, FLAD_REWARDS)
        self._auxiliary_similarities = None
        if self.warm_start_rewards is not None:
            self._auxiliary_similarities = self._check_similarities(self.warm_start_rewards)

    def _check_similarities(self, rewards: list[float]) -> np.ndarray:
        k = self.num_domains
        values = list(rewards) if isinstance(rewards, (list, tuple, np.ndarray)) else rewards
        if isinstance(values, list) and len(values) == k:
            del values[self.target_index]  # the target's entry (if any) is replaced by the max below
        return check_rewards_vector("warm_start_rewards", values, k - 1)

    def set_warm_start_rewards(self, rewards: list[float] | np.ndarray) -> None:
        self._auxiliary_similarities = self._check_similarities(rewards)
        self._weights = self.compute_weights()

    def compute_weights(self) -> np.ndarray | None:
        if self._auxiliary_similarities is None:
            return None  # filled in by set_warm_start_rewards
        similarities = self._auxiliary_similarities
        target_logit = similarities.max() if similarities.size else 0.0
        logits = np.insert(similarities, self.target_index, target_logit)
        return self.with_target_ratio(softmax(logits))

    def current_weights(self, step: int) -> np.ndarray:
        if self._weights is None:
            raise RuntimeError("exploit-only: warm_start_rewards were not supplied (the trainer's "
                               "warm-start capability, or the hyperparameter)")
        return self._weights
