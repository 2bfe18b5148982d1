"""What a pre-training benchmark hands the trainer: domains, token blocks per split, floors,
a tokenizer, the data manifest, and its downstream probe set. Builders are looked up by name in
benchmark/registry.py (kind "data_builders"), so this module never imports the Pile builder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from transformers import PreTrainedTokenizerBase

from .. import registry
from ..records import write_text_if_changed
from .mini_mmlu import write_mini_mmlu
from .synthetic_pretrain import SPECIAL_TOKENS, VOCAB_WORDS, generate_corpus
from .tokenizer import build_word_tokenizer


@dataclass
class PretrainData:
    domains: list[str]
    train_blocks: list[np.ndarray]
    validation_blocks: list[np.ndarray]
    test_blocks: list[np.ndarray]
    sizes: list[int]                      # training tokens per domain
    tokenizer: PreTrainedTokenizerBase
    token_offset: int                     # added to stored ids to get model token ids
    manifest: dict[str, Any]
    floors: dict[str, float] | None = None
    downstream_dir: Path | None = None    # lm-eval include path with this benchmark's local tasks
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)


Builder = Callable[[dict[str, Any], Path], PretrainData]


def builder_names() -> list[str]:
    return registry.names("data_builders")


def build_task_data(spec: dict[str, Any], cache_dir: Path) -> PretrainData:
    """Run the task's `data.builder` (a registered name, an entry point or "module:function")."""
    builder: Builder = registry.resolve("data_builders", spec.get("builder"))
    return builder(spec, cache_dir)


def build_synthetic_pretrain(spec: dict[str, Any], cache_dir: Path) -> PretrainData:
    corpus = generate_corpus(spec["generator_seed"], spec["seq_len"], spec["val_sequences"],
                             spec["test_sequences"], spec.get("size_scale", 1.0))
    manifest = {
        "builder": "synthetic_pretrain",
        "generator_seed": spec["generator_seed"],
        "hash": corpus.manifest_hash(),
        "domains": {d: {"train_sequences": int(len(corpus.splits["train"][d])),
                        "train_tokens": int(corpus.splits["train"][d].size),
                        "floor_nats": corpus.floors[d]} for d in corpus.domains},
    }
    downstream_dir = cache_dir / f"embedded-{manifest['hash'][:12]}" / "lm_eval"
    write_mini_mmlu(corpus, downstream_dir, spec.get("probe_questions", 40), spec["generator_seed"])
    write_text_if_changed(downstream_dir.parent / "manifest.json", json.dumps(manifest, indent=1))
    return PretrainData(
        domains=corpus.domains,
        train_blocks=[corpus.splits["train"][d] for d in corpus.domains],
        validation_blocks=[corpus.splits["validation"][d] for d in corpus.domains],
        test_blocks=[corpus.splits["test"][d] for d in corpus.domains],
        sizes=corpus.sizes_in_tokens(),
        tokenizer=build_word_tokenizer(VOCAB_WORDS),
        token_offset=len(SPECIAL_TOKENS),
        manifest=manifest,
        floors=corpus.floors,
        downstream_dir=downstream_dir,
    )
