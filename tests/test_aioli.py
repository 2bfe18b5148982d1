"""Aioli (benchmark/strategies/aioli.py) against hand-computed schedules, A matrices and mixtures."""

import math

import numpy as np
import pytest

from benchmark.capabilities import check_protocols
from benchmark.strategies import StrategyConfigError, get_strategy_class
from benchmark.strategies.aioli import AioliSchedule, estimate_interactions, normalize_code, probe_mixture
from tests.resume_check import assert_resume_equivalent

Aioli = get_strategy_class("aioli")


def aioli(k=2, **kwargs):
    domains = [f"d{i}" for i in range(k)]
    return Aioli(domains, [1.0] * k, seed=kwargs.pop("seed", 0), **kwargs)


def drive(strategy, deltas, total, exploit_drift=0.05):
    """Walk steps 0..total like the trainer: held-out losses when due (a burst on favoured domain j
    in round r lowers them by deltas[r][j], every other step by `exploit_drift`), then update.
    Returns the weights planned for every step."""
    losses = np.full(strategy.num_domains, 5.0)
    planned = {}
    for step in range(total + 1):
        if step > 0:
            planned[step] = strategy.current_weights(step).copy()
            burst = strategy.schedule.burst_of(step)
            if burst is not None and step == strategy.schedule.burst_end(*burst):
                losses = losses - np.asarray(deltas[burst[0]][strategy.probe_domain(step)])
            elif burst is None:
                losses = losses - exploit_drift       # training between rounds: rebased at the baseline
        if strategy.held_out_due(step):
            strategy.observe_held_out(step, losses.copy())
        if step > 0:
            strategy.update(step, None)
    return planned


# -- schedule and budget ------------------------------------------------------------------------
def test_probe_schedule_and_budget_arithmetic():
    # K=3, 40 steps, 2 rounds of 20; lp_rounds=2 → 6 bursts; lp_steps = int(0.6·20) // 6 = 2.
    # Round 1: steps 1-12 probe (bursts end at 2,4,...,12), 13-20 learned mixture; round 2: 21-32, 33-40.
    # 2·(12 + 8) = 40 = the whole budget, counted in steps. (The released code instead asks for
    # update_steps·batch_size − lp_rounds·lp_steps·K *samples* for the rest of a round.)
    s = aioli(3, total_steps=40, rounds=2, lp_rounds=2, delta=0.6, one_hot_factor=0.5)
    assert s.schedule == AioliSchedule(total_steps=40, prior_steps=0, rounds=2, round_length=20, lp_steps=2, bursts=6)
    due = [step for step in range(41) if s.held_out_due(step)]
    assert due == [0, 2, 4, 6, 8, 10, 12, 20, 22, 24, 26, 28, 30, 32]
    assert s.schedule.probe_steps_through(40) == 24 and s.schedule.probe_steps_through(13) == 12
    for r, start in ((0, 1), (1, 21)):
        order = [s.probe_domain(start + 2 * b) for b in range(6)]
        # two sweeps, each a permutation of the three domains
        assert sorted(order[:3]) == [0, 1, 2] and sorted(order[3:]) == [0, 1, 2]
        for b, j in enumerate(order):
            for step in (start + 2 * b, start + 2 * b + 1):     # a burst trains lp_steps steps on p_j
                assert s.probe_domain(step) == j
                # p_j = 0.5 on j, (1 − 0.5)/2 = 0.25 elsewhere
                assert np.allclose(s.current_weights(step), [0.5 if i == j else 0.25 for i in range(3)])
    assert all(s.probe_domain(step) is None for step in list(range(13, 21)) + list(range(33, 41)))


