"""Aioli (Chen et al., arXiv 2411.05735; github HazyResearch/aioli, trainer/aioli_trainer.py).

Training is split into rounds. Each round starts with LearnParams: probe bursts of `lp_steps`
ordinary training steps, one burst per smoothed one-hot mixture
    p_j = (1 − f)/(K − 1) everywhere, f at domain j          (f = one_hot_factor)
in `lp_rounds` random permutations of the K domains. After every burst every domain's held-out
loss is measured; the burst's loss decrease Δ = L_before − L_after is one observation of the
linear dynamic mixing law Δ_i = Σ_k A_ik p_jk. A is fitted by least squares over the round's
bursts (with every mixture seen lp_rounds times this is the code's "average the bursts, then
solve W·a_i = g_i"), optionally normalised, optionally smoothed by an EMA, and the mixture for
the rest of the round is
    w_j ∝ base_j · exp(η Σ_r Σ_i A^r_ij)   (no EMA: cumulative over rounds r)
    w_j ∝ base_j · exp(η Σ_i Ā_ij)         (EMA Ā of the A's)
The probe steps update the model (no revert) and count against the step budget.
Every choice and every paper/code difference is described in docs/methods/aioli.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..capabilities import Capability
from .base import DomainStats, MixingStrategy, StrategyConfigError
from .exp3 import check_choice, check_fraction
from .odm import initial_mixture, softmax

A_FORMS = ("full", "diagonal")         # code: aioli_diagonal off / on
NORMALIZATIONS = ("code", "none")      # code: --aioli_normalize_A (shift by the minimum, divide by the sum)
BASES = ("uniform", "prior")           # code restarts from ones; "prior" keeps the restricted prior


# -- the schedule ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AioliSchedule:
    """Which optimizer step (1-indexed) trains on what.

    Steps 1..prior_steps: the prior mixture (restricted setting). Then `rounds` rounds of
    `round_length` steps (the last one absorbs the remainder); each begins with K·lp_rounds bursts
    of lp_steps steps, then trains on the learned mixture until the round ends.
    """

    total_steps: int
    prior_steps: int
    rounds: int
    round_length: int
    lp_steps: int
    bursts: int                      # K · lp_rounds per round

    def round_start(self, r: int) -> int:
        return self.prior_steps + r * self.round_length + 1

    def round_of(self, step: int) -> int | None:
        if step <= self.prior_steps or step > self.total_steps:
            return None
        return min((step - self.prior_steps - 1) // self.round_length, self.rounds - 1)

    def burst_of(self, step: int) -> tuple[int, int] | None:
        """(round, burst index) when `step` is a probe step."""
        r = self.round_of(step)
        if r is None:
            return None
        offset = step - self.round_start(r)
        return (r, offset // self.lp_steps) if offset < self.bursts * self.lp_steps else None

    def burst_end(self, r: int, b: int) -> int:
        return self.round_start(r) + (b + 1) * self.lp_steps - 1

    def is_baseline(self, step: int) -> bool:
        """The held-out loss after `step` is the first burst's 'before' (code: the evaluation at
        the start of every round, aioli_trainer.py line 310)."""
        return any(step == self.round_start(r) - 1 for r in range(self.rounds))

    def probe_steps_through(self, step: int) -> int:
        """How many of steps 1..step are probe steps."""
        count = 0
        for r in range(self.rounds):
            start = self.round_start(r)
            count += max(0, min(step, start + self.bursts * self.lp_steps - 1) - start + 1)
        return count


def build_schedule(total_steps: int, num_domains: int, rounds: int, lp_rounds: int, delta: float,
                   lp_steps: int | None, prior_steps: int) -> AioliSchedule:
    """Rounds shrink (never grow) until a round holds its probe bursts plus one step on the learned
    mixture, so a short (quick) run still completes whole rounds; lp_steps, when not given, is the
    δ share of a round divided among the bursts (at least 1)."""
    bursts = num_domains * lp_rounds
    dynamic = total_steps - prior_steps
    minimum = bursts * (lp_steps or 1) + 1
    fitted = next((t for t in range(rounds, 0, -1) if dynamic // t >= minimum), None)
    if fitted is None:
        raise StrategyConfigError(f"rounds: {dynamic} steps after the prior cannot hold one round of {bursts} "
                                  f"bursts × {lp_steps or 1} steps plus one step on the learned mixture")
    length = dynamic // fitted
    steps = lp_steps if lp_steps is not None else max(1, int(delta * length) // bursts)
    return AioliSchedule(total_steps, prior_steps, fitted, length, steps, bursts)


# -- LearnParams and the update -----------------------------------------------------------------
def probe_mixture(j: int, num_domains: int, one_hot_factor: float) -> np.ndarray:
    """p_j: one_hot_factor on domain j, the rest spread evenly (aioli_trainer.py lines 125-126)."""
    if num_domains == 1:
        return np.ones(1)
    p = np.full(num_domains, (1.0 - one_hot_factor) / (num_domains - 1))
    p[j] = one_hot_factor
    return p


def estimate_interactions(mixtures: np.ndarray, deltas: np.ndarray, one_hot_factor: float,
                          form: str = "full") -> np.ndarray:
    """A[i, k]: how much training on domain k lowers domain i's held-out loss.

    mixtures: [n, K] the probe mixture of each burst; deltas: [n, K] its loss decrease per domain.
    full: least squares Δ ≈ P·Aᵀ over all bursts. diagonal (code's aioli_diagonal): A_ii is the mean
    decrease of domain i over its own bursts divided by one_hot_factor; off-diagonal entries are 0.
    """
    mixtures, deltas = np.asarray(mixtures, dtype=np.float64), np.asarray(deltas, dtype=np.float64)
    if form == "full":
        solution, *_ = np.linalg.lstsq(mixtures, deltas, rcond=None)
        # C order, like the array a checkpoint reloads: sums then round identically after a resume
        return np.ascontiguousarray(solution.T)
    k = mixtures.shape[1]
    own = mixtures.argmax(axis=1)
    diagonal = np.array([deltas[own == i, i].mean() for i in range(k)])
    return np.diag(diagonal / one_hot_factor)


def normalize_code(a: np.ndarray) -> np.ndarray:
    """--aioli_normalize_A (aioli_trainer.py lines 324-331): shift so the smallest entry is 0 when one
    is negative, then divide by the sum of all entries. An all-zero result stays zero (the code
    would divide by zero)."""
    a = a - min(a.min(), 0.0)
    total = a.sum()
    return a / total if total != 0 else a


@lru_cache(maxsize=64)
def _probe_order(seed: int, round_index: int, num_domains: int, lp_rounds: int) -> tuple[int, ...]:
    """lp_rounds random permutations of the domains, concatenated (aioli_trainer.py line 123); drawn
    from (seed, round) so the order needs no saved state."""
    rng = np.random.Generator(np.random.PCG64([seed, round_index]))
    return tuple(int(j) for _ in range(lp_rounds) for j in rng.permutation(num_domains))


# -- the strategy -------------------------------------------------------------------------------
@dataclass
class AioliStrategy(MixingStrategy):
    name = "aioli"
    granularity = "sample"
    capabilities = frozenset({Capability.HELD_OUT_EVALUATION, Capability.PROBE_BURSTS})

    eta: float = 1.0
    rounds: int = 10
    delta: float = 0.7
    lp_rounds: int = 2
    lp_steps: int | None = None
    one_hot_factor: float = 0.75
    ema: float | None = 0.1
    normalize: str = "code"
    a_matrix: str = "full"
    prior_weights: Any = None
    prior_fraction: float = 0.0
    base_weights: str = "uniform"
    total_steps: int | None = None

    def validate(self) -> None:
        k = self.num_domains
        check_fraction("eta", self.eta, 0.0, float("inf"), low_open=True, high_open=True)
        check_fraction("delta", self.delta, 0.0, 1.0, low_open=True, high_open=True)
        check_fraction("prior_fraction", self.prior_fraction, 0.0, 1.0, high_open=True)
        # f = 1/K makes every probe mixture uniform: the design matrix is singular.
        check_fraction("one_hot_factor", self.one_hot_factor, 1.0 / k if k > 1 else 0.0, 1.0, low_open=True)
        if self.ema is not None:
            check_fraction("ema", self.ema, 0.0, 1.0, high_open=True)
        for field_name in ("rounds", "lp_rounds"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise StrategyConfigError(f"{field_name}: must be a positive integer, got {value!r}")
        if self.lp_steps is not None and (not isinstance(self.lp_steps, int) or self.lp_steps < 1):
            raise StrategyConfigError(f"lp_steps: must be a positive integer or null, got {self.lp_steps!r}")
        check_choice("normalize", self.normalize, NORMALIZATIONS)
        check_choice("a_matrix", self.a_matrix, A_FORMS)
        check_choice("base_weights", self.base_weights, BASES)
        if not isinstance(self.total_steps, int) or self.total_steps < 1:
            raise StrategyConfigError(f"total_steps: must be a positive integer, got {self.total_steps!r}")
        if self.prior_fraction > 0 and self.prior_weights is None:
            raise StrategyConfigError("prior_weights: required when prior_fraction > 0 (the restricted setting)")
        self._prior = (initial_mixture(self.prior_weights, self.domains, self.sizes, "prior_weights")
                       if self.prior_weights is not None else np.full(k, 1.0 / k))
        prior_steps = int(round(self.prior_fraction * self.total_steps))
        self.schedule = build_schedule(self.total_steps, k, self.rounds, self.lp_rounds, self.delta,
                                       self.lp_steps, prior_steps)
        self._mixtures = np.stack([probe_mixture(j, k, self.one_hot_factor) for j in range(k)])
        # learned state
        self.log_weights: np.ndarray | None = None   # log of the learned mixture (None before round 1's fit)
        self.ema_matrix: np.ndarray | None = None
        self.last_matrix: np.ndarray | None = None
        self.last_losses: np.ndarray | None = None   # held-out losses at the last evaluation
        self.observations: list[tuple[int, list[float]]] = []   # this round's (mixture j, Δ)
        self.probe_steps = 0

    # -- what each step trains on ------------------------------------------------------------------
    def probe_domain(self, step: int) -> int | None:
        """The favoured domain j of the probe mixture at `step`, or None outside the bursts."""
        burst = self.schedule.burst_of(step)
        if burst is None:
            return None
        r, b = burst
        return _probe_order(self.seed, r, self.num_domains, self.lp_rounds)[b]

    def current_weights(self, step: int) -> np.ndarray:
        j = self.probe_domain(step)
        if j is not None:
            return self._mixtures[j]
        if self.log_weights is None:       # the prior phase (steps before round 1)
            return self._prior
        return softmax(self.log_weights)

    # -- held-out evaluation (Capability.HELD_OUT_EVALUATION) --------------------------------------
    def held_out_due(self, step: int) -> bool:
        if self.schedule.is_baseline(step):
            return True
        burst = self.schedule.burst_of(step)
        return burst is not None and step == self.schedule.burst_end(*burst)

    def observe_held_out(self, step: int, losses: np.ndarray) -> None:
        losses = np.asarray(losses, dtype=np.float64)
        if losses.shape != (self.num_domains,) or not np.all(np.isfinite(losses)):
            raise FloatingPointError(f"aioli: held-out losses at step {step} must be {self.num_domains} finite numbers, "
                                     f"got {losses}")
        burst = self.schedule.burst_of(step)
        if burst is not None and step == self.schedule.burst_end(*burst):
            if self.last_losses is None:
                raise RuntimeError(f"aioli: no held-out loss before the burst ending at step {step} "
                                   "(the trainer must evaluate at the step before each round)")
            r, b = burst
            j = _probe_order(self.seed, r, self.num_domains, self.lp_rounds)[b]
            self.observations.append((j, (self.last_losses - losses).tolist()))
            if b == self.schedule.bursts - 1:
                self._learn(r)
        elif self.schedule.is_baseline(step):
            self.observations = []
        self.last_losses = losses

    def _learn(self, round_index: int) -> None:
        """End of LearnParams: fit A, normalise, smooth, update the mixture (lines 164-347)."""
        if len(self.observations) != self.schedule.bursts:
            raise RuntimeError(f"aioli: round {round_index + 1} saw {len(self.observations)} of "
                               f"{self.schedule.bursts} probe evaluations")
        mixtures = self._mixtures[[j for j, _ in self.observations]]
        deltas = np.asarray([d for _, d in self.observations])
        a = estimate_interactions(mixtures, deltas, self.one_hot_factor, self.a_matrix)
        if self.normalize == "code":
            a = normalize_code(a)
        self.last_matrix = a
        self.observations = []
        base = np.log(self._prior) if self.base_weights == "prior" else np.zeros(self.num_domains)
        if self.ema is not None:
            self.ema_matrix = a if self.ema_matrix is None else (1.0 - self.ema) * a + self.ema * self.ema_matrix
            self.log_weights = base + self.eta * self.ema_matrix.sum(axis=0)
        else:
            start = base if self.log_weights is None else self.log_weights
            self.log_weights = start + self.eta * a.sum(axis=0)

    # -- probe bursts (Capability.PROBE_BURSTS) ------------------------------------------------------
    def probe_steps_taken(self) -> int:
        return self.probe_steps

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        if self.schedule.burst_of(step) is not None:
            self.probe_steps += 1

    def reward_log(self) -> list[float] | None:
        """Σ_i A_ij of the latest LearnParams: the per-domain signal the mixture is moved by."""
        return None if self.last_matrix is None else self.last_matrix.sum(axis=0).tolist()

    def extra_state(self) -> dict[str, Any]:
        def listed(a: np.ndarray | None) -> list | None:
            return None if a is None else a.tolist()
        return {"log_weights": listed(self.log_weights), "ema_matrix": listed(self.ema_matrix),
                "last_matrix": listed(self.last_matrix), "last_losses": listed(self.last_losses),
                "observations": [[j, list(d)] for j, d in self.observations], "probe_steps": self.probe_steps}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        def array(value: Any) -> np.ndarray | None:
            return None if value is None else np.asarray(value, dtype=np.float64)
        self.log_weights, self.ema_matrix = array(state["log_weights"]), array(state["ema_matrix"])
        self.last_matrix, self.last_losses = array(state["last_matrix"]), array(state["last_losses"])
        self.observations = [(int(j), list(d)) for j, d in state["observations"]]
        self.probe_steps = int(state["probe_steps"])
