"""DoReMi: the Group DRO update by hand, and the three-run pipeline with its cache."""

import json
import math

import numpy as np
import pytest

from benchmark.config import resolve_config
from benchmark.pipelines.doremi import run_doremi
from benchmark.runner import prepare_run
from benchmark.strategies import DomainStats, StrategyConfigError, get_strategy_class


def test_group_dro_update_by_hand():
    proxy = get_strategy_class("doremi-proxy")(["a", "b"], [1, 1], step_size=1.0, smoothing=0.1)
    stats = DomainStats.zeros(2)
    stats.tokens[:] = [10, 10]
    stats.excess_loss_sum = np.array([5.0, 0.0])          # λ = [0.5, 0.0]
    proxy.update(1, stats)
    e = math.exp(0.5)
    raw = [0.5 * e / (0.5 * e + 0.5), 0.5 / (0.5 * e + 0.5)]   # α·exp(ηλ), normalised
    alpha = [0.9 * x + 0.1 / 2 for x in raw]                    # smoothed with c = 0.1
    assert np.allclose(proxy.alpha, alpha)
    assert np.allclose(proxy.average_weights(), alpha)
    assert np.allclose(proxy.loss_weights(np.array([0, 1, 0])), [2 * alpha[0], 2 * alpha[1], 2 * alpha[0]])
    assert np.allclose(proxy.current_weights(2), [0.5, 0.5])   # the proxy samples uniformly
    with pytest.raises(StrategyConfigError, match="^smoothing"):
        get_strategy_class("doremi-proxy")(["a"], [1], smoothing=2.0)


def test_pipeline_runs_reference_proxy_main_and_reuses_its_stages(tmp_path, tiny_overrides):
    config = resolve_config("embedded-pretrain", "doremi", 0, tiny_overrides)
    record, path = run_doremi(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    weights = record["doremi"]["weights"]
    assert set(weights) == set(record["mixture"]["domains"]) and sum(weights.values()) == pytest.approx(1)
    assert record["mixture"]["weights"][-1] == pytest.approx([weights[d] for d in record["mixture"]["domains"]])
    kinds = [e["kind"] for e in record["compute"]["extra_runs"]]
    assert kinds == ["doremi-reference", "doremi-proxy"]
    assert all(e["steps"] == 16 and not e["reused_from_cache"] for e in record["compute"]["extra_runs"])
    stages = [json.loads(p.read_text()) for p in (tmp_path / "pipeline" / "records").glob("*.json")]
    assert sorted(s["pipeline_stage"] for s in stages) == ["doremi-proxy", "doremi-reference"]
    assert record["config_hash"] == config.config_hash        # seeds of DoReMi group together

    again, _ = run_doremi(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    assert all(e["reused_from_cache"] for e in again["compute"]["extra_runs"])
    assert again["doremi"]["weights"] == weights
