"""cooldown, upsample-end, scalarization and FLAD's fixed baselines against hand-computed mixtures;
properties; invalid hyperparameters; every new recipe loads and builds."""

import dataclasses
import json

import numpy as np
import pytest

from benchmark.capabilities import Capability
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.config import load_recipe, resolve_mixture_reference
from benchmark.strategies import StrategyConfigError, get_strategy_class

AB = ["a", "b"]


# -- cooldown ----------------------------------------------------------------------------------------
def test_cooldown_linear_by_hand():
    s = get_strategy_class("cooldown")(AB, [4, 1], start_temperature=2.0, end_temperature=1.0,
                                       cooldown_start_fraction=0.5, total_steps=10)
    # τ = 2 up to step 5: p ∝ [√4, 1] = [2, 1] → [2/3, 1/3]
    assert np.allclose(s.current_weights(1), [2 / 3, 1 / 3])
    assert np.allclose(s.current_weights(5), [2 / 3, 1 / 3])
    # step 6: progress (6 − 5)/(10 − 5) = 0.2 → τ = 2 − 0.2 = 1.8; 4^(1/1.8) = 2.160119 → 2.160119/3.160119
    assert s.temperature_at(6) == pytest.approx(1.8)
    assert np.allclose(s.current_weights(6), [0.683556, 0.316444], atol=1e-6)
    # step 10 = total: τ = 1, proportional [4/5, 1/5]
    assert np.allclose(s.current_weights(10), [0.8, 0.2])


def test_cooldown_cosine_by_hand():
    s = get_strategy_class("cooldown")(AB, [4, 1], start_temperature=2.0, end_temperature=1.0,
                                       cooldown_start_fraction=0.5, total_steps=10, schedule="cosine")
    # step 6: τ = 1 + (2 − 1)·(1 + cos(0.2π))/2 = 1 + 1.809017/2 = 1.904508; 4^(1/1.904508) = 2.070730
    assert s.temperature_at(6) == pytest.approx(1.904508, abs=1e-6)
    assert np.allclose(s.current_weights(6), [0.674345, 0.325655], atol=1e-6)
    assert s.temperature_at(10) == pytest.approx(1.0)


# -- upsample-end ------------------------------------------------------------------------------------
def test_upsample_end_by_hand():
    s = get_strategy_class("upsample-end")(["a", "b", "c"], [6, 3, 1], factor=4.0, total_steps=20)
    # median size 3: only c (1) is below it; proportional base [0.6, 0.3, 0.1]
    assert s.upsampled.tolist() == [False, False, True]
    assert np.allclose(s.current_weights(18), [0.6, 0.3, 0.1])
    # last round(0.1·20) = 2 steps (19, 20): [0.6, 0.3, 4·0.1]/1.3 = [0.461538, 0.230769, 0.307692]
    for step in (19, 20):
        assert np.allclose(s.current_weights(step), [0.461538, 0.230769, 0.307692], atol=1e-6)


def test_upsample_end_named_domains_and_temperature_base():
    s = get_strategy_class("upsample-end")(["a", "b", "c"], [9, 4, 1], temperature=2.0, factor=3.0,
                                           upsample_domains=["b"], final_fraction=0.5, total_steps=4)
    # base τ = 2: [√9, √4, √1] = [3, 2, 1]/6; steps 3–4: b × 3 → [3, 6, 1]/10
    assert np.allclose(s.current_weights(2), [0.5, 1 / 3, 1 / 6])
    assert np.allclose(s.current_weights(3), [0.3, 0.6, 0.1])


