"""Methods over runs: RegMix's sampler, the regression + top-k choice, the mixing-law minimiser,
and a tiny RegMix end to end with its swarm on an Optuna study shared by two worker processes."""

import json

import numpy as np
import pytest

from benchmark.pipelines.mixing_laws import MixingLaws, minimise_on_simplex, predicted_loss
from benchmark.pipelines.mixture_sampling import SamplerOptions, draw, sample_swarm, strengths
from benchmark.pipelines.regmix import RegMix, fit_predictor, top_k_mixture

PRIOR = np.array([0.5, 0.3, 0.15, 0.05])


def test_sampler_statistics_follow_the_released_code():
    options = SamplerOptions()
    grid = strengths(options)
    assert len(grid) == 15 and grid[0] == pytest.approx(0.1) and grid[-1] == pytest.approx(5.0)
    x = draw(PRIOR, 20_000, np.random.default_rng(0), options)
    assert np.allclose(x.sum(axis=1), 1.0, atol=5e-3)
    assert (x <= np.minimum(PRIOR * 15, 1.0) + 1e-9).all()                 # maximum-usage bound
    assert np.allclose(x / 2e-4, np.round(x / 2e-4), atol=1e-6)           # multiples of the minimum
    tempered = PRIOR ** 0.5 / (PRIOR ** 0.5).sum()
    free = draw(PRIOR, 20_000, np.random.default_rng(0), SamplerOptions(maximum_usage=None, minimum=0))
    assert np.allclose(free.mean(axis=0), tempered, atol=0.01)            # unbounded: centred on the tempered prior
    assert x[:, 3].max() <= 0.75 < free[:, 3].max()                       # the bound truncates the small domain
    assert (x == 0).any(axis=1).mean() > 0.2                              # small strengths give sparse mixtures
    swarm = sample_swarm(PRIOR, 32, np.random.default_rng(1), options)
    assert swarm.shape == (32, 4) and len(np.unique(swarm.round(6), axis=0)) == 32
    again = sample_swarm(PRIOR, 32, np.random.default_rng(1), options)
    assert np.array_equal(swarm, again)                                   # seeded: the same swarm


def _quadratic_losses(mixtures, best):
    return ((mixtures - best) ** 2).sum(axis=1) + 2.0


@pytest.mark.parametrize("regressor", ["ridge", "lightgbm"])
def test_regression_and_top_k_find_the_known_best_mixture(regressor):
    rng = np.random.default_rng(0)
    mixtures = rng.dirichlet(np.ones(4), size=256)
    if regressor == "ridge":       # linear target: the best mixture is the corner of the cheapest domain
        y = mixtures @ np.array([3.0, 2.0, 1.0, 2.5])
        best = np.eye(4)[2]
    else:
        best = np.array([0.1, 0.2, 0.6, 0.1])
        y = _quadratic_losses(mixtures, best)
    predictor = fit_predictor(regressor, ("a", "b", "c", "d"), mixtures, y, seed=0)
    candidates = rng.dirichlet(np.ones(4), size=20_000)
    weights, predicted = top_k_mixture(predictor, candidates, 100)
    assert len(predicted) == 100 and weights.sum() == pytest.approx(1.0)
    assert np.abs(weights - best).sum() < (0.5 if regressor == "ridge" else 0.25)
    assert int(np.argmax(weights)) == 2


def test_regmix_choose_uses_the_target_domain():
    rng = np.random.default_rng(0)
    mixtures = rng.dirichlet(np.ones(3), size=128)
    losses = np.stack([3 - mixtures[:, 0], 3 - mixtures[:, 1], 3 - mixtures[:, 2]], axis=1)  # own data helps
    options = {**RegMix.defaults, "regressor": "ridge", "simulations": 5000, "top_k": 50}
    weights, fit = RegMix().choose(mixtures, losses, np.eye(3)[1], np.ones(3) / 3, options, seed=0)
    assert int(np.argmax(weights)) == 1 and fit["regressor"] == "ridge"


