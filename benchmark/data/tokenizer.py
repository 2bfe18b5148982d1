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
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    vocab.update({word(i): i + len(SPECIAL_TOKENS) for i in range(num_words)})
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>", bos_token="<eos>", model_max_length=4096)


def words_to_text(word_ids) -> str:
    return " ".join(word(int(i)) for i in word_ids)


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: Path) -> None:
    tokenizer.save_pretrained(str(directory))
