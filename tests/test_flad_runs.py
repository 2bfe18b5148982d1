"""Short FLAD runs on the embedded benchmark: the five methods end to end, the reward mechanics
checked against independently computed LM-head gradients, and bad input."""

import numpy as np
import pytest
import torch

from benchmark.config import ConfigError
from benchmark.capabilities.gradient_rewards import flad_reward
from benchmark.flad.runner import resolve_flad_config, run_flad
from benchmark.records import load_records

TINY = [
    "training.steps=4", "training.grad_accum=2", "training.batch_size=4", "training.eval_every=2",
    "training.log_every=1", "training.warm_start_examples=8", "training.eval_batch_size=16",
    "model.hidden_size=16", "model.num_heads=2", "model.intermediate_size=32", "model.num_layers=1",
    "model.pretrain={steps: 2, batch_size: 4}", "data.arm_size=[20, 40]", "data.target_pool=80",
    "data.test_size=12", "data.neutral_classification=2", "data.neutral_generative=1", "data.pretrain_sequences=40",
]
METHODS = ["target-only", "explore-only", "exploit-only", "exp3-flad", "ucb1-flad"]
RECORD_KEYS = {"schema", "run_id", "status", "task", "method", "strategy", "method_variant", "seed", "config",
               "config_hash", "versions", "git_commit", "data_manifest", "curves", "mixture", "final", "downstream",
               "timing", "compute", "created_unix"}


def test_five_methods_short_runs_and_records(tmp_path):
    records = run_flad("embedded-flad", METHODS, seeds=[42], targets="tgt_c", overrides=TINY, output_dir=tmp_path)
    assert [r["method"] for r in records] == METHODS
    arms = records[0]["data_manifest"]["arms"]
    assert len(arms) == 4 * 5 + 3      # 4 targets × (3 helpful + 1 harmful + 1 transient) + 3 neutral
    for record in records:
        assert RECORD_KEYS <= set(record) and record["status"] == "completed"
        assert record["target"] == "tgt_c" and "tgt_c" in record["run_id"]
        test = record["final"]["test"]
        assert test["protocol"] == "t0_rank" and 0.0 <= test["acc"] <= 1.0 and test["n"] == 12
        assert set(test["by_protocol"]) == {"t0_rank", "lm_eval_acc"}
        assert record["downstream"]["tgt_c"]["acc"] == test["acc"]
        assert set(record["mixture"]) >= {"domains", "steps", "weights", "rewards"}
        assert {"wall_seconds", "train_seconds", "strategy_seconds", "strategy_share", "eval_seconds"} <= set(record["timing"])
        assert record["compute"]["steps"] == 4 and record["compute"]["train_tokens"] > 0
        flad = record["flad"]
        assert len(flad["helpful_mass"]) == len(record["mixture"]["steps"]) == len(record["mixture"]["weights"])
        assert all(0.0 <= m <= 1.0 for m in flad["helpful_mass"])
        assert sum(role == "helpful" for role in flad["arm_roles"].values()) == 3
        assert record["curves"]["eval_steps"] == [2, 4]
    by_method = {r["method"]: r for r in records}
    bandits = [by_method["exp3-flad"], by_method["ucb1-flad"]]
    for record in bandits:
        assert record["flad"]["mode"] == "bandit" and "target" not in record["mixture"]["domains"]
        assert record["flad"]["reward"] == "agg" and record["mixture"]["rewards"] is not None
        assert record["timing"]["reward_seconds"] > 0
    target_only = by_method["target-only"]
    assert target_only["mixture"]["domains"][-1] == "target"
    assert all(w[-1] == 1.0 for w in target_only["mixture"]["weights"]) and target_only["flad"]["helpful_mass"] == [0.0] * 4
    for name in ("ucb1-flad", "exploit-only"):
        warm = by_method[name]["flad"]["warm_start_rewards"]
        assert set(warm) == set(arms) and all(set(v) == {"ga", "gms", "agg"} for v in warm.values())
        assert any(e["kind"] == "warm_start" for e in by_method[name]["compute"]["extra_runs"])
    # UCB1 and Exploit-Only share the cached warm start of this (model, target, split).
    assert by_method["exploit-only"]["flad"]["warm_start_rewards"] == by_method["ucb1-flad"]["flad"]["warm_start_rewards"]
    assert [e["cached"] for e in by_method["ucb1-flad"]["compute"]["extra_runs"] if e["kind"] == "warm_start"] == [True]
    stored = load_records([tmp_path / "records"])
    assert sorted(r["run_id"] for r in stored) == sorted(r["run_id"] for r in records)


