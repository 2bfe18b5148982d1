"""lm-eval on the embedded local task agrees with an independent scoring of the same model."""

import json

import numpy as np
import torch

from benchmark.data.pretrain_task import build_task_data
from benchmark.evaluation.downstream import run_lm_eval
from benchmark.training.model import build_model


def test_mini_mmlu_through_lm_eval_matches_direct_loglikelihood(tmp_path):
    data = build_task_data({"builder": "synthetic_pretrain", "generator_seed": 7, "seq_len": 32,
                            "val_sequences": 2, "test_sequences": 2, "size_scale": 0.05,
                            "probe_questions": 6}, tmp_path)
    model = build_model({"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                         "max_positions": 64}, data.vocab_size, seed=3).eval()
    result = run_lm_eval(model, data.tokenizer, ["mini_mmlu"], 0, include_path=data.downstream_dir)["mini_mmlu"]

    rows = [json.loads(line) for line in (data.downstream_dir / "mini_mmlu_test.jsonl").read_text().splitlines()]
    correct = []
    with torch.no_grad():
        for row in rows:
            context = data.tokenizer(row["context"])["input_ids"]
            scores = []
            for choice in row["choices"]:
                target = data.tokenizer(choice)["input_ids"]
                ids = torch.tensor([context + target])
                logprobs = torch.log_softmax(model(ids[:, :-1]).logits[0], dim=-1)
                scores.append(sum(float(logprobs[len(context) - 1 + i, t]) for i, t in enumerate(target)))
            correct.append(int(np.argmax(scores)) == row["answer"])
    assert result["n"] == len(rows) == 6 * 9
    assert result["acc"] == np.mean(correct)
    subjects = {r["subject"] for r in rows}
    assert set(result["per_subject"]) == subjects and "noise" not in subjects
