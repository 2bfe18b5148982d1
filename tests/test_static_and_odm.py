"""Static mixtures and both ODM forms against hand-computed values."""

import json
import math

import numpy as np
import pytest

from benchmark.strategies import DomainStats, StrategyConfigError, get_strategy_class
from benchmark.strategies.base import exploration_rate
from benchmark.strategies.odm import floored_policy
from tests.resume_check import assert_resume_equivalent

DOMAINS = ["a", "b", "c"]
SIZES = [100, 300, 600]


def stats(mb_loss_sum, microbatches, sequences):
    s = DomainStats.zeros(3)
    s.microbatch_loss_sum[:] = mb_loss_sum
    s.microbatches[:] = microbatches
    s.sequences[:] = sequences
    s.tokens[:] = np.asarray(sequences) * 10
    s.token_loss_sum[:] = np.asarray(mb_loss_sum) * 10
    return s


def test_static_weights():
    uniform = get_strategy_class("uniform")(DOMAINS, SIZES)
    assert np.allclose(uniform.current_weights(1), [1 / 3] * 3)
    prop = get_strategy_class("proportional")(DOMAINS, SIZES)
    assert np.allclose(prop.current_weights(1), [0.1, 0.3, 0.6])
    temp = get_strategy_class("temperature")(DOMAINS, SIZES, temperature=2.0)
    root = [math.sqrt(100), math.sqrt(300), math.sqrt(600)]
    assert np.allclose(temp.current_weights(1), [r / sum(root) for r in root])
    fixed = get_strategy_class("fixed")(DOMAINS, SIZES, weights={"a": 0.5, "b": 0.25, "c": 0.25})
    assert np.allclose(fixed.current_weights(7), [0.5, 0.25, 0.25])


def test_normalised_weights_are_rescaled_and_a_typo_is_refused():
    fixed = get_strategy_class("fixed")(DOMAINS, SIZES, weights={"a": 0.2, "b": 0.2}, normalize=True)
    assert np.allclose(fixed.current_weights(1), [0.5, 0.5, 0.0])
    # published mixtures are restricted to the task's domains before they get here (and the record
    # says so: config.published_mixture_notes); a name the task lacks is a user's typo
    with pytest.raises(StrategyConfigError, match=r"^weights: unknown domain\(s\) \['zzz'\]"):
        get_strategy_class("fixed")(DOMAINS, SIZES, weights={"a": 0.2, "b": 0.2, "zzz": 0.6}, normalize=True)


@pytest.mark.parametrize("kwargs, field", [
    ({"weights": {"a": 0.5, "b": 0.5, "c": 0.5}}, "weights"),       # does not sum to 1
    ({"weights": {"a": -0.5, "b": 1.0, "c": 0.5}}, "weights.a"),    # negative
    ({"weights": {"a": 0.5, "nope": 0.5}}, "weights"),              # unknown domain
    ({"weights": {"a": 0.5, "b": 0.5}}, "weights"),                 # missing domain
])
def test_fixed_weights_errors_name_the_field(kwargs, field):
    with pytest.raises(StrategyConfigError, match=f"^{field}"):
        get_strategy_class("fixed")(DOMAINS, SIZES, **kwargs)


@pytest.mark.parametrize("kwargs, field", [
    ({"alpha": 1.0}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"form": "both"}, "form"),
    ({"exploration_scale": 0}, "exploration_scale"), ({"warmup_fraction": 1.5}, "warmup_fraction"),
    ({"initial_weights": "zipf"}, "initial_weights"),
])
def test_odm_errors_name_the_field(kwargs, field):
    with pytest.raises(StrategyConfigError, match=f"^{field}"):
        get_strategy_class("odm")(DOMAINS, SIZES, **kwargs)


def test_exploration_schedule_matches_odm_md_for_22_domains():
    # docs/methods/odm.md: 1/K = 0.0455 up to t ≈ 68; 0.00838 at t = 2001; 0.00375 at 10k; 0.00119 at 100k.
    assert exploration_rate(68, 22) == pytest.approx(1 / 22)
    assert exploration_rate(2001, 22) == pytest.approx(0.00838, abs=5e-5)
    assert exploration_rate(10_000, 22) == pytest.approx(0.00375, abs=5e-5)
    assert exploration_rate(100_000, 22) == pytest.approx(0.00119, abs=5e-5)


