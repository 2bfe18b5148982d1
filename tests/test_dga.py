"""DGA: hand-computed exponentiated-gradient + EMA updates, the capability's gradients against
autograd, state round trips, and resume equivalence with a target on embedded-pretrain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tests.resume_check as resume_check
from benchmark.capabilities import GradientSettings, check_protocols
from benchmark.config import resolve_config
from benchmark.strategies import get_strategy_class
from benchmark.strategies.base import StrategyConfigError
from benchmark.training.domain_gradients import DomainBatches, DomainGradients
from benchmark.training.gradient_capability import TargetBatches, blocks_batch
from benchmark.training.objectives import TokenBlocks
from tests.gradient_fakes import VOCAB, Recorder, fake_module, flat, tiny_model

E = np.e


def dga(**kw):
    return get_strategy_class("dga")(["a", "b", "c"], [1, 1, 1], **{"update_every": 2, "step_size": 1.0,
                                                                    "ema": 0.5, **kw})


def feed(strategy, step, gradients, target, lr=0.1):
    strategy.observe_gradients(step, np.asarray(gradients, float), np.asarray(target, float), lr)


def test_three_updates_by_hand():
    s = dga()
    check_protocols(s)
    assert [s.gradients_due(t) for t in (1, 2, 3, 4)] == [False, True, False, True]
    # step 2: ⟨g_i, g_T⟩ = [1, 0, 1]; α̂ ∝ (1/3)·[e, 1, e] = [e, 1, e]/(2e + 1) = [.422319, .155362, .422319]
    # α = .5·(1/3) + .5·α̂ = [.377826, .244348, .377826]
    feed(s, 2, [[1, 0], [0, 1], [1, 1]], [1, 0])
    assert s.alpha_hat == pytest.approx([E / (2 * E + 1), 1 / (2 * E + 1), E / (2 * E + 1)], rel=1e-9)
    assert s.current_weights(3) == pytest.approx([0.377826, 0.244348, 0.377826], abs=5e-6)   # hand arithmetic rounded to 6 places
    # step 4: ⟨g_i, g_T⟩ = [2, 0, 0]; α̂ ∝ [e, 1, e]·[e², 1, 1] = [e³, 1, e]/23.803819 = [.843794, .042010, .114195]
    # α = .5·[.377826, .244348, .377826] + .5·α̂ = [.610810, .143179, .246011]
    feed(s, 4, [[0, 1], [1, 0], [0, 0]], [0, 2])
    assert s.alpha_hat == pytest.approx([0.843794, 0.042010, 0.114195], abs=5e-6)   # hand arithmetic rounded to 6 places
    assert s.current_weights(5) == pytest.approx([0.610810, 0.143179, 0.246011], abs=5e-6)   # hand arithmetic rounded to 6 places
    # step 6: ⟨g_i, g_T⟩ = [-1, 1, 0]; α̂ ∝ [e³·e⁻¹, e, e] = [e², e, e]/12.825620 = [.576113, .211944, .211944]
    # α = .5·[.610810, .143179, .246011] + .5·α̂ = [.593462, .177561, .228977]
    feed(s, 6, [[-1, 0], [1, 0], [0, 5]], [1, 0])
    assert s.current_weights(7) == pytest.approx([0.593462, 0.177561, 0.228977], abs=5e-6)   # hand arithmetic rounded to 6 places
    assert s.reward_log() == [-1.0, 1.0, 0.0]


def test_lr_scaled_step_and_no_ema():
    s = dga(ema=0.0, lr_scaled=True, step_size=10.0)
    # η·lr = 10·0.1 = 1; ⟨g_i, g_T⟩ = [1, 0, 1] → α = α̂ = [e, 1, e]/(2e + 1)
    feed(s, 2, [[1, 0], [0, 1], [1, 1]], [1, 0], lr=0.1)
    assert s.current_weights(3) == pytest.approx([E / (2 * E + 1), 1 / (2 * E + 1), E / (2 * E + 1)], rel=1e-9)


def test_bad_hyperparameters_name_the_field():
    for kw, field in [({"update_every": 0}, "update_every"), ({"ema": 1.0}, "ema"), ({"step_size": -1}, "step_size"),
                      ({"lr_scaled": "yes"}, "lr_scaled"), ({"domain_batch_size": 0}, "domain_batch_size")]:
        with pytest.raises(StrategyConfigError, match=field):
            dga(**kw)


def test_state_round_trip_gives_the_same_future():
    a = dga()
    feed(a, 2, [[1, 0], [0, 1], [1, 1]], [1, 0])
    a.plan(3, 1, 4)
    b = dga()
    b.load_state_dict(a.state_dict())
    for s in (a, b):
        feed(s, 4, [[0, 1], [1, 0], [0, 0]], [0, 2])
    assert np.array_equal(a.plan(5, 2, 4), b.plan(5, 2, 4))
    assert a.current_weights(5).tolist() == b.current_weights(5).tolist()


def test_extra_batches_equal_autograd_on_the_same_batches():
    torch.manual_seed(0)
    model, objective = tiny_model(), TokenBlocks()
    blocks = [np.random.default_rng(d).integers(0, VOCAB, size=(7, 9)) for d in range(3)]
    collate = blocks_batch(0)
    domains = DomainBatches([7, 7, 7], lambda d, rows: collate([blocks[d][i] for i in rows]), 4, seed=5)
    target_blocks = list(np.random.default_rng(9).integers(0, VOCAB, size=(5, 9)))
    target = TargetBatches(lambda _p: target_blocks, 4, 5, collate)
    recorder = Recorder()
    capability = DomainGradients(GradientSettings("lm_head", "extra", target=True, batch_size=4), 3, 1, domains, target)
    module = fake_module(model, objective, recorder, global_step=10, lr=0.25)
    capability.after_optimizer_step(module, None)
    ((step, matrix, target_grad, lr),) = recorder.seen
    assert (step, lr) == (10, 0.25)
    head = model.get_output_embeddings().weight
    for d in range(3):
        batch = collate([blocks[d][i] for i in domains.rows(d, 0)])
        (direct,) = torch.autograd.grad(objective(model, batch, torch.device("cpu")).loss, [head])
        assert np.allclose(matrix[d], direct.flatten().numpy(), atol=1e-6)
    first = target.batches(0)[0]
    (direct,) = torch.autograd.grad(objective(model, collate(first), torch.device("cpu")).loss, [head])
    assert np.allclose(target_grad, direct.flatten().numpy(), atol=1e-6)
    assert capability.extra_tokens == 4 * 4 * 8   # 3 domain batches + 1 target batch of 4 blocks × 8 predicted tokens
    assert all(p.grad is None for p in model.parameters())   # the training gradient is untouched
    # all parameters: the same, on the whole model
    recorder.seen.clear()
    whole = DomainGradients(GradientSettings("all", "extra", target=True, batch_size=4), 3, 1, domains, target)
    whole.after_optimizer_step(module, None)
    parameters = list(model.parameters())
    batch = collate([blocks[1][i] for i in domains.rows(1, 0)])
    direct = flat(list(torch.autograd.grad(objective(model, batch, torch.device("cpu")).loss, parameters)), parameters)
    assert np.allclose(recorder.seen[0][1][1], direct.numpy(), atol=1e-6)


def test_resume_with_a_target_equals_an_uninterrupted_run(tmp_path, tiny_overrides, monkeypatch):
    monkeypatch.setattr(resume_check, "resolve_config",
                        lambda *args, **kw: resolve_config(*args, target="code", **kw))
    record = resume_check.assert_resume_equivalent(tmp_path, "dga", tiny_overrides + ["method.update_every=3"])
    assert record["compute"]["extra_forward_tokens"] > 0
    assert record["compute"]["extra_forward_tokens"] == record["compute"]["extra_backward_tokens"]
    code = record["mixture"]["domains"].index("code")
    assert max(record["mixture"]["weights"][-1]) == record["mixture"]["weights"][-1][code]
