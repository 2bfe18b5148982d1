"""The FLAD table: mean ± std over splits, each method's rank on every split seed with the mean
Kendall τ between splits, and the transient arms' mass early and late in training."""

import pytest
from scipy import stats

from benchmark.flad import flad_table, format_flad_table

ACC = {"a": [0.9, 0.8, 0.85], "b": [0.7, 0.85, 0.6], "c": [0.5, 0.55, 0.4]}   # per split seed (both targets)
SEEDS = [42, 100, 222]


def _record(method: str, target: str, seed: int) -> dict:
    acc = ACC[method][SEEDS.index(seed)]
    return {"status": "completed", "task": "embedded-flad", "method": method, "method_variant": {}, "target": target,
            "seed": seed, "created_unix": 1.0,
            "final": {"test": {"acc": acc, "protocol": "t0_rank", "by_protocol": {}}},
            "compute": {"steps": 100}, "timing": {"train_seconds": 1.0, "reward_share": 0.0},
            "flad": {"best_step": 50, "helpful_mass": [0.1, 0.5], "helpful_mass_uniform": 0.1,
                     "helpful_drawn": [0.1, 0.5], "harmful_mass": [0.0, 0.0],
                     "transient_mass": [0.4, 0.2, 0.1, 0.0] if method == "a" else [0.1] * 4,
                     "arm_roles": {"aux_00": "helpful", "aux_01": "transient", "aux_02": "neutral"}}}


def test_split_ranks_tau_and_transient_mass():
    records = [_record(m, t, s) for m in ACC for t in ("tgt_a", "tgt_b") for s in SEEDS]
    rows = {r["method"]: r for r in flad_table(records)}
    assert rows["a"]["split_ranks"] == {42: 1.0, 100: 2.0, 222: 1.0}
    assert rows["b"]["split_ranks"] == {42: 2.0, 100: 1.0, 222: 2.0}
    taus = [stats.kendalltau([ACC[m][i] for m in ACC], [ACC[m][j] for m in ACC])[0] for i, j in ((0, 1), (0, 2), (1, 2))]
    assert rows["a"]["split_tau"] == pytest.approx(sum(taus) / 3)
    assert rows["a"]["transient_mass"] == pytest.approx({"early": 0.3, "late": 0.05})
    table = format_flad_table(list(rows.values()))
    assert "| a | 85.0 ± 5.0 |" in table and "| 1–2 |" in table and "30.0% → 5.0%" in table
    assert f"mean Kendall τ = {sum(taus) / 3:.2f}" in table


def test_without_transient_arms_the_column_is_left_out():
    records = [_record(m, "tgt_a", s) for m in ACC for s in SEEDS]
    for r in records:
        r["flad"]["arm_roles"] = {"aux_00": "helpful"}
    assert "transient" not in format_flad_table(flad_table(records))