# -- scalarization -----------------------------------------------------------------------------------
def test_scalarization_by_hand():
    s = get_strategy_class("scalarization")(AB, [4, 1], temperature=2.0)
    assert Capability.LOSS_WEIGHTS in s.capabilities
    # samples proportionally p = [0.8, 0.2]; target w (τ = 2) = [2/3, 1/3]
    assert np.allclose(s.current_weights(1), [0.8, 0.2])
    # w/p: a (2/3)/0.8 = 0.833333, b (1/3)/0.2 = 1.666667; E_p[w/p] = 0.8·0.833333 + 0.2·1.666667 = 1
    assert np.allclose(s.loss_weights(np.array([0, 1, 1, 0])), [0.833333, 1.666667, 1.666667, 0.833333], atol=1e-6)
    empty = get_strategy_class("scalarization")(["a", "b", "c"], [4, 1, 0])
    assert empty.loss_weights(np.array([2]))[0] == 0.0  # never sampled; no NaN


# -- FLAD baselines ----------------------------------------------------------------------------------
ABT = ["a", "b", "target"]


def test_target_and_explore_only_by_hand():
    assert np.allclose(get_strategy_class("target-only")(ABT, [1, 1, 1]).current_weights(1), [0, 0, 1])
    # uniform [1/3]·3, target × 5 → [1, 1, 5]/7
    explore = get_strategy_class("explore-only")(ABT, [1, 1, 1], target_ratio=5)
    assert np.allclose(explore.current_weights(1), [1 / 7, 1 / 7, 5 / 7])


def test_exploit_only_by_hand():
    # similarities a 0.2, b −0.1; the target gets the max, 0.2: softmax([0.2, −0.1, 0.2])
    # e^.2 = 1.221403, e^−.1 = 0.904837, sum 3.347643 → [0.364855, 0.270291, 0.364855]
    s = get_strategy_class("exploit-only")(ABT, [1, 1, 1], warm_start_rewards=[0.2, -0.1])
    assert np.allclose(s.current_weights(1), [0.364855, 0.270291, 0.364855], atol=1e-6)
    # ratio 5 on the target's probability: 1.824273; sum 0.364855 + 0.270291 + 1.824273 = 2.459418
    # → [0.148350, 0.109900, 0.741750]; a K-long list's target entry is ignored
    s5 = get_strategy_class("exploit-only")(ABT, [1, 1, 1], target_ratio=5, warm_start_rewards=[0.2, -0.1, 9.0])
    assert np.allclose(s5.current_weights(7), [0.148350, 0.109900, 0.741750], atol=1e-6)
    late = get_strategy_class("exploit-only")(["target", "a", "b"], [1, 1, 1])
    with pytest.raises(RuntimeError, match="warm_start_rewards"):
        late.current_weights(1)
    late.set_warm_start_rewards([-0.3, -0.5])  # target first; max of the auxiliary arms is −0.3
    assert late.current_weights(1)[0] == pytest.approx(late.current_weights(1)[1])


# -- invalid hyperparameters -------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs, field", [
    ("cooldown", {"start_temperature": 0, "total_steps": 10}, "start_temperature"),
    ("cooldown", {"end_temperature": float("inf"), "total_steps": 10}, "end_temperature"),
    ("cooldown", {"schedule": "step", "total_steps": 10}, "schedule"),
    ("cooldown", {"cooldown_start_fraction": 1.0, "total_steps": 10}, "cooldown_start_fraction"),
    ("cooldown", {}, "total_steps"),
    ("cooldown", {"total_steps": 0}, "total_steps"),
    ("upsample-end", {"temperature": -1, "total_steps": 10}, "temperature"),
    ("upsample-end", {"final_fraction": 0.0, "total_steps": 10}, "final_fraction"),
    ("upsample-end", {"final_fraction": 1.0, "total_steps": 10}, "final_fraction"),
    ("upsample-end", {"factor": 0.5, "total_steps": 10}, "factor"),
    ("upsample-end", {"upsample_domains": ["zzz"], "total_steps": 10}, "upsample_domains"),
    ("upsample-end", {"upsample_domains": "a", "total_steps": 10}, "upsample_domains"),
    ("upsample-end", {"total_steps": 2.5}, "total_steps"),
    ("scalarization", {"temperature": 0}, "temperature"),
    ("target-only", {"target_arm": "zzz"}, "target_arm"),
    ("target-only", {"target_ratio": 5}, "target_ratio"),
    ("explore-only", {"target_ratio": 0}, "target_ratio"),
    ("explore-only", {"target_arm": "a0"}, "target_arm"),
    ("exploit-only", {"target_ratio": -5}, "target_ratio"),
    ("exploit-only", {"reward": "cos"}, "reward"),
    ("exploit-only", {"warm_start_rewards": [0.1]}, "warm_start_rewards"),
    ("exploit-only", {"warm_start_rewards": [0.1, float("inf")]}, "warm_start_rewards"),
])
def test_invalid_hyperparameters_name_the_field(name, kwargs, field):
    with pytest.raises(StrategyConfigError, match=f"^{field}:"):
        get_strategy_class(name)(ABT, [1, 2, 3], **kwargs)


