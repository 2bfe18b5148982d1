"""A finished run's model as a Hugging Face directory: plain transformers loads it, and the real
`lm_eval` CLI on the shipped task files (tasks/lm_eval/) reproduces the record's accuracy."""

import json
import os
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from benchmark import model_export
from benchmark.config import load_task, resolve_config
from benchmark.data.mini_mmlu import write_shipped_questions
from benchmark.data.synthetic_pretrain import VOCAB_WORDS
from benchmark.data.tokenizer import build_word_tokenizer
from benchmark.evaluation.downstream import run_lm_eval
from benchmark.paths import resource_dir
from benchmark.runner import execute, prepare_run
from conftest import TINY

LM_EVAL_DIR = resource_dir("tasks") / "lm_eval"
# the tiny run keeps the task's probe settings, so its questions are the shipped ones
TINY_DEFAULT_PROBE = [o for o in TINY if not o.startswith("data.probe_questions")]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """(record, record path, output dir, a copy of the trained weights) of a tiny uniform run."""
    out = tmp_path_factory.mktemp("run")
    captured = {}
    real = model_export.save_model_dir

    def capture(model, tokenizer, directory):
        captured["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        captured["model"] = model
        return real(model, tokenizer, directory)

    model_export.save_model_dir = capture
    try:
        config = resolve_config("embedded-pretrain", "uniform", 0, TINY_DEFAULT_PROBE)
        record, path = execute(prepare_run(config, out), out, progress=False, track=False)
    finally:
        model_export.save_model_dir = real
    return record, path, out, captured


def lm_eval_cli(args, cwd, task):
    """The real CLI in a subprocess (offline), from an unrelated working directory: `task`'s acc
    from the results file it writes."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    args = [*args, "--include_path", str(LM_EVAL_DIR), "--batch_size", "64", "--output_path", str(cwd / "results")]
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [results] = (cwd / "results").rglob("results_*.json")
    return json.loads(results.read_text())["results"][task]["acc,none"]


def test_record_points_to_a_model_dir_that_transformers_loads(finished_run):
    record, _, out, captured = finished_run
    directory = out / record["model_dir"]
    assert record["model_dir"] == f"runs/{record['run_id']}/model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "generation_config.json"):
        assert (directory / name).is_file(), name
    assert not list(directory.parent.glob(".model*")) and not (directory.parent / "final_model.pt").exists()
    loaded = AutoModelForCausalLM.from_pretrained(directory).eval()
    trained = captured["model"]
    trained.load_state_dict(captured["state"])
    ids = torch.randint(3, 100, (2, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, trained.eval()(ids).logits)


def test_tokenizer_round_trip(finished_run):
    record, _, out, _ = finished_run
    tokenizer = AutoTokenizer.from_pretrained(out / record["model_dir"])
    original = build_word_tokenizer(VOCAB_WORDS)
    text = "w0 w17 w150 w3"
    assert tokenizer(text)["input_ids"] == original(text)["input_ids"]
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert (tokenizer.eos_token, tokenizer.pad_token, len(tokenizer)) == ("<eos>", "<pad>", len(original))


def test_save_model_dir_replaces_an_older_export(tmp_path, finished_run):
    record, _, out, _ = finished_run
    model = AutoModelForCausalLM.from_pretrained(out / record["model_dir"])
    tokenizer = AutoTokenizer.from_pretrained(out / record["model_dir"])
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("old")
    assert model_export.save_model_dir(model, tokenizer, target) == target
    assert not (target / "stale.bin").exists() and (target / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]          # no temporary left


def test_real_lm_eval_cli_on_shipped_tasks_matches_the_record(finished_run, tmp_path):
    record, _, out, _ = finished_run
    acc = lm_eval_cli([sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
                       f"pretrained={out / record['model_dir']}", "--tasks", "mini_mmlu"], tmp_path, "mini_mmlu")
    assert record["downstream"]["mini_mmlu"]["n"] == 360
    assert acc == pytest.approx(record["downstream"]["mini_mmlu"]["acc"], abs=1e-12)


def test_shipped_questions_are_the_generated_ones(tmp_path):
    for split, path in write_shipped_questions(tmp_path).items():
        assert path.read_bytes() == (LM_EVAL_DIR / "data" / f"mini_mmlu_{split}.jsonl").read_bytes(), split


def test_quick_limit_draws_from_every_subject(finished_run):
    record, _, out, _ = finished_run
    limit = load_task("embedded-pretrain")["quick"]["evaluation"]["downstream"]["limit"]
    model = AutoModelForCausalLM.from_pretrained(out / record["model_dir"])
    tokenizer = AutoTokenizer.from_pretrained(out / record["model_dir"])
    result = run_lm_eval(model, tokenizer, ["mini_mmlu"], 0, include_path=LM_EVAL_DIR, limit=limit)["mini_mmlu"]
    subjects = {json.loads(line)["subject"] for line in (LM_EVAL_DIR / "data" / "mini_mmlu_test.jsonl").open()}
    assert result["n"] == limit and set(result["per_subject"]) == subjects and len(subjects) == 9


def test_evaluate_errors_are_one_line(finished_run, capsys):
    from benchmark.cli import main

    record, path, _, _ = finished_run
    assert main(["evaluate", str(path), "--tasks", "mini_mmlu"]) == 0     # the benchmark's own task works
    assert json.loads(path.read_text())["downstream"]["mini_mmlu"]["acc"] == record["downstream"]["mini_mmlu"]["acc"]
    capsys.readouterr()
    for tasks, cause in (("mmlu", "offline"), ("mini_mmlu,mmlu", "separately"), ("no_such_task", "no_such_task")):
        assert main(["evaluate", str(path), "--tasks", tasks]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --tasks") and "\n" not in err and cause in err, err


@pytest.mark.slow
def test_flad_best_model_is_exported_and_the_cli_reproduces_t0_rank(tmp_path):
    from benchmark.flad.runner import run_flad

    record = run_flad("embedded-flad", "target-only", seeds=[42], targets=["tgt_a"], output_dir=tmp_path / "out",
                      quick=True)[0]
    directory = tmp_path / "out" / record["model_dir"]
    assert AutoTokenizer.from_pretrained(directory).eos_token == "<eos>"
    task = "flad_embedded_flad_tgt_a_t0_rank"
    acc = lm_eval_cli([sys.executable, "-m", "benchmark.flad.lm_eval_cli", "--model", "hf-t0rank",
                       "--model_args", f"pretrained={directory}", "--tasks", task], tmp_path, task)
    assert acc == pytest.approx(record["final"]["test"]["by_protocol"]["t0_rank"]["acc"], abs=1e-12)
