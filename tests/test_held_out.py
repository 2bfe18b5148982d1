"""The held-out-evaluation capability: asked after every step (and at step 0), served before the
strategy's update, at the updated weights, charged as forward tokens; and refused where not offered."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from benchmark.capabilities import Capability
from benchmark.strategies.static import UniformStrategy
from resume_check import run_method

EVERY = 4


@dataclass
class RecordingStrategy(UniformStrategy):
    """Uniform sampling that asks for held-out losses every EVERY steps and records the calls."""

    name = "recording-held-out"
    capabilities = frozenset({Capability.HELD_OUT_EVALUATION})
    calls: list = field(default_factory=list, repr=False)

    def held_out_due(self, step: int) -> bool:
        return step % EVERY == 0

    def observe_held_out(self, step: int, losses: np.ndarray) -> None:
        self.calls.append(("held_out", step, losses.tolist()))

    def update(self, step, stats, lr=None) -> None:
        self.calls.append(("update", step))


def test_held_out_losses_are_served_before_the_update_at_the_updated_weights(tmp_path, tiny_overrides, monkeypatch):
    seen = {}
    original = RecordingStrategy.__post_init__

    def keep(self):
        original(self)
        seen["strategy"] = self
    monkeypatch.setattr(RecordingStrategy, "__post_init__", keep)
    recipe = tmp_path / "recording.yaml"
    recipe.write_text("strategy: test_held_out:RecordingStrategy\nhyperparameters: {}\n")
    record, _ = run_method(tmp_path / "out", str(recipe), tiny_overrides)
    calls = seen["strategy"].calls
    asked = [c[1] for c in calls if c[0] == "held_out"]
    assert asked == [0, 4, 8, 12, 16]                       # step 0 once, then every 4 steps
    for step in asked[1:]:                                  # each served right before its step's update
        assert calls[calls.index(("update", step)) - 1][:2] == ("held_out", step)
    losses = {c[1]: c[2] for c in calls if c[0] == "held_out"}
    assert len(losses[0]) == 10 and all(np.isfinite(losses[0]))
    # Step 16 is the last step: the validation curve's last point is the same weights, same blocks.
    assert losses[16] == pytest.approx(record["curves"]["val_loss"][-1], rel=1e-9)
    assert np.mean(losses[16]) < np.mean(losses[0])
    # 5 evaluations × 10 domains × 4 validation blocks of 129 tokens (128 scored), forward only.
    compute = record["compute"]
    assert compute["extra_forward_tokens"] == 5 * 10 * 4 * 128 and compute["extra_backward_tokens"] == 0


def test_a_flad_task_does_not_offer_held_out_evaluation():
    from benchmark.capabilities import missing
    from benchmark.capabilities.matrix import FLAD_OFFERS, pretrain_offers
    assert missing(RecordingStrategy, FLAD_OFFERS) == [Capability.HELD_OUT_EVALUATION]
    assert missing(RecordingStrategy, pretrain_offers(False)) == []
