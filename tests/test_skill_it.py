"""Skill-It: hand-computed rounds (both evaluation timings), graph estimation, state round trip, resume,
and the graph-learning pipeline end to end on the tiny embedded benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.capabilities import EvaluatesHeldOut, check_protocols
from benchmark.config import resolve_config
from benchmark.pipelines.skill_it import (final_val_losses, graph_from_losses, initial_losses, learn_graph,
                                          run_skill_it)
from benchmark.runner import prepare_run
from benchmark.strategies import DomainStats, StrategyConfigError
from benchmark.strategies.skill_it import SkillItStrategy
from resume_check import assert_resume_equivalent

GRAPH = [[1.0, 0.5, 0.0],
         [0.0, 1.0, 0.0],
         [0.0, 0.5, 1.0]]
STATS = DomainStats.zeros(3)


def make(**kw) -> SkillItStrategy:
    params = {"eta": 0.5, "update_steps": 2, "window": 2, "graph": GRAPH, **kw}
    return SkillItStrategy(["a", "b", "c"], [1.0, 1.0, 1.0], seed=0, **params)


def softmax(x: list[float]) -> np.ndarray:
    e = np.exp(np.asarray(x))
    return e / e.sum()


def test_code_timing_three_rounds_by_hand():
    s = make()
    check_protocols(s)
    assert isinstance(s, EvaluatesHeldOut)
    # evaluations after steps s with (s − 1) % 2 == 0: 1, 3, 5 (not 0, 2, 4)
    assert [s.held_out_due(t) for t in range(7)] == [False, True, False, True, False, True, False]
    # round 1: p ∝ exp(η · A·1) = exp(0.5 · [1.5, 1, 1.5]) = exp([0.75, 0.5, 0.75])
    np.testing.assert_allclose(s.current_weights(1), softmax([0.75, 0.5, 0.75]))
    s.observe_held_out(1, np.array([2.0, 1.0, 3.0]))
    s.update(1, STATS)                        # not a round end: nothing changes
    np.testing.assert_allclose(s.current_weights(2), softmax([0.75, 0.5, 0.75]))
    # after step 2: window = {L(1)} = [2, 1, 3]; A·ΣL = [2 + 0.5·1, 1, 0.5·1 + 3] = [2.5, 1, 3.5]
    # p ∝ exp(0.5 · [2.5, 1, 3.5]) = exp([1.25, 0.5, 1.75])
    s.update(2, STATS)
    np.testing.assert_allclose(s.current_weights(3), softmax([1.25, 0.5, 1.75]))
    s.observe_held_out(3, np.array([1.0, 1.0, 1.0]))
    s.update(3, STATS)
    # after step 4: window = L(1) + L(3) = [3, 2, 4]; A·ΣL = [3 + 1, 2, 1 + 4] = [4, 2, 5] → exp([2, 1, 2.5])
    s.update(4, STATS)
    np.testing.assert_allclose(s.current_weights(5), softmax([2.0, 1.0, 2.5]))
    s.observe_held_out(5, np.array([0.5, 2.0, 0.0]))
    s.update(5, STATS)
    # after step 6: the window (2) drops L(1): L(3) + L(5) = [1.5, 3, 1];
    # A·ΣL = [1.5 + 0.5·3, 3, 0.5·3 + 1] = [3, 3, 2.5] → exp([1.5, 1.5, 1.25])
    s.update(6, STATS)
    np.testing.assert_allclose(s.current_weights(7), softmax([1.5, 1.5, 1.25]))
    assert s.reward_log() == [3.0, 3.0, 2.5]


def test_paper_timing_uses_round_start_models_only():
    s = make(evaluation="paper")
    # f_t at the start of every round: steps 0, 2, 4, 6
    assert [s.held_out_due(t) for t in range(7)] == [True, False, True, False, True, False, True]
    s.observe_held_out(0, np.array([2.0, 1.0, 3.0]))
    s.observe_held_out(2, np.array([1.0, 1.0, 1.0]))      # measured before update(2), used from round 3 on
    # p_2 from L(f_1) = L(0) alone: A·[2, 1, 3] = [2.5, 1, 3.5] → exp([1.25, 0.5, 1.75])
    s.update(2, STATS)
    np.testing.assert_allclose(s.current_weights(3), softmax([1.25, 0.5, 1.75]))
    s.observe_held_out(4, np.array([0.5, 2.0, 0.0]))
    # p_3 from L(0) + L(2) = [3, 2, 4] → A· = [4, 2, 5] → exp([2, 1, 2.5])
    s.update(4, STATS)
    np.testing.assert_allclose(s.current_weights(5), softmax([2.0, 1.0, 2.5]))
    s.observe_held_out(6, np.array([9.0, 9.0, 9.0]))
    # p_4 from L(2) + L(4) = [1.5, 3, 1] → A· = [3, 3, 2.5] → exp([1.5, 1.5, 1.25]); L(6) not yet
    s.update(6, STATS)
    np.testing.assert_allclose(s.current_weights(7), softmax([1.5, 1.5, 1.25]))


def test_paper_timing_without_initial_evaluation_keeps_first_mixture():
    s = make(evaluation="paper")
    s.observe_held_out(2, np.array([1.0, 1.0, 1.0]))
    s.update(2, STATS)
    np.testing.assert_allclose(s.current_weights(3), softmax([0.75, 0.5, 0.75]))


def test_identity_graph_and_eval_every():
    s = SkillItStrategy(["a", "b"], [1.0, 3.0], eta=1.0, update_steps=4, window=3, eval_every=2, graph="identity")
    np.testing.assert_allclose(s.current_weights(1), [0.5, 0.5])   # exp(η·I·1): uniform
    assert [t for t in range(1, 9) if s.held_out_due(t)] == [1, 3, 5, 7]
    s.observe_held_out(1, np.array([1.0, 2.0]))
    s.observe_held_out(3, np.array([1.0, 1.0]))
    s.update(4, STATS)
    # Σ = [2, 3]; identity: p ∝ exp([2, 3])
    np.testing.assert_allclose(s.current_weights(5), softmax([2.0, 3.0]))


@pytest.mark.parametrize("kw, message", [
    ({"eta": 0.0}, "eta:"), ({"update_steps": 0}, "update_steps:"), ({"window": 0}, "window:"),
    ({"evaluation": "both"}, "evaluation:"), ({"eval_every": 3, "update_steps": 4}, "eval_every: must divide"),
    ({"eval_every": 1, "evaluation": "paper"}, "eval_every:"), ({"graph": "ones"}, "graph:"),
    ({"graph": [[1.0, 0.0], [0.0, 1.0]]}, "graph: must be 3×3"), ({"graph": [[1, 0, float("nan")]] * 3}, "graph:"),
])
def test_bad_hyperparameters_name_the_field(kw, message):
    with pytest.raises(StrategyConfigError, match=message):
        make(**kw)


def test_learned_placeholder_needs_the_pipeline():
    s = make(graph="learned")
    with pytest.raises(ValueError, match="skill-it pipeline"):
        s.current_weights(1)


def test_state_round_trip_gives_identical_future():
    a = make()
    rng = np.random.default_rng(0)
    for step in range(1, 6):
        a.plan(step, 2, 4)
        if a.held_out_due(step):
            a.observe_held_out(step, rng.uniform(1, 3, 3))
        a.update(step, STATS)
    b = make()
    b.load_state_dict(a.state_dict())
    for step in range(6, 12):
        np.testing.assert_array_equal(a.plan(step, 2, 4), b.plan(step, 2, 4))
        for s in (a, b):
            if s.held_out_due(step):
                s.observe_held_out(step, np.full(3, 1.0 + step))
            s.update(step, STATS)
        np.testing.assert_array_equal(a.current_weights(step + 1), b.current_weights(step + 1))


def test_graph_from_losses_by_hand():
    initial = np.array([4.0, 2.0])
    after = np.array([[2.0, 1.5],      # trained on domain 0
                      [3.0, 1.0]])     # trained on domain 1
    # relative: A[0] = [(4 − 2)/4, (2 − 1.5)/2] = [0.5, 0.25]; A[1] = [(4 − 3)/4, (2 − 1)/2] = [0.25, 0.5]
    np.testing.assert_allclose(graph_from_losses(initial, after, "relative"), [[0.5, 0.25], [0.25, 0.5]])
    # none: the raw decrease, A[0] = [2, 0.5], A[1] = [1, 1]
    np.testing.assert_allclose(graph_from_losses(initial, after, "none"), [[2.0, 0.5], [1.0, 1.0]])
    record = {"run_id": "x", "curves": {"eval_steps": [2, 4], "val_loss": [[9.0, 9.0], [3.0, 1.0]]}}
    np.testing.assert_allclose(final_val_losses(record), [3.0, 1.0])


def test_initial_losses_are_the_stage_runs_initial_model(tmp_path, tiny_overrides):
    from benchmark.evaluation.per_domain import evaluate_per_domain
    from benchmark.training.fit import pretrain_parts

    prepared = prepare_run(resolve_config("embedded-pretrain", "skill-it", 0, tiny_overrides), tmp_path)
    losses, entry = initial_losses(prepared)
    model = pretrain_parts(prepared).module.model
    expected = evaluate_per_domain(model, prepared.data.validation_blocks, 64, prepared.data.token_offset)
    np.testing.assert_allclose(losses, expected)
    assert entry["kind"] == "skill-it-initial-eval" and entry["flops"] > 0


def test_resume_equivalent_with_given_graph(tmp_path, tiny_overrides):
    graph = (np.eye(10) + 0.1).round(2).tolist()
    overrides = tiny_overrides + ["method.update_steps=4", "method.eval_every=2", f"method.graph={graph}"]
    whole = assert_resume_equivalent(tmp_path, "skill-it-identity", overrides)
    weights = whole["mixture"]["weights"]
    assert weights[0] != weights[-1]                 # the mixture moved after the first round


@pytest.mark.slow
def test_pipeline_learns_graph_and_charges_stage_runs(tmp_path, tiny_overrides):
    config = resolve_config("embedded-pretrain", "skill-it", 0, tiny_overrides + ["method.update_steps=4"])
    record, _ = run_skill_it(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    assert record["status"] == "completed"
    info, compute = record["skill_it"], record["compute"]
    graph = np.array(info["graph"])
    assert graph.shape == (10, 10) and np.all(np.isfinite(graph))
    # relative decrease: (L0 − L_after) / L0, recomputed from the recorded losses
    initial, after = np.array(info["initial_losses"]), np.array(info["after_losses"])
    np.testing.assert_allclose(graph, (initial - after) / initial)
    assert np.all(np.diag(graph) > 0)                # training on a domain lowers its own held-out loss
    kinds = [r["kind"] for r in compute["extra_runs"]]
    assert kinds.count("skill-it-graph") == 10 and kinds.count("skill-it-initial-eval") == 1
    runs = sum(r["flops"] for r in compute["extra_runs"])
    assert compute["total_flops"] == pytest.approx(compute["train_flops"] + compute["extra_flops"] + runs)
    assert compute["extra_forward_tokens"] > 0       # the online run's held-out evaluations
    assert not any(r.get("reused_from_cache") for r in compute["extra_runs"])
    # a second pass reuses the cached stage runs (same run ids) and rebuilds the same graph
    options = {**info["options"]}
    again, _, charged = learn_graph(prepare_run(config, tmp_path), options, tmp_path / "pipeline")
    assert all(r["reused_from_cache"] for r in charged if r["kind"] == "skill-it-graph")
    np.testing.assert_allclose(again, graph)