def test_empty_corpus_is_rejected():
    with pytest.raises(StrategyConfigError, match="^sizes:"):
        get_strategy_class("scalarization")(AB, [0, 0])


# -- properties --------------------------------------------------------------------------------------
SCHEDULED = {"cooldown": {"schedule": "cosine"}, "upsample-end": {}, "scalarization": {}, "explore-only": {},
             "exploit-only": {"warm_start_rewards": [0.3, -0.2]}, "target-only": {}}


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(SCHEDULED)), sizes=st.lists(st.floats(0.0, 1e12), min_size=3, max_size=3),
       total=st.integers(1, 200), tau=st.floats(0.05, 100.0), seed=st.integers(0, 50))
def test_weights_are_distributions_and_state_round_trips(name, sizes, total, tau, seed):
    if sum(sizes) <= 0:
        sizes = [1.0, 0.0, 0.0]
    cls = get_strategy_class(name)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs = dict(SCHEDULED[name])
    kwargs.update({k: v for k, v in (("total_steps", total), ("start_temperature", tau),
                                     ("temperature", tau)) if k in fields})
    s = cls(ABT, sizes, seed=seed, **kwargs)
    for step in range(1, total + 1, max(1, total // 7)):
        w = s.current_weights(step)
        assert w.shape == (3,) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    s.plan(1, 2, 3)
    fresh = cls(ABT, sizes, seed=seed + 1, **kwargs)
    fresh.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert np.array_equal(fresh.plan(2, 4, 3), s.plan(2, 4, 3))


# -- recipes -----------------------------------------------------------------------------------------
# None: the capabilities decide where the recipe runs (see tests/test_matrix.py); "flad": it mixes the
# few-shot target in as an arm.
NEW_RECIPES = {"exp3": None, "exp3-flad": None, "exp3-flad-paper": None, "ucb1-flad": None,
               "ucb1-flad-paper": None, "explore-only": "flad", "exploit-only": "flad", "target-only": "flad",
               "cooldown": None, "upsample-end": None, "scalarization": None}


@pytest.mark.parametrize("recipe_name", sorted(NEW_RECIPES))
def test_recipe_loads_and_builds(recipe_name):
    recipe = load_recipe(recipe_name)
    assert recipe.get("applies_to") == NEW_RECIPES[recipe_name]
    assert recipe["description"] and recipe["source"]
    cls = get_strategy_class(recipe["strategy"])
    params = {k: resolve_mixture_reference(v, {"data": {}}, k) for k, v in recipe["hyperparameters"].items()}
    if "total_steps" in {f.name for f in dataclasses.fields(cls)}:
        params.setdefault("total_steps", 100)
    strategy = cls(ABT, [1, 2, 3], **params)
    unknown = set(recipe.get("search_space", {})) - {f.name for f in dataclasses.fields(cls)}
    assert not unknown, f"search_space names unknown hyperparameters {unknown}"
    if recipe_name == "exploit-only":
        strategy.set_warm_start_rewards([0.1, 0.2])
    if getattr(strategy, "warm_start", False):
        strategy.set_warm_start_rewards([0.1, 0.2, 0.3])
    assert strategy.plan(1, 2, 2).shape == (2, 2)