def test_mixing_law_minimiser_on_a_known_law():
    # two domains' laws pulling in different directions: the minimum is interior
    thetas = np.array([[1.0, 0.0, -2.0, 0.0, 0.0], [1.0, 0.0, 0.0, -3.0, 0.0], [0.5, 0.0, 0.0, 0.0, -1.0]])
    objective = np.ones(3) / 3
    weights, value = minimise_on_simplex(lambda r: predicted_loss(thetas, objective, r), [np.ones(3) / 3])
    grid = [np.array([a, b, 1 - a - b]) for a in np.linspace(0, 1, 201) for b in np.linspace(0, 1, 201) if a + b <= 1]
    brute = min(grid, key=lambda r: predicted_loss(thetas, objective, r)[0])
    assert np.abs(weights - brute).sum() < 0.02
    assert value <= predicted_loss(thetas, objective, brute)[0] + 1e-6


def test_mixing_laws_fit_and_choose_recover_the_optimum():
    rng = np.random.default_rng(0)
    thetas = np.array([[1.0, 0.0, -2.0, 0.0, 0.0], [1.0, 0.0, 0.0, -3.0, 0.0], [0.5, 0.0, 0.0, 0.0, -1.0]])
    mixtures = rng.dirichlet(np.ones(3), size=64)
    losses = np.stack([thetas[i, 0] + np.exp(thetas[i, 1] + mixtures @ thetas[i, 2:]) for i in range(3)], axis=1)
    objective = np.ones(3) / 3
    true_best, _ = minimise_on_simplex(lambda r: predicted_loss(thetas, objective, r), [np.ones(3) / 3])
    weights, fit = MixingLaws().choose(mixtures, losses, objective, np.ones(3) / 3, {"restarts": 3}, seed=0)
    assert fit["fit_rmse"] < 1e-3
    assert np.abs(weights - true_best).sum() < 0.02


@pytest.mark.slow
def test_tiny_regmix_end_to_end_on_a_shared_study(tmp_path, tiny_overrides):
    from benchmark.config import resolve_config
    from benchmark.pipelines.regmix import run_regmix
    from benchmark.runner import prepare_run

    config = resolve_config("embedded-pretrain", "regmix", 0, tiny_overrides + ["training.steps=8"])
    config.recipe["pipeline_options"].update(swarm_size=4, proxy_steps_fraction=0.5, simulations=2000, top_k=10)
    record, path = run_regmix(prepare_run(config, tmp_path), tmp_path, workers=2, progress=False, track=False)
    extra = record["compute"]["extra_runs"]
    assert len(extra) == 4 and all(e["kind"] == "swarm" and e["steps"] == 4 and e["tokens"] > 0 for e in extra)
    assert all(e["flops"] and not e["reused_from_cache"] for e in extra)
    for entry in extra:           # every proxy is an ordinary, completed record
        proxy = json.loads((tmp_path / "pipeline" / "records" / f"{entry['run_id']}.json").read_text())
        assert proxy["status"] == "completed" and proxy["strategy"] == "fixed" and proxy["pipeline_stage"] == "swarm"
    weights = record["regmix"]["weights"]
    assert set(weights) == set(record["mixture"]["domains"]) and sum(weights.values()) == pytest.approx(1)
    assert record["swarm"]["size"] == 4 and record["swarm"]["trained_now"] == 4
    assert record["compute"]["total_flops"] > record["compute"]["train_flops"]

    import optuna
    from benchmark.pipelines.swarm import default_storage
    assert record["swarm"]["storage"] == "sqlite:///<output-dir>/pipeline/swarms.db"   # no machine paths in records
    study = optuna.load_study(study_name=record["swarm"]["study"], storage=default_storage(tmp_path / "pipeline"))
    workers = {t.user_attrs["worker_pid"] for t in study.get_trials() if t.state.name == "COMPLETE"}
    assert len(study.get_trials()) == 4 and len(workers) == 2              # two processes shared the queue

    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "pipeline" / "records").glob("*.json")}
    again, _ = run_regmix(prepare_run(config, tmp_path), tmp_path, workers=2, progress=False, track=False)
    assert again["swarm"]["trained_now"] == 0 and all(e["reused_from_cache"] for e in again["compute"]["extra_runs"])
    assert again["regmix"]["weights"] == weights
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps               # no proxy retrained