def test_quick_budget_shrinks_rounds_and_prior_steps_come_first():
    # Recipe values on the quick run: 60 steps, K=10, lp_rounds=2 → a round needs 20 bursts + 1 step;
    # 10 rounds of 6 do not fit, 2 rounds of 30 do (lp_steps = max(1, int(0.7·30)//20 = 1)).
    s = aioli(10, total_steps=60, rounds=10, lp_rounds=2, delta=0.7)
    assert (s.schedule.rounds, s.schedule.round_length, s.schedule.lp_steps) == (2, 30, 1)
    assert s.schedule.probe_steps_through(60) == 40
    # At 500 steps: 10 rounds of 50, lp_steps = int(35)//20 = 1 → 200 probe steps.
    assert aioli(10, total_steps=500).schedule.probe_steps_through(500) == 200
    # Restricted: 0.5·40 = 20 prior steps on the prior, then one round; the baseline is step 20.
    r = aioli(2, total_steps=40, rounds=1, lp_rounds=1, lp_steps=2, prior_fraction=0.5,
              prior_weights={"d0": 0.2, "d1": 0.8})
    assert np.allclose(r.current_weights(1), [0.2, 0.8]) and np.allclose(r.current_weights(20), [0.2, 0.8])
    assert [step for step in range(41) if r.held_out_due(step)] == [20, 22, 24]
    with pytest.raises(StrategyConfigError, match="^rounds"):
        aioli(10, total_steps=20, lp_rounds=2)            # 20 steps cannot hold 20 bursts + 1


# -- LearnParams ----------------------------------------------------------------------------------
def test_least_squares_recovers_a_from_hand_made_losses():
    # K=2, f=0.75: p_0 = [0.75, 0.25], p_1 = [0.25, 0.75]. True A = [[0.4, 0.1], [0.2, 0.6]]:
    #   A·p_0 = [0.4·0.75 + 0.1·0.25, 0.2·0.75 + 0.6·0.25] = [0.325, 0.300]
    #   A·p_1 = [0.4·0.25 + 0.1·0.75, 0.2·0.25 + 0.6·0.75] = [0.175, 0.500]
    # Two sweeps with ±0.05 noise on domain 0's drop: least squares averages them back.
    mixtures = [probe_mixture(0, 2, 0.75), probe_mixture(1, 2, 0.75)] * 2
    deltas = [[0.375, 0.3], [0.175, 0.5], [0.275, 0.3], [0.175, 0.5]]
    assert np.allclose(estimate_interactions(mixtures, deltas, 0.75), [[0.4, 0.1], [0.2, 0.6]])
    # The code's route: average per mixture, then solve W·a_i = g_i (aioli_trainer.py 164-176).
    g = np.array([[0.325, 0.175], [0.3, 0.5]])
    w = np.array([[0.75, 0.25], [0.25, 0.75]])
    assert np.allclose([np.linalg.solve(w, row) for row in g], [[0.4, 0.1], [0.2, 0.6]])
    # diagonal (aioli_diagonal): A_ii = (own drop)/f = 0.325/0.75, 0.5/0.75, off-diagonal 0
    assert np.allclose(estimate_interactions(mixtures, deltas, 0.75, "diagonal"), [[0.325 / 0.75, 0], [0, 0.5 / 0.75]])
    # code normalisation: no negative entry → divide by the sum 1.3
    assert np.allclose(normalize_code(np.array([[0.4, 0.1], [0.2, 0.6]])), np.array([[0.4, 0.1], [0.2, 0.6]]) / 1.3)
    # a negative entry: shift by −(−0.1), then divide by the new sum 0.5
    assert np.allclose(normalize_code(np.array([[0.1, 0.0], [-0.1, 0.1]])), [[0.4, 0.2], [0.0, 0.4]])


