"""ADO: the power-law fit, the policy by hand, checkpoints, hyperparameter errors, end to end."""

import math

import numpy as np
import pytest

from benchmark.strategies import DomainStats, StrategyConfigError, get_strategy_class
from benchmark.strategies.power_law import fit_power_law, predict, smooth_losses

from tests.resume_check import assert_resume_equivalent

DOMAINS = ["a", "b", "c"]
SIZES = [100, 300, 600]          # proportional prior μ = [0.1, 0.3, 0.6]


def stats(sequences, losses=(3.0, 3.0, 3.0)):
    s = DomainStats.zeros(len(sequences))
    s.sequences[:] = sequences
    s.tokens[:] = np.asarray(sequences, dtype=float) * 10
    s.token_loss_sum[:] = np.asarray(losses) * s.tokens
    return s


def ado(**kwargs):
    return get_strategy_class("ado")(DOMAINS, SIZES, **kwargs)


@pytest.mark.parametrize("theta", [(math.log(8.0), math.log(2.0), 0.3), (math.log(3.0), math.log(0.4), 0.5),
                                   (math.log(50.0), math.log(1.8), 0.7)])
def test_fit_recovers_known_parameters(theta):
    n = np.arange(100, 5000, 50.0)
    fitted = fit_power_law(n, predict(np.array(theta), n), irreducible_floor=0.1)
    assert fitted == pytest.approx(theta, abs=2e-3)


def test_fit_floor_on_epsilon_is_the_codes_default():
    # ε = 0.4 lies below the released code's soft bound e^0.5 ≈ 1.65: the fit is pushed up to it.
    n = np.arange(100, 5000, 50.0)
    fitted = fit_power_law(n, predict(np.array([math.log(3.0), math.log(0.4), 0.5]), n))
    assert fitted[1] == pytest.approx(0.5, abs=1e-3)


def test_smoothing_keeps_a_cubic_and_shrinks_its_window():
    t = np.arange(30.0)[:, None]
    cubic = 0.001 * t ** 3 - 0.02 * t ** 2 + t
    assert smooth_losses(cubic, 101) == pytest.approx(cubic)   # window 101 → 29 for 30 rows; exact on a cubic
    assert smooth_losses(cubic[:3], 101) == pytest.approx(cubic[:3])   # too short: returned as is


def test_refit_inside_the_strategy_recovers_exact_curves():
    # Every step draws 4 sequences, so on the total axis n = 4t; each domain's loss is its law at n.
    truth = np.array([[math.log(6.0), math.log(2.0), 0.4], [math.log(2.0), math.log(1.0), 0.2],
                      [math.log(9.0), math.log(3.0), 0.6]])
    s = ado(warmup_steps=0, start_step=1, fit_interval=40, fit_subsample=1, smoothing_window=0,
            irreducible_floor=0.5)
    for t in range(1, 41):
        s.update(t, stats([1, 1, 2], predict(truth, 4.0 * t)))
    assert s.fits == 1
    assert s.params == pytest.approx(truth, abs=5e-3)


