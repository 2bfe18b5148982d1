"""Decision consistency: Kendall τ between two benchmarks' method rankings, the pairs that flip, and
the leaderboard's --consistency section."""

from argparse import Namespace

import pytest
from scipy import stats

from benchmark.leaderboard import cmd_leaderboard_full, leaderboard_rows
from benchmark.leaderboard.consistency import compare_rankings, decision_consistency
from tests.test_leaderboard import KNOWN, SEEDS, make_record, write_store


def _shifted(known: dict, avg: list[float]) -> dict:
    return {**known, "avg": avg}


# mini-pile: uniform best, odm-code second, proportional third; embedded: odm-code < uniform < proportional
OTHER = {"uniform": [30.0, 31.0, 29.0], "odm-code": [33.0, 32.0, 34.0], "proportional": [35.0, 36.0, 37.0],
         "exp3": [50.0, 51.0, 49.0]}


def _records() -> list[dict]:
    records = [make_record("embedded-pretrain", m, s, KNOWN[m]) for m in KNOWN for s in SEEDS]
    records += [make_record("mini-pile", m, s, _shifted(KNOWN["uniform"], avg)) for m, avg in OTHER.items()
                for s in SEEDS]
    return records


def test_tau_and_flipped_pairs_over_shared_methods():
    (result,) = decision_consistency(leaderboard_rows(_records()))
    assert (result["a"], result["b"]) == ("embedded-pretrain", "mini-pile")
    assert result["methods"] == ["odm-code", "proportional", "uniform"]           # exp3 only on one side
    embedded = [sum(KNOWN[m]["avg"]) / 3 for m in result["methods"]]
    mini = [sum(OTHER[m]) / 3 for m in result["methods"]]
    assert result["tau"] == pytest.approx(stats.kendalltau(embedded, mini)[0])
    assert result["flips"] == [("odm-code", "uniform")]                         # better on embedded, worse on mini


def test_higher_is_better_metrics_order_pairs_the_other_way():
    result = compare_rankings({"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 0.4, "b": 0.6, "c": 0.1}, lower_is_better=False)
    assert result["flips"] == [("a", "b")] and result["tau"] == pytest.approx(1 / 3)
    assert compare_rankings({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}) is None  # fewer than 3 shared methods


def test_leaderboard_consistency_section(tmp_path, capsys):
    store = write_store(tmp_path / "records", _records())
    args = Namespace(paths=[store], sort_by="avg ppl", baseline="auto", output_dir=tmp_path / "out", format="md",
                     no_plots=True, equal_compute=False, consistency=True, mlflow_url=None, strict=False)
    assert cmd_leaderboard_full(args) == 0
    assert "| embedded-pretrain | mini-pile | avg ppl | 3 | +0.333 |" in capsys.readouterr().out
    markdown = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## Decision consistency" in markdown and "odm-code > uniform" in markdown
