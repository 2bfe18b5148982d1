"""DoGE's proxy run: domain weights from gradient alignment, by mirror descent (Fan, Pagliardini,
Jaggi, arXiv 2310.15393; code Olivia-fsm/DoGE, src/trainer.py `update_domain_weights_distributed`).

Every step, with domains sampled uniformly, the trainer hands the per-domain gradients g_i of the
step's own batch (DOMAIN_GRADIENTS, source "step"; and the target's gradient g_T for the
out-of-domain variant). Then, with lr_t the current learning rate:

    W_i = Σ_{j≠i} ⟨g_i, g_j⟩ (alignment "others"), Σ_j ⟨g_i, g_j⟩ ("all"), or ⟨g_i, g_T⟩ (OOD)
    s_i = lr_t · W_i / (mean_j ‖g_j‖ + 1e-6)            (the division only with `normalize`)
    s_i = clip(s_i, lr_t·dw_min, lr_t·dw_max)
    α ← softmax(log α + s / μ);  α ← (1 − ε)·α + ε/k     (ε = reweight_eps)

and the proxy's update direction is Σ_i α_i·g_i with the α just computed ("combined": the
capability rewrites the step's gradient) or, cheaper, per-example loss weights α_d·B/n_d from the
previous α ("loss_weights"). The output is ᾱ, the mean of α over the updates; the main run trains
on it (benchmark/pipelines/doge.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capabilities import Capability, GradientSettings
from .base import DomainStats, MixingStrategy, StrategyConfigError, TimeAveragedWeights
from .dga import check_parameters
from .odm import softmax

ALIGNMENTS = ("others", "all")
MODEL_UPDATES = ("combined", "loss_weights")


@dataclass
class DoGEProxyStrategy(TimeAveragedWeights, MixingStrategy):
    name = "doge-proxy"

    mu: float = 0.01                  # μ (Bregman coefficient); code: 0.01 universal, 0.05 OOD configs
    dw_min: float = 0.0               # score clip, × lr_t
    dw_max: float = 5.0
    reweight_eps: float = 0.0         # ε: smoothing towards uniform
    normalize: bool = True            # divide the scores by the mean gradient norm (code)
    alignment: str = "others"         # universal: j ≠ i (code's branch) or all j (paper's sum)
    model_update: str = "combined"
    parameters: str = "all"           # the subset the scores use; code: the whole model
    clip: float | None = 1.0          # per-domain gradient clip ("combined"); code: max_grad_norm

    granularity = "sample"
    capabilities = frozenset({Capability.DOMAIN_GRADIENTS, Capability.LOSS_WEIGHTS})
    uses_target = False

    def validate(self) -> None:
        if not (isinstance(self.mu, (int, float)) and self.mu > 0):
            raise StrategyConfigError(f"mu: must be > 0, got {self.mu!r}")
        for field_name in ("dw_min", "dw_max"):
            if not isinstance(getattr(self, field_name), (int, float)):
                raise StrategyConfigError(f"{field_name}: must be a number, got {getattr(self, field_name)!r}")
        if self.dw_min > self.dw_max:
            raise StrategyConfigError(f"dw_min: must be ≤ dw_max ({self.dw_max}), got {self.dw_min!r}")
        if not (isinstance(self.reweight_eps, (int, float)) and 0.0 <= self.reweight_eps <= 1.0):
            raise StrategyConfigError(f"reweight_eps: must be in [0, 1], got {self.reweight_eps!r}")
        if not isinstance(self.normalize, bool):
            raise StrategyConfigError(f"normalize: must be true or false, got {self.normalize!r}")
        if self.alignment not in ALIGNMENTS:
            raise StrategyConfigError(f"alignment: must be one of {ALIGNMENTS}, got {self.alignment!r}")
        if self.model_update not in MODEL_UPDATES:
            raise StrategyConfigError(f"model_update: must be one of {MODEL_UPDATES}, got {self.model_update!r}")
        check_parameters(self.parameters)
        if self.clip is not None and not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise StrategyConfigError(f"clip: must be > 0 or null, got {self.clip!r}")
        k = self.num_domains
        self.sampling = np.full(k, 1.0 / k)
        self.alpha = np.full(k, 1.0 / k)
        self.alpha_sum = np.zeros(k)
        self.updates = 0

    # -- the capability's side -------------------------------------------------------------------
    def gradient_settings(self) -> GradientSettings:
        combined = self.model_update == "combined"
        return GradientSettings(parameters=self.parameters, source="step", target=self.uses_target,
                                combine=combined, clip=self.clip if combined else None)

    def gradients_due(self, step: int) -> bool:
        return True

    def scores(self, gradients: np.ndarray, target: np.ndarray | None) -> np.ndarray:
        """W: each domain's alignment with the generalisation objective."""
        if self.uses_target:
            return gradients @ target
        gram = gradients @ gradients.T
        return gram.sum(axis=1) - (np.diag(gram) if self.alignment == "others" else 0.0)

    def observe_gradients(self, step: int, domain_gradients: np.ndarray, target_gradient: np.ndarray | None,
                          lr: float) -> None:
        if self.uses_target and target_gradient is None:
            raise ValueError("doge-ood-proxy: the trainer must hand the target's gradient (--target DOMAIN)")
        gradients = np.asarray(domain_gradients, dtype=np.float64)
        score = lr * self.scores(gradients, target_gradient)
        if self.normalize:
            score = score / (np.linalg.norm(gradients, axis=1).mean() + 1e-6)
        score = np.clip(score, lr * self.dw_min, lr * self.dw_max)
        alpha = softmax(np.log(self.alpha) + score / self.mu)
        self.alpha = (1.0 - self.reweight_eps) * alpha + self.reweight_eps / self.num_domains
        self.alpha_sum += self.alpha
        self.updates += 1

    def combination_weights(self) -> np.ndarray:
        return self.alpha

    def loss_weights(self, domain_ids: np.ndarray) -> np.ndarray:
        """"loss_weights": Σ_d α_d·(mean loss of d in the micro-batch) as per-example weights
        α_d·B/n_d; "combined": ones (the step's gradient is rewritten anyway)."""
        ids = np.asarray(domain_ids, dtype=np.int64)
        if self.model_update == "combined":
            return np.ones(len(ids))
        counts = np.bincount(ids, minlength=self.num_domains)
        return self.alpha[ids] * len(ids) / counts[ids]

    # -- the mixture -----------------------------------------------------------------------------
    def current_weights(self, step: int) -> np.ndarray:
        return self.sampling

    def logged_weights(self, sampling: np.ndarray) -> np.ndarray:
        return self.alpha   # the trajectory worth seeing is α, not the uniform sampling

    def update(self, step: int, stats: DomainStats, lr: float | None = None) -> None:
        pass   # α moves in observe_gradients, inside the step


@dataclass
class DoGEOODProxyStrategy(DoGEProxyStrategy):
    """Out-of-domain DoGE: W_i = ⟨g_i, g_T⟩ against a held-out target (code: doge_ood configs, μ = 0.05)."""

    name = "doge-ood-proxy"
    mu: float = 0.05

    capabilities = frozenset({Capability.DOMAIN_GRADIENTS, Capability.TARGET_GRADIENT, Capability.LOSS_WEIGHTS})
    uses_target = True
