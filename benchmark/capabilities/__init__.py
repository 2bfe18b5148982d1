"""What a mixing strategy may ask of the training loop, declared and typed.

A strategy lists the capabilities it needs in `capabilities` (a frozenset of `Capability`); the
trainer provides exactly those and nothing else, so a static mixture pays for nothing. A task
offers a set of capabilities (see `offered_by`), and a method runs on a task only when every
capability it needs is offered — otherwise one line names what is missing (`check_served`).

The methods' side of each capability is a typing Protocol below: the trainer calls those methods
instead of looking up hyperparameters by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Protocol, runtime_checkable

import numpy as np


class Capability(str, Enum):
    LOSS_STATISTICS = "loss statistics"          # per-domain loss sums of every step (always served)
    LOSS_WEIGHTS = "loss weights"                # per-example loss multipliers chosen by the method
    REFERENCE_MODEL = "reference model"          # a frozen reference model's losses on every micro-batch
    GRADIENT_REWARDS = "gradient rewards"        # per-arm gradient vs the target's gradient, every step
    WARM_START_REWARDS = "warm-start rewards"    # the same alignment once, at the initial weights
    HELD_OUT_EVALUATION = "held-out evaluation"  # per-domain held-out loss on demand (never test)
    PROBE_BURSTS = "probe bursts"                # training steps on mixtures the method names, counted
    OVER_RUNS = "runs over runs"                 # propose runs, run them, fit on their records
    DOMAIN_GRADIENTS = "domain gradients"        # per-domain gradients of a parameter subset, when asked
    TARGET_GRADIENT = "target gradient"          # the target's gradient beside them (needs a target)

    def __str__(self) -> str:
        return self.value


ALWAYS_SERVED = frozenset({Capability.LOSS_STATISTICS})


@dataclass(frozen=True)
class RewardSettings:
    """How a gradient-reward method scores an arm (docs/methods/flad-bandits.md)."""

    kind: str = "agg"               # ga | gms | agg
    target_gradient: str = "after"  # after (code: on the updated weights) | before (paper pseudo-code)
    parameters: str = "lm_head"     # the parameter subset the gradients are taken on


@runtime_checkable
class WeightsLosses(Protocol):
    """LOSS_WEIGHTS: a multiplier for every example's loss, from its domain."""

    def loss_weights(self, domain_ids: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class ScoresGradients(Protocol):
    """GRADIENT_REWARDS / WARM_START_REWARDS: how rewards are computed; rewards arrive in
    `DomainStats.rewards` (every step) or through `set_warm_start_rewards` (once, before training)."""

    def reward_settings(self) -> RewardSettings: ...


@runtime_checkable
class TakesWarmStart(Protocol):
    def set_warm_start_rewards(self, rewards: list[float] | np.ndarray) -> None: ...


@runtime_checkable
class EvaluatesHeldOut(Protocol):
    """HELD_OUT_EVALUATION: after optimizer step `step`, if `held_out_due(step)`, the trainer measures
    every domain's mean token loss on the task's held-out (validation, never test) blocks at the
    current weights and hands them to `observe_held_out` before the strategy's `update(step, ...)`.
    The evaluated tokens are charged to the method as extra forward tokens."""

    def held_out_due(self, step: int) -> bool: ...
    def observe_held_out(self, step: int, losses: np.ndarray) -> None: ...


@runtime_checkable
class BurstsProbes(Protocol):
    """PROBE_BURSTS: the method trains some steps on mixtures it names to measure them (Aioli's
    LearnParams); they are ordinary training steps of the budget, and the record counts them."""

    def probe_steps_taken(self) -> int: ...


@dataclass(frozen=True)
class GradientSettings:
    """What per-domain gradients a method wants (benchmark/training/domain_gradients.py).

    parameters: "lm_head" (the output projection), "all" (the whole model) or a parameter name.
    source: "extra" — one fresh batch of `batch_size` sequences per domain at the updated weights,
      when due (DGA); "step" — the step's own micro-batches split by domain, before the update (DoGE).
    target: also the target's gradient (declare TARGET_GRADIENT).
    combine: ("step" only) replace the step's gradient by Σ_i w_i·g_i over all parameters, with
      w = `combination_weights()` read after `observe_gradients` (DoGE's proxy update).
    clip: ("combine" only) clip each domain's whole-model gradient to this norm first (DoGE code).
    """

    parameters: str = "lm_head"
    source: str = "extra"
    target: bool = False
    batch_size: int | None = None
    combine: bool = False
    clip: float | None = None


@runtime_checkable
class ObservesGradients(Protocol):
    """DOMAIN_GRADIENTS (+ TARGET_GRADIENT): when `gradients_due(step)`, the trainer hands the method a
    [K, D] array of per-domain gradients on the parameter subset (and the target's [D] gradient, or
    None) with the current learning rate; the extra passes are charged to the method."""

    def gradient_settings(self) -> GradientSettings: ...
    def gradients_due(self, step: int) -> bool: ...
    def observe_gradients(self, step: int, domain_gradients: np.ndarray, target_gradient: np.ndarray | None,
                          lr: float) -> None: ...


PROTOCOLS: dict[Capability, type] = {Capability.DOMAIN_GRADIENTS: ObservesGradients,
                                     Capability.LOSS_WEIGHTS: WeightsLosses,
                                     Capability.GRADIENT_REWARDS: ScoresGradients,
                                     Capability.WARM_START_REWARDS: TakesWarmStart,
                                     Capability.HELD_OUT_EVALUATION: EvaluatesHeldOut,
                                     Capability.PROBE_BURSTS: BurstsProbes}


def needs(strategy: Any, capability: Capability) -> bool:
    """Whether `strategy` (an instance or a class) declared `capability`."""
    return capability in getattr(strategy, "capabilities", frozenset())


def required(strategy: Any) -> frozenset[Capability]:
    """What a strategy (instance or class) — or a plain set of capabilities — needs."""
    declared = strategy if isinstance(strategy, (set, frozenset)) else getattr(strategy, "capabilities", frozenset())
    return frozenset(declared) | ALWAYS_SERVED


def check_protocols(strategy: Any) -> None:
    """A strategy that declares a capability implements its side of it (a plug-in's mistake is
    reported once, at configuration time, not mid-run)."""
    for capability in required(strategy):
        protocol = PROTOCOLS.get(capability)
        if protocol is not None and not isinstance(strategy, protocol):
            raise TypeError(f"{type(strategy).__name__} declares '{capability}' but does not implement "
                            f"{protocol.__name__} ({', '.join(sorted(_members(protocol)))})")


def _members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def missing(strategy: Any, offered: Iterable[Capability]) -> list[Capability]:
    """The capabilities `strategy` needs that a task does not offer, in declaration order."""
    offered = set(offered)
    return [c for c in Capability if c in required(strategy) and c not in offered]