@pytest.mark.parametrize("target_gradient", ["after", "before"])
def test_rewards_use_the_lm_head_gradient_change_of_each_round(tmp_path, monkeypatch, target_gradient):
    """Through the Lightning path: the per-arm auxiliary gradient = the LM-head gradient of that arm's
    micro-batches (token-mean loss / G, mean over the arm's micro-batches), the target gradient = the
    LM-head gradient of the target pass (Σ over its batches of batch mean / G) after (code) or before
    (paper) the update, and the reward is flad_reward of the two — recomputed here from scratch."""
    from benchmark.config import build_strategy  # noqa: F401 — the strategy comes from prepare_run
    from benchmark.runner import execute, prepare_run
    from benchmark.training import gradient_capability as capability

    config = resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_a", TINY + [
        "training.steps=1", "training.eval_every=1", f"method.target_gradient={target_gradient}",
        "training.grad_clip=0", "method.reward=ga"])
    run = prepare_run(config, tmp_path)
    served, passes, captured = [], [], []
    real_batches, real_reward = capability.TargetBatches.batches, capability.flad_reward
    monkeypatch.setattr(capability.TargetBatches, "batches",
                        lambda self, *a: passes.append(real_batches(self, *a)) or passes[-1])
    monkeypatch.setattr(capability, "flad_reward",
                        lambda a, t, k: captured.append((a.clone(), t.clone(), k)) or real_reward(a, t, k))
    real_prepare = run.fit_parts

    def parts_with_spy(reference_model=None):
        parts = real_prepare(reference_model)
        serve = parts.datamodule.serve
        parts.datamodule.serve = lambda *a: served.append(serve(*a)) or served[-1]
        return parts
    monkeypatch.setattr(run, "fit_parts", parts_with_spy)
    execute(run, tmp_path, progress=False, track=False)
    initial, after = run.base_state, {k: v.clone() for k, v in run.bundle.model.state_dict().items()}
    model, objective = run.bundle.model, run.objective()

    def head_grad(state, examples):
        model.load_state_dict(state)
        model.zero_grad(set_to_none=True)
        (objective(model, {"examples": examples, "domain": torch.zeros(len(examples), dtype=torch.long)},
                   torch.device("cpu")).loss / 2).backward()
        return run.bundle.lm_head.grad.detach().clone()

    per_arm: dict[int, list[torch.Tensor]] = {}
    for batch in served:
        per_arm.setdefault(int(batch["domain"][0]), []).append(head_grad(initial, batch["examples"]))
    target_pass = passes[0]
    expected_target = sum(head_grad(initial if target_gradient == "before" else after, b) for b in target_pass)
    assert len(captured) == len(per_arm)
    for (aux, tgt, kind), domain in zip(captured, sorted(per_arm)):
        assert kind == "ga"
        torch.testing.assert_close(aux, torch.stack(per_arm[domain]).mean(0), rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(tgt, expected_target, rtol=1e-4, atol=1e-7)
    pulled = sorted(per_arm)
    expected = [flad_reward(torch.stack(per_arm[d]).mean(0), expected_target, "ga") for d in pulled]
    np.testing.assert_allclose(np.asarray(run.strategy.cumulative_reward)[pulled] * (1.0 / len(run.domains)),
                               expected, rtol=1e-4, atol=1e-6)


def test_bad_input_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match="allowed: all, tgt_a"):
        run_flad("embedded-flad", "exp3-flad", seeds=[42], targets="rte", overrides=TINY, output_dir=tmp_path)
    with pytest.raises(ConfigError, match="training.optimizer: must be adafactor or adamw"):
        resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_a", ["training.optimizer=sgd"])
    with pytest.raises(ConfigError, match="training.nonsense: unknown key"):
        resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_a", ["training.nonsense=1"])
    with pytest.raises(ConfigError, match=r"applies to pretrain tasks \(a published mixture over the Pile's"):
        resolve_flad_config("embedded-flad", "the-pile-weights", 42, "tgt_a")
    with pytest.raises(ConfigError, match="'doremi' needs reference model, runs over runs, which FLAD task"):
        run_flad("embedded-flad", "doremi", seeds=[42], targets="tgt_a", overrides=TINY, output_dir=tmp_path)
    with pytest.raises(ConfigError, match="not a flad task"):
        resolve_flad_config("embedded-pretrain", "exp3-flad", 42, "tgt_a")
    with pytest.raises(ConfigError, match="evaluation.protocol: must be one of"):
        resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_a", ["evaluation.protocol=acc_norm"])
    a = resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_a")
    b = resolve_flad_config("embedded-flad", "exp3-flad", 100, "tgt_a")
    c = resolve_flad_config("embedded-flad", "exp3-flad", 42, "tgt_b")
    assert a.config_hash == b.config_hash != c.config_hash and a.run_id != b.run_id


