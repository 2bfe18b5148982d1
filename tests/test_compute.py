"""Compute accounting: hand-computed FLOPs of tiny runs (uniform, DoReMi, FLAD bandits) and the
leaderboard's FLOPs column and --equal-compute comparison on fixture records."""

from argparse import Namespace

import pytest

from benchmark.compute import cumulative_flops, gpt_neox_params, record_flops
from benchmark.config import resolve_config
from benchmark.leaderboard import cmd_leaderboard_full, format_markdown, leaderboard_rows
from benchmark.leaderboard.equal_compute import format_flops, value_at_budget
from benchmark.pipelines.doremi import run_doremi
from benchmark.records import load_records
from benchmark.runner import execute, prepare_run

# conftest TINY: d = 32, 1 layer, I = 64, vocab V = 3 specials + 512 words = 515.
# layer = 4d² + 2dI + 9d + I = 4096 + 4096 + 288 + 64 = 8544
# N = layer + Vd (embedding) + 2d (final LN) + Vd (untied head) = 8544 + 16480 + 64 + 16480 = 41568
TINY_PARAMS = 41568
# 16 steps × batch 8 × grad_accum 1 × blocks of 128 + 1 tokens = 16512
TINY_TOKENS = 16512
TINY_TRAIN_FLOPS = 6 * 41568 * 16512          # = 4_118_224_896


def test_gpt_neox_params_by_hand():
    spec = {"hidden_size": 32, "num_layers": 1, "intermediate_size": 64}
    assert gpt_neox_params(spec, 515) == TINY_PARAMS
    assert gpt_neox_params({**spec, "tie_embeddings": True}, 515) == TINY_PARAMS - 16480   # one V×d matrix


def test_uniform_has_no_extras(tmp_path, tiny_overrides):
    record, _ = execute(prepare_run(resolve_config("embedded-pretrain", "uniform", 0, tiny_overrides), tmp_path),
                        tmp_path, progress=False, track=False)
    c = record["compute"]
    assert (c["steps"], c["train_tokens"], c["params"]) == (16, TINY_TOKENS, TINY_PARAMS)
    assert c["train_flops"] == TINY_TRAIN_FLOPS == 4_118_224_896
    assert c["extra_forward_tokens"] == c["extra_backward_tokens"] == c["extra_flops"] == c["probe_steps"] == 0
    assert c["extra_runs"] == [] and c["total_flops"] == TINY_TRAIN_FLOPS
    assert c["method_seconds"] == record["timing"]["strategy_seconds"]
    assert record_flops(record)["total"] == TINY_TRAIN_FLOPS and not record_flops(record)["estimated"]


def test_doremi_proxy_pays_reference_forward_and_main_run_pays_both_stages(tmp_path, tiny_overrides):
    config = resolve_config("embedded-pretrain", "doremi", 0, tiny_overrides)
    record, _ = run_doremi(prepare_run(config, tmp_path), tmp_path, progress=False, track=False)
    c = record["compute"]
    assert c["extra_forward_tokens"] == 0 and c["train_flops"] == TINY_TRAIN_FLOPS   # main: a fixed mixture
    reference, proxy = c["extra_runs"]
    assert (reference["kind"], proxy["kind"]) == ("doremi-reference", "doremi-proxy")
    assert reference["flops"] == 6 * TINY_PARAMS * TINY_TOKENS                      # = 4_118_224_896
    # proxy: training 6·N·D + the reference model's forward on every training token 2·N·D = 8·N·D
    assert proxy["flops"] == 8 * TINY_PARAMS * TINY_TOKENS == 5_490_966_528
    assert c["total_flops"] == 20 * TINY_PARAMS * TINY_TOKENS == 13_727_416_320    # 6 + 6 + 8
    proxy_record = load_records([tmp_path / "pipeline" / "records"])
    proxy_compute = next(r for r in proxy_record if r["method"] == "doremi-proxy")["compute"]
    assert proxy_compute["extra_forward_tokens"] == TINY_TOKENS and proxy_compute["extra_backward_tokens"] == 0


from tests.test_flad_runs import TINY as FLAD_TINY  # noqa: E402 — the same tiny FLAD config