# Three rounds, K=2, f=1 (so A is the matrix of drops itself), code normalisation, η=1:
#   round 1: drops p_0 → [0.3, 0.1], p_1 → [0.0, 0.2]: A = [[0.3, 0], [0.1, 0.2]]/0.6, Σ_i A_ij = [2/3, 1/3]
#   round 2: p_0 → [0.1, −0.1], p_1 → [0, 0.1]: shift +0.1 → [[0.2, 0.1], [0, 0.2]]/0.5, col sums [0.4, 0.6]
#   round 3: p_0 → [0.1, 0.1], p_1 → [0, 0]: [[0.1, 0], [0.1, 0]]/0.2, col sums [1, 0]
ROUND_DROPS = [[[0.3, 0.1], [0.0, 0.2]], [[0.1, -0.1], [0.0, 0.1]], [[0.1, 0.1], [0.0, 0.0]]]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def three_rounds(**kwargs):
    # 12 steps, 3 rounds of 4: probes at 1-2, 5-6, 9-10; learned mixture at 3-4, 7-8, 11-12.
    s = aioli(2, total_steps=12, rounds=3, lp_rounds=1, lp_steps=1, one_hot_factor=1.0, eta=1.0, **kwargs)
    return s, drive(s, ROUND_DROPS, 12)


def test_three_rounds_cumulative_by_hand():
    s, planned = three_rounds(ema=None)
    # log w accumulates: [2/3, 1/3] → [2/3 + 0.4, 1/3 + 0.6] → [+1, +0]; w_0 = sigmoid(log w_0 − log w_1)
    expected = [sigmoid(1 / 3), sigmoid(1 / 3 - 0.2), sigmoid(1 / 3 - 0.2 + 1.0)]
    assert expected == pytest.approx([0.582570, 0.533284, 0.756454], abs=1e-6)
    for step, w0 in zip((3, 7, 11), expected):
        assert planned[step][0] == pytest.approx(w0) and planned[step + 1][0] == pytest.approx(w0)
    assert s.probe_steps_taken() == 6


def test_three_rounds_with_ema_by_hand():
    _, planned = three_rounds(ema=0.5)
    # Ā_1 = A_1: col sums [2/3, 1/3]; Ā_2 = 0.5·A_2 + 0.5·Ā_1: [0.5333, 0.4667]; Ā_3 = 0.5·A_3 + 0.5·Ā_2: [0.7667, 0.2333]
    # w = exp(η·col sums) from uniform each round (not cumulative)
    expected = [sigmoid(1 / 3), sigmoid(0.5 * 0.4 + 0.5 * 2 / 3 - (0.5 * 0.6 + 0.5 * 1 / 3)),
                sigmoid(0.5 + 0.5 * 0.5333333333 - 0.5 * 0.4666666667)]
    assert expected == pytest.approx([0.582570, 0.516661, 0.630260], abs=1e-6)
    assert [planned[step][0] for step in (3, 7, 11)] == pytest.approx(expected)


def test_restricted_base_code_restarts_from_uniform_and_prior_option_keeps_the_prior():
    prior = {"d0": 0.2, "d1": 0.8}
    common = dict(total_steps=8, rounds=1, lp_rounds=1, lp_steps=1, one_hot_factor=1.0, eta=1.0, ema=None,
                  prior_fraction=0.5, prior_weights=prior)
    code = aioli(2, **common)
    planned = drive(code, ROUND_DROPS, 8)
    assert np.allclose(planned[4], [0.2, 0.8])              # steps 1-4 train on the prior
    assert planned[7][0] == pytest.approx(sigmoid(1 / 3))   # code: ones·exp(η Σ A) = 0.582570
    kept = aioli(2, base_weights="prior", **common)
    planned = drive(kept, ROUND_DROPS, 8)
    # 0.2·e^{2/3} / (0.2·e^{2/3} + 0.8·e^{1/3}) = 0.389547 / 1.506037
    assert planned[7][0] == pytest.approx(0.258657, abs=1e-6)


