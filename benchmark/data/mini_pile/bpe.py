"""mini-pile's tokenizer: a small byte-level BPE (GPT-NeoX's kind, at a tiny model's vocabulary
size) trained with the `tokenizers` library on the corpus's training split.

Saved as a Hugging Face tokenizer directory, so `AutoTokenizer.from_pretrained(path)` — what
pile.py's `load_tokenizer` does for a hub name — loads it with no hub. Training is deterministic
(texts in file order, one thread: no race between merges of equal count).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..token_shards import file_sha256

VOCAB_SIZE = 2048
EOS = "<|endoftext|>"       # GPT-NeoX's names and ids (0, 1) for its two special tokens
PAD = "<|padding|>"
FILES = ("special_tokens_map.json", "tokenizer.json", "tokenizer_config.json")


def train_bpe(texts: Iterable[str], directory: Path, vocab_size: int = VOCAB_SIZE) -> dict[str, str]:
    """Train, save into `directory`; returns {file name: sha256} of what was saved."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        core.train_from_iterator(texts, trainer)
    finally:
        if previous is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous
    wrapped = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, bos_token=EOS, unk_token=EOS,
                                      pad_token=PAD, model_max_length=2048)
    directory.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(directory))
    return tokenizer_checksums(directory)


def tokenizer_checksums(directory: Path) -> dict[str, str]:
    return {name: file_sha256(directory / name) for name in FILES if (directory / name).exists()}
