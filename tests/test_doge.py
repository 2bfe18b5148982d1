"""DoGE: hand-computed mirror-descent updates, the step-source capability (per-domain gradients and
the combined proxy gradient) against autograd, state round trips, proxy resume, and the pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.capabilities import GradientSettings, check_protocols
from benchmark.config import resolve_config
from benchmark.pipelines.doge import run_doge
from benchmark.runner import prepare_run
from benchmark.strategies import get_strategy_class
from benchmark.strategies.base import StrategyConfigError
from benchmark.training.domain_gradients import DomainGradients, rows_of
from benchmark.training.objectives import TokenBlocks
from tests.gradient_fakes import VOCAB, Recorder, fake_module, flat, tiny_model
from tests.resume_check import assert_resume_equivalent


def doge(name="doge-proxy", **kw):
    return get_strategy_class(name)(["a", "b", "c"], [1, 1, 1], **{"mu": 0.5, **kw})


def feed(s, gradients, target=None, lr=0.1):
    s.observe_gradients(1, np.asarray(gradients, float), None if target is None else np.asarray(target, float), lr)


def test_three_updates_by_hand_others():
    s = doge()
    check_protocols(s)
    # 1: gram [[1,0,1],[0,1,1],[1,1,2]] → Σ_{j≠i} = [1, 1, 2]; mean ‖g‖ = (1 + 1 + √2)/3 = 1.138071
    #    s = .1·W/1.138072 = [.087868, .087868, .175736]; s/μ = [.175736, .175736, .351472]
    #    α ∝ [1.192126, 1.192126, 1.421164]/3.805416 = [.313271, .313271, .373458]
    feed(s, [[1, 0], [0, 1], [1, 1]])
    assert s.alpha == pytest.approx([0.313271, 0.313271, 0.373458], abs=2e-6)
    # 2: gram [[4,-2,0],[-2,1,0],[0,0,0]] → W = [-2, -2, 0]; clipped below at lr·dw_min = 0 → α unchanged
    feed(s, [[2, 0], [-1, 0], [0, 0]])
    assert s.alpha == pytest.approx([0.313271, 0.313271, 0.373458], abs=2e-6)
    # 3: gram [[25,0,4],[0,0,0],[4,0,1]] → W = [4, 0, 4]; mean ‖g‖ = (5 + 0 + 1)/3 = 2; s/μ = [.4, 0, .4]
    #    α ∝ [.313271·1.491825, .313271, .373458·1.491825] = [.467346, .313271, .557134]/1.337750
    #      = [.349352, .234178, .416471];  ᾱ = mean of the three = [.325298, .286907, .387795]
    feed(s, [[3, 4], [0, 0], [0, 1]])
    assert s.alpha == pytest.approx([0.349352, 0.234178, 0.416471], abs=2e-6)
    assert s.reward_log() == pytest.approx([0.325298, 0.286907, 0.387795], abs=2e-6)
    assert s.logged_weights(s.current_weights(4)).tolist() == s.alpha.tolist()
    assert s.current_weights(4).tolist() == [1 / 3] * 3   # the proxy samples uniformly (code)


def test_all_alignment_clip_smoothing_and_ood():
    # "all", no normalisation, dw_max = 1: W = row sums of gram [[4,0],[0,0]] (2 domains + 1 zero)
    s = doge(alignment="all", normalize=False, dw_max=1.0, reweight_eps=0.3)
    # W = [4, 0, 0]; s = .1·W = [.4, 0, 0] → clipped at lr·dw_max = .1; s/μ = [.2, 0, 0]
    # α ∝ [e^.2, 1, 1] = [1.221403, 1, 1]/3.221403 = [.379153, .310424, .310424]
    # smoothing: .7·α + .3/3 = [.365407, .317297, .317297]
    feed(s, [[2, 0], [0, 0], [0, 0]])
    assert s.alpha == pytest.approx([0.365407, 0.317297, 0.317297], abs=2e-6)
    # OOD: W = G·g_T = [1, 3, 0]; mean ‖g‖ = (1 + 3 + 0)/3 = 4/3; s = .1·W·.75 = [.075, .225, 0]; μ = .05
    # s/μ = [1.5, 4.5, 0]; α ∝ [4.481689, 90.017131, 1]/95.498820 = [.046929, .942599, .010471]
    ood = doge("doge-ood-proxy", mu=0.05)
    feed(ood, [[1, 0], [0, 3], [0, 0]], target=[1, 1])
    assert ood.alpha == pytest.approx([0.046929, 0.942599, 0.010471], abs=5e-6)   # +1e-6 in ‖g‖ moves the 6th place
    with pytest.raises(ValueError, match="target"):
        feed(ood, [[1, 0], [0, 3], [0, 0]])


def test_loss_weights_give_sum_of_alpha_weighted_domain_means():
    s = doge(model_update="loss_weights")
    s.alpha = np.array([0.5, 0.3, 0.2])
    # micro-batch domains [0, 0, 1, 2]: w = α_d·B/n_d = [.5·4/2, .5·4/2, .3·4/1, .2·4/1] = [1, 1, 1.2, .8]
    assert s.loss_weights(np.array([0, 0, 1, 2])) == pytest.approx([1.0, 1.0, 1.2, 0.8])
    assert doge().loss_weights(np.array([0, 1])).tolist() == [1.0, 1.0]   # combined: the gradient is rewritten


def test_bad_hyperparameters_name_the_field():
    for kw, field in [({"mu": 0}, "mu"), ({"dw_min": 6.0}, "dw_min"), ({"reweight_eps": 2}, "reweight_eps"),
                      ({"alignment": "mix"}, "alignment"), ({"model_update": "x"}, "model_update"),
                      ({"clip": 0}, "clip"), ({"normalize": 1}, "normalize")]:
        with pytest.raises(StrategyConfigError, match=field):
            doge(**kw)


def test_state_round_trip_gives_the_same_future():
    a = doge()
    feed(a, [[1, 0], [0, 1], [1, 1]])
    b = doge()
    b.load_state_dict(a.state_dict())
    for s in (a, b):
        feed(s, [[3, 4], [0, 0], [0, 1]])
    assert a.alpha.tolist() == b.alpha.tolist() and a.average_weights().tolist() == b.average_weights().tolist()
    assert np.array_equal(a.plan(3, 2, 4), b.plan(3, 2, 4))


def _batch(domains, seed):
    ids = np.random.default_rng(seed).integers(0, VOCAB, size=(len(domains), 9))
    return {"input_ids": torch.from_numpy(ids), "domain": torch.tensor(domains)}


def test_step_gradients_and_combined_update_equal_autograd():
    torch.manual_seed(0)
    model, objective = tiny_model(), TokenBlocks()
    parameters = list(model.parameters())
    weights = np.array([0.5, 0.3, 0.2])
    recorder = Recorder(weights)
    settings = GradientSettings("lm_head", "step", combine=True, clip=0.05)
    capability = DomainGradients(settings, 3, grad_accum=2)
    module = fake_module(model, objective, recorder, global_step=0, lr=0.2)
    micro = [_batch([0, 0, 1, 0], 1), _batch([1, 0, 1, 1], 2)]   # domain 2 absent
    for batch in micro:
        capability.before_microbatch(module, batch)
    capability.before_optimizer_step(module)
    # direct: g_d = ½·Σ_micro-batches ∇ mean loss of d's rows (all parameters), clipped to 0.05
    direct = {}
    for d in (0, 1):
        total = 0
        for batch in micro:
            rows = np.flatnonzero(batch["domain"].numpy() == d)
            loss = objective(model, rows_of(batch, rows), torch.device("cpu")).loss / 2
            total = total + flat(list(torch.autograd.grad(loss, parameters)), parameters)
        direct[d] = total * min(1.0, 0.05 / (float(total.norm()) + 1e-6))
    ((step, matrix, target, lr),) = recorder.seen
    assert (step, target, lr) == (1, None, 0.2)
    head = model.get_output_embeddings().weight
    offset = sum(p.numel() for p in parameters[:[id(p) for p in parameters].index(id(head))])
    for d in (0, 1):
        assert np.allclose(matrix[d], direct[d][offset:offset + head.numel()].numpy(), atol=1e-7)
    assert not matrix[2].any()   # never seen: a zero row
    written = flat([p.grad for p in parameters], parameters)
    assert torch.allclose(written, 0.5 * direct[0] + 0.3 * direct[1], atol=1e-7)
    assert capability.extra_tokens == 8 * 8
    # next step: domain 0 absent → its row is the last one seen (the code's persistent matrix)
    capability.before_microbatch(module, _batch([1, 2], 3))
    capability.before_optimizer_step(module)
    assert np.array_equal(recorder.seen[1][1][0], matrix[0]) and recorder.seen[1][1][2].any()


def test_proxy_resume_equals_an_uninterrupted_run(tmp_path, tiny_overrides):
    recipe = tmp_path / "doge-proxy-lmhead.yaml"
    recipe.write_text("strategy: doge-proxy\nhyperparameters: {parameters: lm_head, mu: 0.01}\n")
    record = assert_resume_equivalent(tmp_path, str(recipe), tiny_overrides)
    # one split pass of every training token: 16 steps × 8 blocks × 128 tokens through the model
    assert record["compute"]["extra_forward_tokens"] == record["compute"]["extra_backward_tokens"] == 16 * 8 * 128


def test_pipeline_charges_the_proxy_and_trains_on_the_average(tmp_path, tiny_overrides):
    config = resolve_config("embedded-pretrain", "doge", 0, tiny_overrides)
    record, _ = run_doge(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    weights = record["doge"]["weights"]
    assert sum(weights.values()) == pytest.approx(1)
    assert record["mixture"]["weights"][-1] == pytest.approx([weights[d] for d in record["mixture"]["domains"]])
    (proxy,) = record["compute"]["extra_runs"]
    assert proxy["kind"] == "doge-proxy" and proxy["steps"] == 16 and proxy["flops"] > 0
    assert record["compute"]["total_flops"] > record["compute"]["train_flops"]
