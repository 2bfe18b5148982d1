"""Skill-It online data selection (Chen et al., arXiv 2307.14430, Algorithm 1; code HazyResearch/skill-it
trainer/mw_trainer.py), over a task's domains as the skills.

Training is cut into rounds of `update_steps` optimizer steps. With A the k×k skills graph (row i:
the domain trained on, column j: the domain whose held-out loss it lowers) and w_0 = 1:

    round 1:    p_1 ∝ w_0 · exp(η · A·1)                      (softmax of η times A's row sums)
    round t+1:  p_{t+1} ∝ w_0 · exp(η · A · Σ_{last `window` evaluations} L_held-out)

The per-domain held-out losses come from the trainer (Capability.HELD_OUT_EVALUATION). When they are
measured:
  evaluation="code" (default): after every optimizer step s with (s − 1) % eval_every == 0 — the
    released loop evaluates when `counter % ckpt_steps == 0` right after the optimizer step, counter
    being 0-based — and a round's update sums the last `window` evaluations made so far;
  evaluation="paper": the model f_t at the start of every round (after step (t−1)·update_steps,
    step 0 being the initial model), and p_{t+1} sums the evaluations of f_{t−w+1}, …, f_t only
    (the evaluation after the round's last step is first used one round later).
With eval_every == update_steps the two differ by one optimizer step. The losses are summed, not
averaged, and not divided by the initial losses (the code's `normalize_loss`, off in every run script).

graph: "identity" (no graph learning; the paper's ablation), a k×k matrix (list of rows, task domain
order), or "learned": a placeholder the `skill-it` pipeline replaces by the graph it estimates
(benchmark/pipelines/skill_it.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..capabilities import Capability
from .base import DomainStats, MixingStrategy, StrategyConfigError
from .exp3 import check_choice, check_fraction
from .odm import softmax

EVALUATION_TIMINGS = ("code", "paper")
NAMED_GRAPHS = ("identity", "learned")


def check_positive_int(field_name: str, value: Any) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise StrategyConfigError(f"{field_name}: must be a positive integer, got {value!r}")
    return value


def resolve_graph(graph: Any, num_domains: int) -> np.ndarray | None:
    """The skills graph as a k×k array; None for "learned" (the pipeline supplies it)."""
    if graph == "identity":
        return np.eye(num_domains)
    if graph == "learned":
        return None
    if isinstance(graph, str) or not isinstance(graph, (list, tuple, np.ndarray)):
        raise StrategyConfigError(f"graph: must be one of {list(NAMED_GRAPHS)} or a {num_domains}×{num_domains} "
                                  f"matrix (list of rows), got {graph!r}")
    try:
        matrix = np.asarray(graph, dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyConfigError(f"graph: must be a {num_domains}×{num_domains} matrix of numbers") from None
    if matrix.shape != (num_domains, num_domains):
        raise StrategyConfigError(f"graph: must be {num_domains}×{num_domains} (one row and column per domain), "
                                  f"got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise StrategyConfigError("graph: every entry must be finite")
    return matrix


@dataclass
class SkillItStrategy(MixingStrategy):
    name: ClassVar[str] = "skill-it"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.HELD_OUT_EVALUATION})

    eta: float = 0.2
    update_steps: int = 50
    window: int = 3
    eval_every: int | None = None     # code timing only; None: once per round (= update_steps)
    evaluation: str = "code"
    graph: Any = "identity"

    def validate(self) -> None:
        check_fraction("eta", self.eta, 0.0, math.inf, low_open=True, high_open=True)
        check_positive_int("update_steps", self.update_steps)
        check_positive_int("window", self.window)
        check_choice("evaluation", self.evaluation, EVALUATION_TIMINGS)
        if self.eval_every is not None:
            check_positive_int("eval_every", self.eval_every)
            # mw_trainer relies on get_steps' `update_steps % ckpt_steps == 0` (trainer/utils.py).
            if self.update_steps % self.eval_every:
                raise StrategyConfigError(f"eval_every: must divide update_steps ({self.update_steps}), "
                                          f"got {self.eval_every}")
            if self.evaluation == "paper" and self.eval_every != self.update_steps:
                raise StrategyConfigError("eval_every: the paper's timing evaluates once per round; leave it "
                                          "unset or equal to update_steps")
        self._graph = resolve_graph(self.graph, self.num_domains)
        self.weights = None if self._graph is None else self.initial_weights()
        self.evaluations: list[tuple[int, np.ndarray]] = []
        self.scores: np.ndarray | None = None

    @property
    def evaluation_period(self) -> int:
        return self.eval_every or self.update_steps

    def initial_weights(self) -> np.ndarray:
        # mw_trainer.py: loss_init = weights_init = ones, weights = ones · exp(η · graph.dot(ones)).
        return softmax(self.eta * self._graph.sum(axis=1))

    def current_weights(self, step: int) -> np.ndarray:
        if self.weights is None:
            raise ValueError("graph: 'learned' is filled in by the skill-it pipeline (recipe `pipeline: skill-it`); "
                             "give a matrix or 'identity' to run the strategy on its own")
        return self.weights

    # -- Capability.HELD_OUT_EVALUATION -------------------------------------------------------------
    def held_out_due(self, step: int) -> bool:
        if self.evaluation == "paper":
            return step % self.update_steps == 0            # f_t, the model at the start of round t
        return step >= 1 and (step - 1) % self.evaluation_period == 0

    def observe_held_out(self, step: int, losses: np.ndarray) -> None:
        losses = np.asarray(losses, dtype=np.float64)
        if losses.shape != (self.num_domains,) or not np.all(np.isfinite(losses)):
            raise ValueError(f"skill-it: held-out losses at step {step} must be {self.num_domains} finite numbers, "
                             f"got {losses}")
        self.evaluations.append((int(step), losses))
        del self.evaluations[:-(self.window + 1)]           # the paper's window skips the newest one

    # -- the round update ---------------------------------------------------------------------------
    def window_losses(self, step: int) -> np.ndarray | None:
        """Σ of the window's held-out losses for the update after `step`; None when none is in it."""
        usable = [losses for at, losses in self.evaluations
                  if (at < step if self.evaluation == "paper" else at <= step)][-self.window:]
        return np.sum(usable, axis=0) if usable else None

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if step % self.update_steps or self.weights is None:
            return
        summed = self.window_losses(step)
        if summed is None:      # the paper's timing without a step-0 evaluation: keep p_1
            return
        self.scores = self._graph @ summed
        self.weights = softmax(self.eta * self.scores)

    def reward_log(self) -> list[float] | None:
        """A·ΣL of the last update (the exponent divided by η)."""
        return None if self.scores is None else self.scores.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {"weights": None if self.weights is None else self.weights.tolist(),
                "evaluations": [[at, losses.tolist()] for at, losses in self.evaluations],
                "scores": None if self.scores is None else self.scores.tolist()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.weights = None if state["weights"] is None else np.asarray(state["weights"], dtype=np.float64)
        self.evaluations = [(int(at), np.asarray(losses, dtype=np.float64)) for at, losses in state["evaluations"]]
        self.scores = None if state["scores"] is None else np.asarray(state["scores"], dtype=np.float64)