def test_policy_by_hand_for_three_updates():
    # Fit mocked: L̂_a = 1 + 2/n (α=1), L̂_b = 1 + 1/n (α=1), L̂_c = 1 + n^0 (α=0, bounded to 0.05 in
    # the slope), so the learning speeds are 2/n², 1/n², 0.05·1/n.
    s = ado(start_step=1, fit_interval=10**6, credit_smoothing=0.5, credit_exponent=1.0, policy_mix=0.5,
            min_probability=0.2)
    s.params = np.array([[math.log(2.0), 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert s.current_weights(1) == pytest.approx([0.1, 0.3, 0.6])           # π(1) = μ

    s.update(1, stats([1, 1, 2]))
    # n = 4. h = 0.5·μ + 0.5·[.25,.25,.5] = [0.175, 0.275, 0.55]; speed = [2/16, 1/16, 0.05/4]
    # raw = speed·μ·h = [0.0021875, 0.00515625, 0.004125], Σ = 0.01146875 → [0.190736, 0.449591, 0.359673]
    # floor 0.2: [0.2, 0.449591, 0.359673]/1.009264 = ρ = [0.198164, 0.445464, 0.356372]
    # π(2) = 0.5·μ + 0.5·ρ = [0.149082, 0.372732, 0.478186]; π̄ = (1−1)·μ + ρ/1 = ρ
    assert s.credit == pytest.approx([0.175, 0.275, 0.55])
    assert s.preference == pytest.approx([0.198164, 0.445464, 0.356372], abs=1e-5)
    assert s.current_weights(2) == pytest.approx([0.149082, 0.372732, 0.478186], abs=1e-5)

    s.update(2, stats([0, 2, 2]))
    # n = 8. h = 0.5·[0.175,0.275,0.55] + 0.5·[0,.5,.5] = [0.0875, 0.3875, 0.525]; speed = [2/64, 1/64, 0.05/8]
    # raw = [0.03125·0.1·0.0875, 0.015625·0.3·0.3875, 0.00625·0.6·0.525] = [0.00027344, 0.00181641, 0.00196875]
    # normalised [0.067372, 0.447546, 0.485082]; floor → [0.2, 0.447546, 0.485082]/1.132628
    # ρ = [0.176581, 0.395139, 0.428280]; π(3) = 0.5·π̄ + 0.5·ρ = [0.187372, 0.420302, 0.392326]
    # π̄ = 0.5·π̄ + 0.5·ρ = π(3)
    assert s.credit == pytest.approx([0.0875, 0.3875, 0.525])
    assert s.preference == pytest.approx([0.176581, 0.395139, 0.428280], abs=1e-5)
    assert s.current_weights(3) == pytest.approx([0.187372, 0.420302, 0.392326], abs=1e-5)

    s.update(3, stats([2, 1, 1]))
    # n = 12. h = 0.5·[0.0875,0.3875,0.525] + 0.5·[.5,.25,.25] = [0.29375, 0.31875, 0.3875]
    # speed = [2/144, 1/144, 0.05/12] = [0.0138889, 0.0069444, 0.0041667]
    # raw = [0.00040799, 0.00066406, 0.00096875] → [0.199915, 0.325393, 0.474692]; floor → 0.2, Σ = 1.000085
    # ρ = [0.199983, 0.325366, 0.474651]; π(4) = 0.5·π̄ + 0.5·ρ = [0.193678, 0.372834, 0.433489]
    # π̄ = (2/3)·π̄ + ρ/3 = [0.191576, 0.388657, 0.419768]
    assert s.credit == pytest.approx([0.29375, 0.31875, 0.3875])
    assert s.preference == pytest.approx([0.199983, 0.325366, 0.474651], abs=1e-5)
    assert s.current_weights(4) == pytest.approx([0.193678, 0.372834, 0.433489], abs=1e-5)
    assert s.policy_avg == pytest.approx([0.191576, 0.388657, 0.419768], abs=1e-5)


def test_paper_credit_and_domain_axis_options():
    s = ado(start_step=1, fit_interval=10**6, credit_source="policy", sample_axis="domain")
    s.update(1, stats([1, 0, 3]))
    # paper: h = 0.9·μ + 0.1·π(1) with π(1) = μ → h stays μ; domain axis: n = own samples
    assert s.credit == pytest.approx([0.1, 0.3, 0.6])
    s.update(2, stats([2, 1, 1]))
    assert np.asarray(s.counts).sum(axis=0) == pytest.approx([3, 1, 4])
    s.params = np.array([[0.0, 0.0, 1.0]] * 3)
    # speed = α·(L̂−ε)/n = 1·(1/n)/n = 1/n² → [1/9, 1, 1/16]
    assert s.learning_speed() == pytest.approx([1 / 9, 1.0, 1 / 16])


def test_no_policy_before_start_step_or_first_fit():
    s = ado(start_step=5, fit_interval=5, warmup_steps=0, fit_subsample=1, smoothing_window=0)
    for t in range(1, 5):
        s.update(t, stats([1, 1, 2], [3.0 / t ** 0.3, 2.0 / t ** 0.2, 4.0 / t ** 0.5]))
        assert s.current_weights(t + 1) == pytest.approx([0.1, 0.3, 0.6])
    s.update(5, stats([1, 1, 2], [2.0, 1.5, 2.0]))
    assert s.fits == 1 and not np.allclose(s.current_weights(6), [0.1, 0.3, 0.6])


def test_state_dict_round_trip_gives_the_same_future():
    def feed(strategy, t):
        rng = np.random.default_rng(t)
        strategy.plan(t, 2, 4)
        strategy.update(t, stats(rng.integers(0, 4, 3) + 1, 3.0 * t ** -0.3 + rng.random(3) * 0.1))

    kwargs = dict(warmup_steps=2, start_step=4, fit_interval=4, fit_subsample=1, smoothing_window=5, fit_starts=2)
    a = ado(seed=3, **kwargs)
    for t in range(1, 9):
        feed(a, t)
    b = ado(seed=99, **kwargs)
    b.load_state_dict(a.state_dict())
    for t in range(9, 17):
        assert np.array_equal(a.plan(t, 2, 4), b.plan(t, 2, 4))
        feed(a, t)
        feed(b, t)
    assert a.fits == b.fits == 4
    assert np.array_equal(a.current_weights(17), b.current_weights(17))


@pytest.mark.parametrize("kwargs, field", [
    ({"fit_interval": 0}, "fit_interval"), ({"warmup_steps": -1}, "warmup_steps"),
    ({"start_step": 1.5}, "start_step"), ({"smoothing_window": 50}, "smoothing_window"),
    ({"fit_starts": 513}, "fit_starts"), ({"sample_axis": "tokens"}, "sample_axis"),
    ({"credit_source": "loss"}, "credit_source"), ({"credit_smoothing": 1.5}, "credit_smoothing"),
    ({"policy_mix": -0.1}, "policy_mix"), ({"min_probability": 0.5}, "min_probability"),
    ({"credit_exponent": -1}, "credit_exponent"), ({"irreducible_floor": 0}, "irreducible_floor"),
    ({"prior": "zipf"}, "prior"),
])
def test_bad_hyperparameters_name_the_field(kwargs, field):
    with pytest.raises(StrategyConfigError, match=f"^{field}"):
        ado(**kwargs)


def test_resume_equivalent_and_mixture_moves(tmp_path, tiny_overrides):
    overrides = tiny_overrides + ["method.warmup_steps=2", "method.start_step=4", "method.fit_interval=4",
                                  "method.smoothing_window=5", "method.fit_starts=2"]
    record = assert_resume_equivalent(tmp_path, "ado", overrides)
    assert record["status"] == "completed"
    weights = np.asarray(record["mixture"]["weights"])
    assert not np.allclose(weights[0], weights[-1])
