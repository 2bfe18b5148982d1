"""FLAD's gradient rewards: how well an auxiliary arm's gradient aligns with the target's.

The arithmetic lives here, with the capability that serves it (benchmark/training/gradient_capability.py),
not in any one method: EXP3-FLAD, UCB1-FLAD and Exploit-Only all score arms with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLAD_REWARDS = ("ga", "gms", "agg")
TARGET_GRADIENTS = ("after", "before")
GMS_EPSILON = 1e-8      # the FLAD code adds it to the numerator and the denominator of R_GMS
COSINE_EPSILON = 1e-8   # torch's cosine similarity: dot / max(‖a‖·‖T‖, eps)


def _as_float64(vector: Any) -> Any:
    """A 1-D float64 view of a numpy array or a torch tensor (kept on its device)."""
    if hasattr(vector, "detach"):  # torch: strategies and this arithmetic need only NumPy
        return vector.detach().reshape(-1).double()
    return np.asarray(vector, dtype=np.float64).reshape(-1)


def flad_reward(aux_grad: Any, target_grad: Any, kind: str = "agg") -> float:
    """The reward of an auxiliary gradient ∇a against the target gradient ∇T.

    ga:  R_GA  = ∇a·∇T / max(‖∇a‖‖∇T‖, 1e-8) ∈ [−1, 1] (0 when either gradient is zero).
    gms: R_GMS = (2‖∇a‖‖∇T‖ + 1e-8) / (‖∇a‖² + ‖∇T‖² + 1e-8) ∈ [0, 1].
    agg: R_AGG = (1 + R_GA)/2 + R_GMS ∈ [0, 2] (the final NeurIPS table; the released scripts default
         to ga). Inputs: 1-D numpy arrays or torch tensors of equal length (e.g. the LM-head gradient).
    """
    if kind not in FLAD_REWARDS:
        raise ValueError(f"kind: must be one of {list(FLAD_REWARDS)}, got {kind!r}")
    a, t = _as_float64(aux_grad), _as_float64(target_grad)
    if tuple(a.shape) != tuple(t.shape):
        raise ValueError(f"aux_grad and target_grad must have the same length, got {tuple(a.shape)} "
                         f"and {tuple(t.shape)}")
    dot, norm_a, norm_t = (float(x) for x in ((a * t).sum(), (a * a).sum() ** 0.5, (t * t).sum() ** 0.5))
    cosine = dot / max(norm_a * norm_t, COSINE_EPSILON)
    if kind == "ga":
        return cosine
    gms = (2.0 * norm_a * norm_t + GMS_EPSILON) / (norm_a ** 2 + norm_t ** 2 + GMS_EPSILON)
    return gms if kind == "gms" else (1.0 + cosine) / 2.0 + gms