# -- state and errors -------------------------------------------------------------------------
def test_state_round_trip_mid_burst_gives_identical_future():
    kwargs = dict(total_steps=40, rounds=2, lp_rounds=2, delta=0.6, one_hot_factor=0.5, ema=0.3, seed=3)
    drops = [np.random.default_rng(1).uniform(-0.1, 0.3, size=(3, 3)) for _ in range(2)]
    whole = aioli(3, **kwargs)
    full_plan = drive(whole, drops, 40)
    # stop inside round 2's probe bursts (step 25 is mid-burst), after round 1's fit
    first = aioli(3, **kwargs)
    losses = np.full(3, 5.0)
    for step in range(26):
        if step > 0:
            burst = first.schedule.burst_of(step)
            if burst is not None and step == first.schedule.burst_end(*burst):
                losses = losses - drops[burst[0]][first.probe_domain(step)]
            elif burst is None:
                losses = losses - 0.05
        if first.held_out_due(step):
            first.observe_held_out(step, losses.copy())
        if step > 0:
            first.update(step, None)
    assert first.observations and first.log_weights is not None
    resumed = aioli(3, **kwargs)
    resumed.load_state_dict(first.state_dict())
    assert resumed.probe_steps_taken() == 12 + 5
    for step in range(26, 41):
        assert np.array_equal(resumed.current_weights(step), first.current_weights(step))
        burst = resumed.schedule.burst_of(step)
        if burst is not None and step == resumed.schedule.burst_end(*burst):
            losses = losses - drops[burst[0]][resumed.probe_domain(step)]
        elif burst is None:
            losses = losses - 0.05
        for s in (first, resumed):
            if s.held_out_due(step):
                s.observe_held_out(step, losses.copy())
            s.update(step, None)
        assert np.array_equal(resumed.plan(step, 2, 4), first.plan(step, 2, 4))
        assert resumed.reward_log() == first.reward_log()       # bit-identical (memory order included)
    assert np.allclose(resumed.current_weights(40), full_plan[40])


def test_protocols_and_missing_baseline():
    s = aioli(2, total_steps=12, rounds=3, lp_rounds=1, lp_steps=1)
    check_protocols(s)
    with pytest.raises(RuntimeError, match="no held-out loss before the burst ending at step 1"):
        s.observe_held_out(1, np.array([1.0, 1.0]))


@pytest.mark.parametrize("kwargs, field", [
    ({"eta": 0}, "eta"), ({"delta": 1.0}, "delta"), ({"one_hot_factor": 0.5}, "one_hot_factor"),
    ({"one_hot_factor": 1.1}, "one_hot_factor"), ({"ema": 1.0}, "ema"), ({"rounds": 0}, "rounds"),
    ({"lp_rounds": 1.5}, "lp_rounds"), ({"lp_steps": 0}, "lp_steps"), ({"normalize": "max"}, "normalize"),
    ({"a_matrix": "sparse"}, "a_matrix"), ({"base_weights": "task"}, "base_weights"),
    ({"prior_fraction": 0.5}, "prior_weights"), ({"total_steps": None}, "total_steps"),
    ({"prior_fraction": 1.0, "prior_weights": "uniform"}, "prior_fraction"),
])
def test_bad_hyperparameters_name_the_field(kwargs, field):
    # K=2: one_hot_factor must exceed 1/K = 0.5
    params = {"total_steps": 12, "rounds": 3, "lp_rounds": 1, "lp_steps": 1, **kwargs}
    with pytest.raises(StrategyConfigError, match=f"^{field}"):
        aioli(2, **params)


# -- end to end -----------------------------------------------------------------------------------
def test_resume_inside_a_probe_burst_equals_whole_run(tmp_path, tiny_overrides):
    # 24 steps, 2 rounds of 12, 10 bursts of 1 step: probes 1-10 and 13-22. Checkpoints every 4
    # steps; stopping after 18 resumes from step 16, inside round 2's bursts.
    overrides = tiny_overrides + ["training.steps=24", "method.rounds=2", "method.lp_rounds=1"]
    record = assert_resume_equivalent(tmp_path, "aioli", overrides, stop_after=18)
    assert record["status"] == "completed"
    assert record["compute"]["probe_steps"] == 20
    assert record["compute"]["extra_forward_tokens"] > 0          # 22 held-out evaluations charged
    steps = record["mixture"]["steps"]
    weights = np.asarray(record["mixture"]["weights"])
    learned = weights[steps.index(12)]                            # round 1's learned mixture (step 12)
    assert np.isclose(learned.sum(), 1.0) and not np.allclose(learned, weights[steps.index(2)])
