"""Every method on every benchmark it can serve: the capability matrix, the one-line refusals, and
cross-family runs end to end (ODM, EXP3, uniform on embedded-flad; the FLAD bandits on
embedded-pretrain with a target domain)."""

import json

import numpy as np
import pytest

from benchmark.capabilities import Capability
from benchmark.capabilities.matrix import cell, format_matrix, pretrain_offers, recipe_needs
from benchmark.cli import main
from benchmark.config import ConfigError, load_recipe, load_task, resolve_config
from benchmark.runner import execute, prepare_run
from tests.conftest import TINY
from tests.test_flad_runs import TINY as FLAD_TINY


def test_matrix_cells_say_where_each_method_runs_and_why_not():
    flad, pretrain = load_task("embedded-flad"), load_task("embedded-pretrain")
    for method in ("odm-code", "exp3", "uniform", "exp3-flad", "ucb1-flad", "target-only"):
        assert cell(load_recipe(method), flad) == "yes", method
    for method in ("exp3-flad", "ucb1-flad"):
        assert cell(load_recipe(method), pretrain) == "with --target"
    assert cell(load_recipe("doremi"), flad) == "no: needs reference model, runs over runs"
    assert cell(load_recipe("regmix"), flad) == "no: needs runs over runs"
    assert cell(load_recipe("target-only"), pretrain) == "no: it mixes the few-shot target in as an arm"
    assert cell(load_recipe("the-pile-weights"), flad) == "no: a published mixture over the Pile's domains"
    assert recipe_needs(load_recipe("ucb1-flad")) == {Capability.GRADIENT_REWARDS, Capability.WARM_START_REWARDS}
    assert Capability.GRADIENT_REWARDS not in pretrain_offers(False) <= pretrain_offers(True)
    # per-domain gradients (DGA, DoGE): always on pre-training, the target's gradient with --target
    assert (cell(load_recipe("dga"), pretrain), cell(load_recipe("doge"), pretrain)) == ("with --target", "yes")
    assert cell(load_recipe("doge-ood"), pretrain) == "with --target"
    assert cell(load_recipe("dga"), flad) == "yes"
    assert cell(load_recipe("doge"), flad) == "no: needs runs over runs"
    table = format_matrix({"uniform": load_recipe("uniform")}, {"embedded-flad": flad})
    assert table.splitlines()[-1] == "| uniform | yes |"


def test_list_matrix_prints_the_table(capsys):
    assert main(["list", "--matrix"]) == 0
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()}
    assert "| exp3-flad |" in rows["exp3-flad"] + " |" and "with --target" in rows["exp3-flad"]


def test_refusals_name_the_missing_capability(tmp_path):
    with pytest.raises(ConfigError, match=r"'exp3-flad' needs gradient rewards, which task 'embedded-pretrain' "
                                          r"does not offer \(give the task a target: --target DOMAIN\)"):
        prepare_run(resolve_config("embedded-pretrain", "exp3-flad", 0, TINY), tmp_path)
    with pytest.raises(ConfigError, match="data.target.domain: 'nope' is not a domain"):
        prepare_run(resolve_config("embedded-pretrain", "exp3-flad", 0, TINY, target="nope"), tmp_path)


@pytest.mark.parametrize("method", ["odm-code", "exp3", "uniform"])
def test_pretraining_methods_run_on_embedded_flad_with_the_target_as_an_arm(tmp_path, method):
    argv = ["run", "--task", "embedded-flad", "--method", method, "--target", "tgt_c", "--seed", "42",
            "--output-dir", str(tmp_path), "--no-tracking", "--no-progress"]
    assert main(argv + [a for item in FLAD_TINY for a in ("--set", item)]) == 0
    (path,) = (tmp_path / "records").glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "completed" and record["flad"]["mode"] == "mixed"
    assert record["mixture"]["domains"][-1] == "target" and 0.0 <= record["final"]["test"]["acc"] <= 1.0
    assert np.allclose([sum(w) for w in record["mixture"]["weights"]], 1.0)


@pytest.mark.parametrize("method", ["exp3-flad", "ucb1-flad"])
def test_flad_bandits_run_on_embedded_pretrain_given_a_target_domain(tmp_path, method):
    config = resolve_config("embedded-pretrain", method, 0, TINY + ["training.warm_start_examples=8"], target="code")
    assert config.task["data"]["target"] == {"domain": "code", "blocks": 16}
    prepared = prepare_run(config, tmp_path)
    code = prepared.data.domains.index("code")
    full = prepare_run(resolve_config("embedded-pretrain", "uniform", 0, TINY), tmp_path / "plain").data
    assert len(prepared.data.train_blocks[code]) == len(full.train_blocks[code]) - 16   # held out of training
    np.testing.assert_array_equal(prepared.target_blocks, full.train_blocks[code][-16:])
    record, _ = execute(prepared, tmp_path, progress=False, track=False)
    assert record["status"] == "completed" and record["data_manifest"]["target"]["domain"] == "code"
    rewards = record["mixture"]["rewards"]
    assert rewards is not None and np.isfinite(np.asarray(rewards[-1], dtype=float)).all()
    compute = record["compute"]
    assert compute["extra_forward_tokens"] > 0 and compute["total_flops"] > compute["train_flops"]
    if method == "ucb1-flad":
        assert [r["kind"] for r in compute["extra_runs"]] == ["warm_start"]


def test_dga_runs_on_embedded_flad_aligning_every_arm_with_the_few_shot_target(tmp_path):
    """DGA on a FLAD task: the target is one more arm (trained on like any arm), every arm's batch
    gradient is compared with the gradient of the target's training half; the passes are charged."""
    argv = ["run", "--task", "embedded-flad", "--method", "dga", "--target", "tgt_c", "--seed", "42",
            "--output-dir", str(tmp_path), "--no-tracking", "--no-progress", "--set", "method.update_every=2"]
    assert main(argv + [a for item in FLAD_TINY for a in ("--set", item)]) == 0
    (path,) = (tmp_path / "records").glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "completed" and record["mixture"]["domains"][-1] == "target"
    weights = np.asarray(record["mixture"]["weights"])
    assert np.allclose(weights.sum(axis=1), 1.0) and not np.allclose(weights[-1], weights[0])   # it moved
    compute = record["compute"]
    assert compute["extra_forward_tokens"] > 0 and compute["extra_forward_tokens"] == compute["extra_backward_tokens"]
