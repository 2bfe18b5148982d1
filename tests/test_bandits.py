"""exp3 (ODM repository), EXP3-FLAD and UCB1-FLAD against hand-computed trajectories, plus
properties: weights are distributions, the exploration floor holds, state round-trips exactly."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.strategies import DomainStats, StrategyConfigError, get_strategy_class
from benchmark.capabilities import Capability
from benchmark.capabilities.gradient_rewards import flad_reward
from benchmark.strategies.exp3 import sample_softmax_of_one_hot
from tests.resume_check import assert_resume_equivalent

AB = ["a", "b"]


def stats_from(plan: np.ndarray, num_arms: int, loss=None, reward=None) -> DomainStats:
    """Statistics of one step as the trainer would report them for `plan` ([G, B] arm ids).

    loss(arm) is every micro-batch's mean loss; reward(arm) is the arm's reward (NaN if not pulled).
    """
    s = DomainStats.zeros(num_arms)
    s.sequences[:] = np.bincount(plan.ravel(), minlength=num_arms)
    s.tokens[:] = s.sequences * 10
    rows = plan[:, 0]
    s.microbatches[:] = np.bincount(rows, minlength=num_arms)
    per_arm_loss = np.array([loss(a) if loss else 1.0 for a in range(num_arms)])
    s.microbatch_loss_sum[:] = s.microbatches * per_arm_loss
    s.token_loss_sum[:] = s.tokens * per_arm_loss
    if reward is not None:
        s.rewards = np.where(s.microbatches > 0, [reward(a) for a in range(num_arms)], np.nan)
    return s


def one_step_stats(num_arms: int, drawn: dict[int, float], rewards: bool = False) -> DomainStats:
    """One micro-batch per arm in `drawn` ({arm: loss or reward})."""
    plan = np.array([[arm] * 2 for arm in drawn])
    value = lambda a: drawn.get(a, 0.0)  # noqa: E731
    return stats_from(plan, num_arms, loss=value, reward=value if rewards else None)


# -- flad_reward -------------------------------------------------------------------------------------
def test_flad_reward_by_hand_numpy_and_torch():
    a, t = [1.0, 0.0], [1.0, 1.0]
    # cos = 1/(1·√2) = 0.707107; GMS = (2·1·√2 + 1e-8)/(1 + 2 + 1e-8) = 2.828427/3 = 0.942809
    # AGG = (1 + 0.707107)/2 + 0.942809 = 0.853553 + 0.942809 = 1.796362
    expected = {"ga": 0.707107, "gms": 0.942809, "agg": 1.796362}
    for kind, value in expected.items():
        assert flad_reward(np.array(a), np.array(t), kind) == pytest.approx(value, abs=1e-6)
        assert flad_reward(torch.tensor(a), torch.tensor(t), kind) == pytest.approx(value, abs=1e-6)
    # opposite gradients of equal norm: GA = −1, GMS = (2 + 1e-8)/(2 + 1e-8) = 1, AGG = 0 + 1 = 1
    assert flad_reward(np.array([2.0, 0]), np.array([-2.0, 0]), "agg") == pytest.approx(1.0)
    # zero auxiliary gradient: GA = 0 (defined), GMS = 1e-8/(1 + 1e-8) ≈ 0
    assert flad_reward(np.zeros(2), np.array([1.0, 0]), "ga") == 0.0
    assert flad_reward(np.zeros(2), np.array([1.0, 0]), "gms") == pytest.approx(1e-8)


def test_flad_reward_rejects_bad_input():
    with pytest.raises(ValueError, match="^kind"):
        flad_reward(np.ones(2), np.ones(2), "cosine")
    with pytest.raises(ValueError, match="same length"):
        flad_reward(np.ones(2), np.ones(3), "ga")


# -- exp3 (ODM repository) ---------------------------------------------------------------------------
def test_exp3_by_hand():
    # K = 2, ε_t = min(1/2, sqrt(ln 2/(2t))): ε_3 = 0.339889, ε_4 = 0.294353, ε_5 = 0.263277.
    # Warm-up 2 steps; initial weights proportional to sizes [1, 3] = [0.25, 0.75].
    s = get_strategy_class("exp3")(AB, [1, 3], warmup_steps=2)
    assert np.allclose(s.current_weights(3), [0.25, 0.75])          # no update yet: initial weights
    s.update(3, one_step_stats(2, {0: 4.0}))
    # R̂_a += (4.0/10)/0.25 = 1.6 (divided by the initial probability the step was sampled from)
    assert np.allclose(s.cumulative_reward, [1.6, 0.0])
    # π_4 = (1 − 2ε_3)·softmax(ε'·R̂) + ε_3 with ε' = 1/K = 0.5 (the first update's previous ε):
    # softmax(0.5·[1.6, 0])_a = 1/(1 + e^−0.8) = 0.689974; π_4a = 0.320222·0.689974 + 0.339889 = 0.560834
    assert np.allclose(s.current_weights(4), [0.560834, 0.439166], atol=1e-6)
    s.update(4, one_step_stats(2, {1: 3.0}))
    # R̂_b += 0.3/0.439166 = 0.683113
    assert np.allclose(s.cumulative_reward, [1.6, 0.683113], atol=1e-6)
    # π_5: softmax(ε_3·R̂)_a = 1/(1 + e^{−0.339889·0.916887}) = 1/(1 + e^−0.311640) = 0.577285
    # π_5a = (1 − 2ε_4)·0.577285 + ε_4 = 0.411295·0.577285 + 0.294353 = 0.531787
    assert np.allclose(s.current_weights(5), [0.531787, 0.468213], atol=1e-6)
    # step 5: a two micro-batches (losses 1.0, 3.0 → mean 2.0), b one (1.0)
    plan = np.array([[0, 0], [0, 0], [1, 1]])
    s.update(5, stats_from(plan, 2, loss=lambda a: 1.0 if a else 2.0))
    # R̂_a += 0.2/0.531787 = 0.376090 → 1.976090; R̂_b += 0.1/0.468213 = 0.213578 → 0.896691
    assert np.allclose(s.cumulative_reward, [1.976090, 0.896691], atol=1e-6)
    # π_6: softmax(ε_4·R̂)_a = 1/(1 + e^{−0.294353·1.079399}) = 1/(1 + e^−0.317724) = 0.578769
    # π_6a = (1 − 2ε_5)·0.578769 + ε_5 = 0.473446·0.578769 + 0.263277 = 0.537293
    assert np.allclose(s.current_weights(6), [0.537293, 0.462707], atol=1e-6)


def test_exp3_lags_one_step_and_starts_from_the_initial_weights():
    # (c) the update after step s forms π_{s+1} with ε_s (floor) and the previous update's ε (Gibbs),
    # which is 1/K at the first update; that update divides by the initial probability, not by 1/K.
    s = get_strategy_class("exp3")(["a", "b", "c"], [1, 1, 2], warmup_steps=4)
    assert np.array_equal(s.current_weights(5), [0.25, 0.25, 0.5])
    s.update(5, one_step_stats(3, {2: 5.0}))
    assert s.cumulative_reward[2] == pytest.approx(0.5 / 0.5)           # (5/10)/π_c, π_c = 0.5 (not 1/3)
    eps5, eps6 = math.sqrt(math.log(3) / 15), math.sqrt(math.log(3) / 18)
    z = np.exp(np.array([0.0, 0.0, 1.0]) / 3)                          # Gibbs with ε' = 1/K, not ε_4
    assert np.allclose(s.current_weights(6), (1 - 3 * eps5) * z / z.sum() + eps5, rtol=1e-12)
    s.update(6, one_step_stats(3, {0: 2.0}))
    z = np.exp(eps5 * s.cumulative_reward)                              # now ε' = ε_5, floor ε_6
    assert np.allclose(s.current_weights(7), (1 - 3 * eps6) * z / z.sum() + eps6, rtol=1e-12)


def released_exp3(initial: list[float], first_step: int, losses: list[dict[int, float]]) -> list[list[float]]:
    """The released Exp3WeightUpdater.group_update as train_mixed_minibatch drives it, restated in
    plain Python: the policy each step is sampled from (the update after step s gets iteration = s)."""
    k, estimate, eps, policy, used = len(initial), [0.0] * len(initial), 1 / len(initial), list(initial), []
    for step, drawn in enumerate(losses, start=first_step):
        used.append(policy)
        prev_eps, eps = eps, min(1 / k, math.sqrt(math.log(k) / (k * step)))
        for i, loss in drawn.items():
            estimate[i] += (loss / 10) / policy[i]
        scale = (1 - k * eps) / sum(math.exp(r * prev_eps) for r in estimate)
        weights = [math.exp(r * prev_eps) * scale + eps for r in estimate]
        policy = [w / sum(weights) for w in weights]
    return used


def test_exp3_equals_the_released_updater_bit_for_bit():
    # 10 arms (NumPy's pairwise sums would differ from the code's), 3 warm-up steps, 80 updates
    k, rng = 10, np.random.default_rng(1)
    losses = [{int(i): float(rng.uniform(1, 6)) for i in rng.choice(k, size=rng.integers(1, k + 1), replace=False)}
              for _ in range(80)]
    sizes = list(range(1, k + 1))
    s = get_strategy_class("exp3")([f"d{i}" for i in range(k)], sizes, warmup_steps=3)
    ours = []
    for step, drawn in enumerate(losses, start=4):
        ours.append(s.current_weights(step).tolist())
        plan = np.array([[arm] * 2 for arm in drawn])
        s.update(step, stats_from(plan, k, loss=lambda a: drawn.get(a, 0.0)))
    assert ours == released_exp3([x / sum(sizes) for x in sizes], 4, losses)


def test_exp3_survives_where_the_released_exp_would_overflow():
    s = get_strategy_class("exp3")(AB, [1, 1], warmup_steps=5, reward_divisor=1e-3)
    s.update(6, one_step_stats(2, {0: 1e3}))            # R̂_a = (1e3/1e-3)/0.5 = 2e6; ε'·R̂_a = 0.5·2e6 = 1e6 > 709
    # softmax saturates: π_7 = (1 − 2ε_6)·[1, 0] + ε_6, ε_6 = sqrt(ln 2/12) = 0.240337
    assert np.allclose(s.current_weights(7), [0.759663, 0.240337], atol=1e-6)


def test_exp3_resumes_equivalently(tmp_path, tiny_overrides):
    # killed after step 6 (checkpoint at 4, past the 3-step warm-up), resumed = uninterrupted
    assert_resume_equivalent(tmp_path, "exp3", tiny_overrides + ["method.warmup_steps=3"])


def test_exp3_warmup_samples_sequences_from_initial_weights_without_updates():
    s = get_strategy_class("exp3")(["a", "b", "c"], [1, 1, 2], warmup_steps=2)
    assert np.allclose(s.current_weights(1), [0.25, 0.25, 0.5])  # proportional to sizes
    assert s.granularity_at(2) == "sample" and s.granularity_at(3) == "microbatch"
    s.update(2, one_step_stats(3, {0: 5.0}))
    assert np.all(s.cumulative_reward == 0)
    plan = s.plan(3, 4, 3)
    assert all(len(set(row)) == 1 for row in plan)  # one arm per micro-batch after warm-up


# -- EXP3-FLAD ---------------------------------------------------------------------------------------
def test_exp3_flad_code_form_by_hand():
    s = get_strategy_class("exp3-flad")(AB, [1, 1], sampler="paper", exploration_time="code")
    assert np.allclose(s.current_weights(1), [0.5, 0.5])     # uniform until the first update
    s.plan(1, 1, 4)                                           # G = 1
    s.update(1, one_step_stats(2, {0: 0.6}, rewards=True))
    # R̂_a = 0 + 0.6/0.5 = 1.2; t = 1·1·10 + 1 = 11; ε = sqrt(ln2/(2·11)) = 0.177501; ε_prev = 1/2
    # softmax(0.5·[1.2, 0])_a = e^.6/(e^.6 + 1) = 0.645656; π_a = (1 − 0.355002)·0.645656 + 0.177501 = 0.593948
    assert s.eps == pytest.approx(0.177501, abs=1e-6)
    assert np.allclose(s.policy, [0.593948, 0.406052], atol=1e-6)
    s.plan(2, 1, 4)
    s.update(2, one_step_stats(2, {1: 0.5}, rewards=True))
    # R̂_b = 0.5/0.406052 = 1.231369; t = 21: ε = sqrt(ln2/42) = 0.128466; ε_prev = 0.177501
    # softmax(0.177501·[1.2, 1.231369])_a = 1/(1 + e^{0.177501·0.031369}) = 1/(1 + e^{0.005568}) = 0.498608
    # π_a = (1 − 0.256932)·0.498608 + 0.128466 = 0.370499 + 0.128466 = 0.498966
    assert np.allclose(s.cumulative_reward, [1.2, 1.231369], atol=1e-6)
    assert np.allclose(s.policy, [0.498966, 0.501034], atol=1e-6)


def test_exp3_flad_paper_time_and_code_sampler():
    s = get_strategy_class("exp3-flad")(AB, [1, 1], sampler="code", exploration_time="paper")
    s.plan(1, 1, 4)
    s.update(1, one_step_stats(2, {0: 0.6}, rewards=True))
    # t = 1 round played: ε = min(1/2, sqrt(ln2/2) = 0.5887) = 0.5 → π stays uniform; R̂_a = 1.2
    assert np.allclose(s.policy, [0.5, 0.5])
    s.plan(2, 1, 4)
    s.update(2, one_step_stats(2, {1: 0.5}, rewards=True))
    # R̂_b = 0.5/0.5 = 1.0; t = 2: ε = sqrt(ln2/4) = 0.416277, ε_prev = 0.5
    # softmax(0.5·[1.2, 1.0])_a = 1/(1 + e^{−0.1}) = 0.524979; π_a = 0.167445·0.524979 + 0.416277 = 0.504183
    assert np.allclose(s.policy, [0.504183, 0.495817], atol=1e-6)
    # the code's sampler draws from softmax(π):
    # e^{0.504183}/(e^{0.504183} + e^{0.495817}) = 1/(1 + e^{−0.008365}) = 0.502091
    assert np.allclose(s.current_weights(3), [0.502091, 0.497909], atol=1e-6)


def test_exp3_flad_time_uses_ten_g_steps_and_ema():
    arms = [f"x{i}" for i in range(38)]
    s = get_strategy_class("exp3-flad")(arms, [1] * 38, beta=0.5)
    s.plan(1, 16, 8)
    s.update(1, one_step_stats(38, {0: 0.6}, rewards=True))
    # t = 1·16·10 + 1 = 161: ε = sqrt(ln 38/(38·161)) = sqrt(3.637586/6118) = 0.024384 < 1/38
    assert s.eps == pytest.approx(0.024384, abs=1e-6)
    # β = 0.5: first reward initialises r̃ = 0.6, then r̃ ← 0.5·0.6 + 0.5·0.2 = 0.4
    s.plan(2, 16, 8)
    s.update(2, one_step_stats(38, {0: 0.2}, rewards=True))
    assert s.smoothed_reward[0] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="rewards is required"):
        s.update(3, one_step_stats(38, {0: 0.2}))


# -- UCB1-FLAD ---------------------------------------------------------------------------------------
def test_ucb1_warm_start_by_hand():
    s = get_strategy_class("ucb1-flad")(["a", "b", "c"], [1, 1, 1], sampler="paper",
                                        warm_start_rewards=[0.2, 0.5, 0.1])
    # n = [1, 1, 1], rounds = 0: bonus sqrt(2 ln 3) = 1.482304 for all → argmax R̂ = b
    # then n_b = 2, rounds = 1: sqrt(2 ln 4) = 1.665109 (n = 1), sqrt(2 ln4 / 2) = 1.177410 (n = 2)
    #   a 0.2 + 1.665109 = 1.865109 | b 0.5 + 1.177410 = 1.677410 | c 0.1 + 1.665109 = 1.765109 → a
    plan = s.plan(1, 2, 3)
    assert plan[:, 0].tolist() == [1, 0] and plan.shape == (2, 3)
    assert s.pulls.tolist() == [2, 2, 1]
    s.update(1, one_step_stats(3, {0: 0.8, 1: 0.3}, rewards=True))
    # R̂_a = 0.9·0.2 + 0.1·0.8 = 0.26; R̂_b = 0.9·0.5 + 0.1·0.3 = 0.48; c not pulled: 0.1
    assert np.allclose(s.estimates, [0.26, 0.48, 0.1])
    # rounds = 2: sqrt(2 ln5/2) = 1.268636 (n = 2), sqrt(2 ln 5) = 1.794123 (n = 1)
    #   a 1.528636 | b 1.748636 | c 1.894123 → c; then rounds = 3, n = [2, 2, 2]: sqrt(ln 6) = 1.338566
    #   a 1.598566 | b 1.818566 | c 1.438566 → b
    assert s.plan(2, 2, 3)[:, 0].tolist() == [2, 1]
    # logged weights: the step's mean one-hot = [0, 1/2, 1/2]
    assert s.history[-1].weights == [0.0, 0.5, 0.5]


def test_ucb1_cold_start_pulls_every_arm_first():
    s = get_strategy_class("ucb1-flad")(["a", "b", "c"], [1, 1, 1], sampler="paper", warm_start=False)
    # n = 0 → index +inf, first in arm order; then all n = 1, R̂ = 0: tie → a
    assert s.plan(1, 4, 2)[:, 0].tolist() == [0, 1, 2, 0]
    s.update(1, one_step_stats(3, {0: 1.0, 1: 0.5, 2: 0.0}, rewards=True))
    assert np.allclose(s.estimates, [0.1, 0.05, 0.0])  # 0.9·0 + 0.1·r


def test_ucb1_needs_warm_start_rewards_when_asked():
    s = get_strategy_class("ucb1-flad")(AB, [1, 1])
    assert Capability.WARM_START_REWARDS in s.capabilities
    with pytest.raises(RuntimeError, match="warm-start"):
        s.plan(1, 2, 2)
    s.set_warm_start_rewards([0.3, 0.1])
    assert s.plan(1, 2, 2).shape == (2, 2)
    with pytest.raises(RuntimeError, match="before the first plan"):
        s.set_warm_start_rewards([0.3, 0.1])


def test_ucb1_code_sampler_is_softmax_of_one_hot():
    arms = [f"x{i}" for i in range(38)]
    s = get_strategy_class("ucb1-flad")(arms, [1] * 38, warm_start_rewards=[0.0] * 37 + [1.0])
    w = s.current_weights(1)
    # softmax(one-hot), K = 38: e/(e + 37) = 2.718282/39.718282 = 0.068439; others 1/(e + 37) = 0.025177
    assert w[37] == pytest.approx(0.068439, abs=1e-6) and w[0] == pytest.approx(0.025177, abs=1e-6)
    rng = np.random.Generator(np.random.PCG64(0))
    draws = np.array([sample_softmax_of_one_hot(rng, 5, 38) for _ in range(20_000)])
    assert np.mean(draws == 5) == pytest.approx(0.068439, abs=0.006)    # ±3.4σ
    assert np.mean(draws == 0) == pytest.approx(0.025177, abs=0.004)
    assert draws.min() == 0 and draws.max() == 37


# -- invalid hyperparameters -------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs, field", [
    ("exp3", {"reward_divisor": 0}, "reward_divisor"),
    ("exp3", {"exploration_scale": -1}, "exploration_scale"),
    ("exp3", {"warmup_fraction": 1.0}, "warmup_fraction"),
    ("exp3", {"initial_weights": "zipf"}, "initial_weights"),
    ("exp3-flad", {"reward": "cosine"}, "reward"),
    ("exp3-flad", {"target_gradient": "during"}, "target_gradient"),
    ("exp3-flad", {"sampler": "softmax"}, "sampler"),
    ("exp3-flad", {"exploration_time": "rounds"}, "exploration_time"),
    ("exp3-flad", {"exploration_scale": 0}, "exploration_scale"),
    ("exp3-flad", {"beta": 0.0}, "beta"),
    ("exp3-flad", {"beta": 1.5}, "beta"),
    ("ucb1-flad", {"beta": 1.0}, "beta"),
    ("ucb1-flad", {"beta": -0.1}, "beta"),
    ("ucb1-flad", {"reward": "GA"}, "reward"),
    ("ucb1-flad", {"target_gradient": None}, "target_gradient"),
    ("ucb1-flad", {"sampler": "greedy"}, "sampler"),
    ("ucb1-flad", {"warm_start": "yes"}, "warm_start"),
    ("ucb1-flad", {"warm_start": False, "warm_start_rewards": [0.1, 0.2]}, "warm_start_rewards"),
    ("ucb1-flad", {"warm_start_rewards": [0.1]}, "warm_start_rewards"),
    ("ucb1-flad", {"warm_start_rewards": [0.1, float("nan")]}, "warm_start_rewards"),
    ("ucb1-flad", {"warm_start_rewards": "high"}, "warm_start_rewards"),
])
def test_invalid_hyperparameters_name_the_field(name, kwargs, field):
    with pytest.raises(StrategyConfigError, match=f"^{field}:"):
        get_strategy_class(name)(AB, [1, 1], **kwargs)


# -- properties --------------------------------------------------------------------------------------
def make(name: str, k: int, seed: int, variant: int):
    arms, sizes = [f"d{i}" for i in range(k)], list(range(1, k + 1))
    if name == "exp3":
        return get_strategy_class(name)(arms, sizes, seed=seed, warmup_steps=variant % 3)
    if name == "exp3-flad":
        return get_strategy_class(name)(arms, sizes, seed=seed, sampler=("code", "paper")[variant % 2],
                                        exploration_time=("code", "paper")[variant // 2 % 2],
                                        beta=(1.0, 0.5)[variant // 4 % 2])
    warm = variant % 3 != 0
    s = get_strategy_class(name)(arms, sizes, seed=seed, sampler=("code", "paper")[variant % 2], warm_start=warm)
    if warm:
        s.set_warm_start_rewards([math.sin(i) for i in range(k)])
    return s


def play(s, steps: range, g: int, table: np.ndarray) -> list:
    """Run steps; the loss/reward of arm a at step t is table[t % len, a]. Returns plans and weights."""
    out = []
    for step in steps:
        plan = s.plan(step, g, 2)
        row = table[step % len(table)]
        s.update(step, stats_from(plan, len(row), loss=lambda a: row[a] + 2.0, reward=lambda a: row[a]))
        out.append((plan.tolist(), s.current_weights(step + 1).tolist()))
    return out


BANDITS = ["exp3", "exp3-flad", "ucb1-flad"]
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
table_strategy = st.integers(1, 6).flatmap(lambda k: st.lists(
    st.lists(st.floats(-1.0, 2.0, allow_nan=False), min_size=k, max_size=k), min_size=1, max_size=4))


@PROPERTY
@given(name=st.sampled_from(BANDITS), table=table_strategy, g=st.integers(1, 5), steps=st.integers(1, 8),
       seed=st.integers(0, 100), variant=st.integers(0, 7))
def test_weights_are_distributions_and_floor_holds(name, table, g, steps, seed, variant):
    table = np.array(table)
    k = table.shape[1]
    s = make(name, k, seed, variant)
    for step in range(1, steps + 1):
        w = s.current_weights(step)
        assert w.shape == (k,) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)
        if name == "exp3" and not s.in_warmup(step - 1):
            assert np.all(w >= s.epsilon(step - 1) - 1e-12)      # floor ε_{t−1}: set by the update after t − 1
        if name == "exp3-flad":
            assert np.all(s.policy >= s.eps - 1e-12)             # π ≥ ε_t
            assert s.policy.sum() == pytest.approx(1.0)
        play(s, range(step, step + 1), g, table)
    if name == "exp3-flad" and s.exploration_time == "code":
        # ε after the last update: t = steps·G·10 + 1
        assert s.eps == pytest.approx(min(1 / k, math.sqrt(math.log(k) / (k * (steps * g * 10 + 1)))) if k > 1 else 1)


@PROPERTY
@given(name=st.sampled_from(BANDITS), table=table_strategy, g=st.integers(1, 5), first=st.integers(0, 5),
       seed=st.integers(0, 100), variant=st.integers(0, 7))
def test_state_dict_round_trip_gives_identical_future(name, table, g, first, seed, variant):
    table = np.array(table)
    k = table.shape[1]
    s = make(name, k, seed, variant)
    play(s, range(1, first + 1), g, table)
    state = json.loads(json.dumps(s.state_dict()))    # as through a checkpoint file
    fresh = make(name, k, seed + 1, variant)            # different seed: everything must come from the state
    if name == "ucb1-flad" and fresh.warm_start:
        fresh = get_strategy_class(name)(s.domains, s.sizes, sampler=s.sampler, warm_start=True)
    fresh.load_state_dict(state)
    future = range(first + 1, first + 5)
    assert play(fresh, future, g, table) == play(s, future, g, table)
    assert fresh.reward_log() == s.reward_log()
