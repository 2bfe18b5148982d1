"""The embedded FLAD benchmark's base model, pre-trained as an ordinary run of the one lifecycle.

A small GPT-NeoX decoder (untied LM head) is pre-trained once on the embedded corpus (prompted rows
of unrelated tasks, `synthetic.pretraining_corpus`) with the same Lightning module, data module,
checkpoints and record as every pre-training run: one domain, a uniform "mixture", AdamW with a
cosine schedule. Its record and Hugging Face model directory live under
<output>/flad/base_models/; a later run with the same architecture, settings and corpus loads it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig, load_recipe
from ..data.pretrain_task import PretrainData

EMBEDDED_MODEL_KEYS = {"source", "family", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                       "max_positions", "rotary_pct", "parallel_residual", "tie_embeddings", "pretrain"}
PRETRAIN_DEFAULTS = {"steps": 300, "batch_size": 32, "seq_len": 32, "lr": 3.0e-3, "warmup_steps": 20}


def corpus_data(corpus: np.ndarray, tokenizer: Any, seq_len: int) -> PretrainData:
    """The corpus as one domain of blocks; its last 5% (at least one block) held out for evaluation."""
    blocks = np.ascontiguousarray(corpus[:, :seq_len + 1])
    held = max(1, len(blocks) // 20)
    digest = hashlib.sha256(np.ascontiguousarray(blocks, dtype="<i8").tobytes()).hexdigest()
    return PretrainData(domains=["corpus"], train_blocks=[blocks[:-held]], validation_blocks=[blocks[-held:]],
                        test_blocks=[blocks[-held:]], sizes=[int(blocks[:-held].size)], tokenizer=tokenizer,
                        token_offset=0, manifest={"builder": "embedded_flad_corpus", "hash": digest,
                                                  "blocks": int(len(blocks)), "seq_len": seq_len})


def base_config(arch: dict[str, Any], pretrain: dict[str, Any]) -> RunConfig:
    steps = pretrain["steps"]
    training = {"steps": steps, "batch_size": pretrain["batch_size"], "lr": pretrain["lr"],
                "weight_decay": 0.01, "warmup_fraction": pretrain["warmup_steps"] / steps, "min_lr_ratio": 0.0,
                "betas": [0.9, 0.999], "grad_clip": 1.0, "eval_every": steps, "checkpoint_every": steps,
                "log_every": max(1, steps // 10)}
    task = {"data": {"builder": "embedded_flad_corpus", "seq_len": pretrain["seq_len"]}, "model": arch,
            "training": training, "evaluation": {}}
    return RunConfig("embedded-flad-base", task, load_recipe("uniform"), seed=0)


def pretrained_base(arch: dict[str, Any], pretrain: dict[str, Any], corpus: np.ndarray, tokenizer: Any,
                    directory: Path) -> tuple[Any, dict[str, Any] | None]:
    """(the trained model, the run's compute entry if it trained now, None if it was cached)."""
    from ..model_export import load_model_dir
    from ..records import completed_record
    from ..runner import PretrainRun, execute
    from ..strategies import get_strategy_class

    config = base_config(arch, pretrain)
    done = completed_record(directory, config.run_id)
    fresh = done is None
    if fresh:
        data = corpus_data(corpus, tokenizer, pretrain["seq_len"])
        strategy = get_strategy_class("uniform")(data.domains, data.sizes, seed=0)
        done = execute(PretrainRun(config, data, strategy, output_dir=directory), directory, progress=False,
                       track=False)
    record = done[0]
    model, _ = load_model_dir(directory / record["model_dir"])
    entry = {"kind": "base_pretraining", "run_id": record["run_id"], "steps": record["compute"]["steps"],
             "tokens": record["compute"]["train_tokens"], "flops": record["compute"]["train_flops"],
             "seconds": record["timing"]["wall_seconds"], "record": str(done[1])}
    return model, entry if fresh else None