def test_odm_code_form_by_hand():
    # K = 3, ε_t = min(1/3, sqrt(ln 3/(3t))): ε_4 = 0.302574, ε_5 = 0.270630, ε_6 = 0.247051.
    # Warm-up 3 steps: step 4 is the first bandit step; the update after step s sets the policy of s + 1.
    odm = get_strategy_class("odm")(DOMAINS, SIZES, form="code", alpha=0.9, warmup_steps=3)
    assert np.allclose(odm.current_weights(4), [0.1, 0.3, 0.6])     # no update yet: initial weights
    # step 4: a one micro-batch with mean loss 1.0, c one with 2.0, b not drawn
    odm.update(4, stats([1.0, 0.0, 2.0], [1, 0, 1], [4, 0, 4]))
    # R ← 0.9·0 + 0.1·exp(L): R = [0.271828, 0, 0.738906], ΣR = 1.010734, R/ΣR = [0.268941, 0, 0.731059]
    assert np.allclose(odm.rewards, [0.1 * math.e, 0.0, 0.1 * math.e ** 2])
    # π_5 = (1 − 3·ε_4)·R/ΣR + ε_4 = 0.092278·[0.268941, 0, 0.731059] + 0.302574
    assert np.allclose(odm.current_weights(5), [0.327391, 0.302574, 0.370035], atol=1e-6)
    # step 5: two micro-batches of a with losses 1.0 and 3.0 → L_a = 2.0 (the mean, not the sum)
    odm.update(5, stats([4.0, 0.0, 0.0], [2, 0, 0], [8, 0, 0]))
    # R_a = 0.9·0.271828 + 0.1·e² = 0.983551; c not drawn keeps 0.738906; ΣR = 1.722457
    assert odm.rewards[0] == pytest.approx(0.9 * 0.1 * math.e + 0.1 * math.e ** 2)
    assert odm.rewards[2] == pytest.approx(0.1 * math.e ** 2)
    # π_6 = (1 − 3·ε_5)·[0.571016, 0, 0.428984] + ε_5 = 0.188109·[…] + 0.270630
    assert np.allclose(odm.current_weights(6), [0.378044, 0.270630, 0.351326], atol=1e-6)
    # step 6: b drawn with loss 0.5: R_b = 0.1·e^0.5 = 0.164872; ΣR = 1.887329
    odm.update(6, stats([0.0, 0.5, 0.0], [0, 1, 0], [0, 4, 0]))
    # π_7 = (1 − 3·ε_6)·[0.521134, 0.087357, 0.391509] + ε_6 = 0.258848·[…] + 0.247051
    assert np.allclose(odm.current_weights(7), [0.381945, 0.269663, 0.348392], atol=1e-6)


def test_odm_code_policy_of_step_s_uses_epsilon_of_step_s_minus_1():
    # (a) the released code forms the policy after step s − 1 with ε_{s−1}; b (never drawn) sits at the floor
    odm = get_strategy_class("odm")(DOMAINS, SIZES, form="code", warmup_steps=3)
    odm.update(4, stats([1.0, 0.0, 2.0], [1, 0, 1], [4, 0, 4]))
    assert odm.current_weights(5)[1] == pytest.approx(exploration_rate(4, 3), rel=1e-12)   # ε_4 = 0.302574
    assert odm.current_weights(5)[1] != pytest.approx(exploration_rate(5, 3))              # not ε_5 = 0.270630


def test_odm_code_first_step_after_warmup_samples_the_initial_weights():
    # (b) no update has run yet, so the released code samples the initial weights, not uniformly
    odm = get_strategy_class("odm")(DOMAINS, SIZES, form="code", warmup_steps=2, initial_weights="proportional")
    assert odm.granularity_at(3) == "microbatch"
    assert np.array_equal(odm.current_weights(3), [0.1, 0.3, 0.6])
    # the paper form samples its Gibbs policy with R̂ = 0 there: uniform
    paper = get_strategy_class("odm")(DOMAINS, SIZES, form="paper", warmup_steps=2, initial_weights="proportional")
    assert np.allclose(paper.current_weights(3), [1 / 3] * 3)


def test_released_policy_renormalises_after_adding_the_floor():
    # (d) w = s·((1 − K·ε)/Σs) + ε sums to 1.0000000000000002 here; the policy is w / Σw, bit for bit
    scores, eps = np.array([3.9, 10.1, 9.9]), 0.08
    w = scores * ((1 - 3 * eps) / scores.sum()) + eps
    assert w.sum() != 1.0
    assert np.array_equal(floored_policy(scores, eps), w / w.sum()) and not np.array_equal(w, w / w.sum())


def released_smoothed_mean(initial: list[float], alpha: float, first_step: int, losses: list[dict[int, float]]):
    """The released SmoothedMeanWeightUpdater as train_mixed_minibatch drives it, restated in plain
    Python: the policy each step is sampled from (the update after step s gets iteration = s)."""
    k, rewards, eps, policy, used = len(initial), [0.0] * len(initial), 1 / len(initial), list(initial), []
    for step, drawn in enumerate(losses, start=first_step):
        used.append(policy)
        prev_eps, eps = eps, min(1 / k, math.sqrt(math.log(k) / (k * step)))
        for i, loss in drawn.items():
            rewards[i] = alpha * rewards[i] + (1 - alpha) * math.exp(loss)
        scale = (1 - k * eps) / sum(r * prev_eps for r in rewards)
        weights = [r * prev_eps * scale + eps for r in rewards]
        policy = [w / sum(weights) for w in weights]
    return used