@pytest.mark.slow
def test_greedy_ucb1_finds_the_helpful_arms(tmp_path):
    """On the embedded benchmark (its default budget, one split), UCB1-FLAD as the paper describes it
    (greedy argmax, target gradient before the update): the warm-start rewards rank the arms sharing
    the target's verbalizers (helpful and harmful) above the neutral ones; after training its reward
    estimates put the helpful arms above both, and its late sampling mass on them is several times the uniform share."""
    # (the transient arm also shares the verbalizers; it is left out of these group comparisons)
    (record,) = run_flad("embedded-flad", "ucb1-flad-paper", seeds=[42], targets="tgt_a", output_dir=tmp_path,
        )
    flad, domains = record["flad"], record["mixture"]["domains"]
    groups = {role: [i for i, d in enumerate(domains) if flad["arm_roles"][d] == role]
              for role in ("helpful", "harmful", "neutral")}
    warm = np.array([flad["warm_start_rewards"][d]["agg"] for d in domains])
    assert min(warm[groups["helpful"]].mean(), warm[groups["harmful"]].mean()) > warm[groups["neutral"]].mean()
    estimates = np.array(record["mixture"]["rewards"][-1])
    assert estimates[groups["helpful"]].mean() > estimates[groups["harmful"]].mean()
    assert estimates[groups["helpful"]].mean() > estimates[groups["neutral"]].mean()
    late = flad["helpful_mass"][len(flad["helpful_mass"]) // 2:]
    assert np.mean(late) > 3 * flad["helpful_mass_uniform"] and flad["helpful_mass_uniform"] < 0.15
    # the helpful arms hold 60% of the target's entities: well above chance, not at the ceiling
    assert 0.7 < record["final"]["test"]["acc"] < 0.95


def test_real_task_path_offline_with_local_p3_files_and_a_local_t5(tmp_path):
    """The t0mix task end to end without the hub: bigscience/P3's layout on disk (two T0Mix arms and
    CB's templates) and a tiny T5 saved with save_pretrained, loaded by the same from_pretrained path."""
    import json as _json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from transformers import T5Config, T5ForConditionalGeneration

    from benchmark.flad.models import build_word_tokenizer

    p3 = tmp_path / "P3"
    texts: set[str] = set()

    def write(config, split, rows):
        (p3 / config).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), p3 / config / f"{split}.parquet")
        for r in rows:
            texts.update(r["inputs_pretokenized"].split() + r["targets_pretokenized"].split() + r.get("answer_choices", []))

    def row(text, target, choices=None):
        out = {"inputs": [1], "inputs_pretokenized": text, "targets": [1], "targets_pretokenized": target}
        return {**out, "answer_choices": choices} if choices else out

    for t in ("equivalent", "paraphrase"):
        write(f"glue_mrpc_{t}", "train", [row(f"s{i} s{i + 1} {t} same ?", ["no", "yes"][i % 2], ["no", "yes"])
                                          for i in range(24)])
    write("adversarial_qa_dbidaf_based_on", "train", [row(f"context c{i} question q{i}", f"a{i}") for i in range(20)])
    choices = ["True", "False", "Neither"]
    for t in ("GPT_3_style", "can_we_infer"):
        for split, n in (("train", 40), ("validation", 9)):
            write(f"super_glue_cb_{t}", split, [row(f"p{i} {t} h{i} ?", choices[i % 3], choices) for i in range(n)])
    model_dir = tmp_path / "tiny-t5"
    tokenizer = build_word_tokenizer(["<pad>", "<eos>", "<unk>"] + sorted(texts))
    tokenizer.save_pretrained(model_dir)
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1,
                      num_heads=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, tie_word_embeddings=False)
    T5ForConditionalGeneration(config).save_pretrained(model_dir)
    overrides = [f"data.source.path={p3}", "data.skip_missing_arms=true", f"model.name={model_dir}",
                 "training.steps=2", "training.grad_accum=2", "training.batch_size=2", "training.eval_every=1",
                 "training.precision=32-true", "training.warm_start_examples=4", "evaluation.batch_size=8"]
    records = run_flad("t0mix", ["ucb1-flad", "target-only"], seeds=[42], targets="cb", overrides=overrides,
                       output_dir=tmp_path / "out", device="cpu")
    for record in records:
        assert record["status"] == "completed" and record["final"]["test"]["n"] == 9
        assert record["data_manifest"]["missing_arms"] and len(record["data_manifest"]["arms"]) == 2
        assert record["config"]["task"]["model"]["kind"] == "seq2seq"
    assert records[0]["mixture"]["domains"] == ["glue/mrpc", "adversarial_qa/dbidaf"]
    assert set(records[0]["flad"]["warm_start_rewards"]) == {"glue/mrpc", "adversarial_qa/dbidaf"}
    assert _json.dumps(records[0])  # serialisable


def test_flad_runs_are_tracked_live_and_finished_with_the_record(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from benchmark.training import live_tracking

    monkeypatch.chdir(tmp_path)                                  # sqlite stores put artifacts under ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    seen_while_training = []
    real_flush = live_tracking.LiveTracking.flush

    def flush_and_look(self):
        real_flush(self)
        history = MlflowClient(tracking_uri=uri).get_metric_history(self.run_id, "val/acc")
        seen_while_training.append((MlflowClient(tracking_uri=uri).get_run(self.run_id).info.status, len(history)))

    monkeypatch.setattr(live_tracking.LiveTracking, "flush", flush_and_look)
    (record,) = run_flad("embedded-flad", ["exp3-flad"], seeds=[42], targets="tgt_c", overrides=TINY,
                         output_dir=tmp_path, track=True, tracking_uri=uri)
    assert ("RUNNING", 1) in seen_while_training                  # the first evaluation, visible mid-run
    run = MlflowClient(tracking_uri=uri).get_run(record["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["benchmark_run_id"] == record["run_id"]
    saved = load_records([tmp_path / "records"])[0]
    assert saved["mlflow_run_id"] == record["mlflow_run_id"]     # written back into the record file