def test_flad_bandits_count_gradient_probes(tmp_path, monkeypatch):
    from benchmark.flad.runner import run_flad
    from benchmark.training import gradient_capability as capability
    from benchmark.training.objectives import PromptedExamples

    # Record the tokens of every post-update target pass (the reward probe), independently of the
    # capability's own counter: the same batches as the pass that trained, at the new weights.
    probes, real_after = [], capability.GradientRewards._target_after

    def spy(self, module):
        batches = self.target.batches(self.passes)
        probes.append(PromptedExamples.tokens_of(module.objective, [x for b in batches for x in b]))
        return real_after(self, module)
    monkeypatch.setattr(capability.GradientRewards, "_target_after", spy)
    exp3, ucb1 = run_flad("embedded-flad", ["exp3-flad", "ucb1-flad"], seeds=[42], targets="tgt_c",
                          overrides=FLAD_TINY, output_dir=tmp_path)
    # d = 16, 1 layer, I = 32, V = 141: layer = 4·256 + 2·16·32 + 9·16 + 32 = 2224;
    # N = 2224 + 141·16 + 2·16 + 141·16 = 6768
    for record in (exp3, ucb1):
        assert record["compute"]["params"] == 6768
    c = exp3["compute"]
    # exp3-flad (target_gradient "after"): one probe over the 10-example target half after each of 4 updates
    assert len(probes) == 8 and c["extra_forward_tokens"] == c["extra_backward_tokens"] == sum(probes[:4]) > 0
    assert c["extra_flops"] == (2 + 4) * 6768 * c["extra_forward_tokens"]
    assert c["total_flops"] == 6 * 6768 * c["train_tokens"] + c["extra_flops"]
    u = ucb1["compute"]
    warm = next(r for r in u["extra_runs"] if r["kind"] == "warm_start")
    # ucb1-flad: the warm start's probes (target half + 8 examples of each arm) + the 4 per-update probes
    assert warm["flops"] == 0.0 and warm["tokens"] > 0
    assert u["extra_forward_tokens"] == sum(probes[4:]) + warm["tokens"]
    assert u["total_flops"] == 6 * 6768 * u["train_tokens"] + 6 * 6768 * u["extra_forward_tokens"]


def _fixture_records():
    from test_leaderboard import embedded_records
    return [r for r in embedded_records() if r["compute"]["steps"] == 30]


def test_backfilled_flops_of_fixture_records():
    # fixture model {"hidden_size": 32} lacks num_layers: params unknown → no FLOPs; give it the TINY model
    record = _fixture_records()[0]
    record["config"]["task"]["model"] = {"hidden_size": 32, "num_layers": 1, "intermediate_size": 64}
    flops = record_flops(record)
    assert flops["estimated"] and flops["params"] == TINY_PARAMS
    assert flops["total"] == 6 * TINY_PARAMS * 3840          # fixture: 30 steps × 8 × 16 = 3840 tokens
    assert cumulative_flops(record, 10) == flops["total"] / 3   # step 10 of 30, no extra runs


def test_leaderboard_flops_column_and_equal_compute(tmp_path, capsys):
    records = _fixture_records()
    for r in records:
        r["config"]["task"]["model"] = {"hidden_size": 32, "num_layers": 1, "intermediate_size": 64}
        r["compute"].pop("params", None)
    store = tmp_path / "records"
    store.mkdir()
    import json
    for r in records:
        (store / f"{r['run_id']}.json").write_text(json.dumps(r))
    rows = {r["method"]: r for r in leaderboard_rows(load_records([store]))}
    base = 6 * TINY_PARAMS * 3840                            # = 957_726_720 ≈ 9.6e8 per run
    assert rows["uniform"]["total FLOPs"]["mean"] == base
    # odm-code-tuned: + 8 sweep trials of 3840 tokens each = 9 × base
    assert rows["odm-code-tuned"]["total FLOPs"]["mean"] == 9 * base
    assert format_flops(9 * base) == "8.6e9" and "9.6e8" in format_markdown(list(rows.values()))
    # budget = the cheapest mean total (base); the tuned method's trials alone exceed it → no value
    at = rows["uniform"]["at budget"]
    assert at["budget"] == base and rows["odm-code-tuned"]["at budget"]["value"] is None
    uniform = next(r for r in records if r["method"] == "uniform" and r["seed"] == 0)
    assert value_at_budget(uniform, base) == pytest.approx(rows["uniform"]["at budget"]["value"]["values"][0])
    args = Namespace(paths=[store], sort_by="avg ppl", baseline="auto", output_dir=tmp_path / "board",
                     format="md,csv", no_plots=True, equal_compute=True)
    assert cmd_leaderboard_full(args) == 0
    out = capsys.readouterr().out
    assert "at equal compute (budget 9.6e8 FLOPs" in out and "FLOPs to baseline's final val ppl" in out
    assert "## At equal compute" in (tmp_path / "board" / "leaderboard.md").read_text()
    assert "total FLOPs mean" in (tmp_path / "board" / "leaderboard.csv").read_text()