def test_odm_code_form_equals_the_released_updater_bit_for_bit():
    # (a)–(d) together: 10 domains (so NumPy's pairwise sums would differ from the code's), 5 warm-up
    # steps, 60 updates with random losses and random drawn subsets; the policies must be identical.
    k, rng = 10, np.random.default_rng(0)
    losses = [{int(i): float(rng.uniform(1, 6)) for i in rng.choice(k, size=rng.integers(1, k + 1), replace=False)}
              for _ in range(60)]
    sizes = list(range(1, k + 1))
    for alpha in (0.9, 0.5):
        odm = get_strategy_class("odm")([f"d{i}" for i in range(k)], sizes, form="code", alpha=alpha, warmup_steps=5)
        ours = []
        for step, drawn in enumerate(losses, start=6):
            ours.append(odm.current_weights(step).tolist())
            s = DomainStats.zeros(k)
            for i, loss in drawn.items():
                s.microbatch_loss_sum[i], s.microbatches[i], s.sequences[i] = loss, 1, 4
            odm.update(step, s)
        assert ours == released_smoothed_mean([x / sum(sizes) for x in sizes], alpha, 6, losses)


def test_state_dict_round_trip_gives_identical_future():
    def run(strategy, steps):
        out = []
        for t in steps:
            out.append(strategy.plan(t, 4, 2).tolist())
            strategy.update(t, stats([1.0 + t % 2, 0.5, 2.0], [1, 1, 1], [2, 2, 2]))
        return out

    a = get_strategy_class("odm")(DOMAINS, SIZES, seed=3, form="paper", warmup_steps=1)
    run(a, range(1, 6))
    b = get_strategy_class("odm")(DOMAINS, SIZES, seed=99, form="paper", warmup_steps=1)
    b.load_state_dict(a.state_dict())
    assert run(a, range(6, 12)) == run(b, range(6, 12))


def test_odm_paper_form_is_unchanged_by_the_code_form_revision():
    # Values computed with the paper form before the code form was aligned with the released code
    # (warm-up 1 step, proportional initial weights, K = 3); compared bit for bit.
    odm = get_strategy_class("odm")(DOMAINS, SIZES, form="paper", alpha=0.9, warmup_steps=1)
    steps = {2: ([4.0, 0.0, 2.5], [2, 0, 1], [8, 0, 4]), 3: ([0.0, 3.0, 0.0], [0, 1, 0], [0, 4, 0]),
             4: ([1.5, 0.0, 5.0], [1, 0, 2], [4, 0, 8])}
    weights, rewards = {}, {}
    for t in range(1, 6):
        weights[t] = odm.current_weights(t).tolist()
        odm.update(t, stats(*steps.get(t, ([1.0, 1.0, 1.0], [1, 1, 1], [4, 4, 4]))))
        rewards[t] = odm.rewards.tolist()
    assert weights[1] == [0.1, 0.3, 0.6] and weights[3] == [1 / 3] * 3
    assert weights[4] == [0.33594101712982205, 0.33276572540395666, 0.33129325746622135]
    assert weights[5] == [0.3323556923248136, 0.32169691988169774, 0.3459473877934887]
    assert rewards[2] == [1.1999999999999997, 0.0, 0.7499999999999998]
    assert rewards[4] == [1.5265069531596775, 0.8999999999999998, 2.1842368731681168]
    assert rewards[5] == [1.6747387229536177, 1.1208515929738287, 2.2548744810899164]


def test_odm_code_state_round_trip_and_resume(tmp_path, tiny_overrides):
    def run(strategy, steps):
        out = []
        for t in steps:
            out.append((strategy.plan(t, 4, 2).tolist(), strategy.current_weights(t).tolist()))
            strategy.update(t, stats([1.0 + t % 2, 0.5, 2.0], [1, 1, 1], [2, 2, 2]))
        return out

    a = get_strategy_class("odm")(DOMAINS, SIZES, seed=3, form="code", warmup_steps=2)
    run(a, range(1, 6))
    b = get_strategy_class("odm")(DOMAINS, SIZES, seed=99, form="code", warmup_steps=2)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert run(a, range(6, 12)) == run(b, range(6, 12))
    # end to end: killed after step 6 (checkpoint at 4, past the 3-step warm-up), resumed = uninterrupted
    assert_resume_equivalent(tmp_path, "odm-code", tiny_overrides + ["method.warmup_steps=3"])
