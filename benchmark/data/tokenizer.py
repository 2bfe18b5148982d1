"""A deterministic word-level tokenizer for the embedded benchmarks (no hub, no training).

Word id i is the string "w{i}"; token id = i + number of special tokens. Wrapped as a
`PreTrainedTokenizerFast` so that transformers and lm-eval use it like any hub tokenizer.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from .synthetic_pretrain import SPECIAL_TOKENS


def word(i: int) -> str:
    return f"w{i}"


def build_word_tokenizer(num_words: int) -> PreTrainedTokenizerFast:
    """The embedded pre-training vocabulary: the special tokens, then w0 … w{num_words−1}."""
    return word_level_tokenizer(list(SPECIAL_TOKENS) + [word(i) for i in range(num_words)])


def word_level_tokenizer(words: list[str]) -> PreTrainedTokenizerFast:
    """The one word-level tokenizer of both embedded benchmarks: token id = index in `words`, whose
    first entries are <pad>, <eos>, <unk>; whitespace-split, joined back with spaces."""
    vocab = {w: i for i, w in enumerate(words)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>", bos_token="<eos>", model_max_length=4096)


def words_to_text(word_ids) -> str:
    return " ".join(word(int(i)) for i in word_ids)


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: Path) -> None:
    tokenizer.save_pretrained(str(directory))
