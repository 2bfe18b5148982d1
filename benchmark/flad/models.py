"""Models for FLAD: the embedded benchmark's small pretrained decoder (built from a config, pre-trained
once and cached) and real hub models (T5-XL LM-adapted, T0-3B, t5-base, any causal LM) loaded
with `from_pretrained`. Both kinds train and score through the same three functions:

    encode_pair(tokenizer, kind, context, continuation) → (context ids, continuation ids)
    make_batch(bundle, pairs)                           → padded tensors with loss masks
    example_losses(bundle, batch)                       → mean token NLL per example [B]

The text-to-text target of a prompted example is its continuation followed by the end-of-sequence
token (T5/T0 targets end with </s>; a decoder scores the choice tokens + EOS after the prompt).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

MODEL_KINDS = ("causal", "seq2seq")


@dataclass
class ModelBundle:
    model: Any
    tokenizer: Any
    kind: str                       # causal | seq2seq
    description: dict[str, Any] = field(default_factory=dict)
    extra_compute: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lm_head(self) -> torch.nn.Parameter:
        """The parameter subset FLAD's rewards use: the output projection (LM head)."""
        return self.model.get_output_embeddings().weight

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def build_word_tokenizer(words: list[str]) -> Any:
    """Word-level tokenizer over `words` (the first three: <pad>, <eos>, <unk>), as a fast HF tokenizer."""
    from ..data.tokenizer import word_level_tokenizer
    return word_level_tokenizer(words)


# -- encoding, batching, losses --------------------------------------------------------------------
def encode_pair(tokenizer: Any, kind: str, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) exactly as lm-eval's HFLM splits them: a decoder encodes
    context + continuation and takes the tail after the context's tokens; an encoder-decoder encodes
    them separately (the continuation without special tokens)."""
    if kind == "causal":
        whole = tokenizer.encode(context + continuation)
        ctx = tokenizer.encode(context)
        return ctx, whole[len(ctx):]
    return tokenizer.encode(context), tokenizer.encode(continuation, add_special_tokens=False)


def make_batch(bundle: ModelBundle, pairs: list[tuple[list[int], list[int]]], max_length: int | None = None,
               ) -> dict[str, torch.Tensor]:
    """`make_padded` on the bundle's device."""
    padded = make_padded(bundle.tokenizer, bundle.kind, pairs, max_length)
    return {k: v.to(bundle.device) for k, v in padded.items()}


def make_padded(tokenizer: Any, kind: str, pairs: list[tuple[list[int], list[int]]],
                max_length: int | None = None) -> dict[str, torch.Tensor]:
    """Pad (context ids, target ids) pairs (CPU tensors). Causal: one sequence, loss on the target
    positions. Seq2seq: encoder input = context, decoder labels = target."""
    pad = tokenizer.pad_token_id
    if kind == "causal":
        seqs = [(c + t)[-(max_length or 10**9):] for c, t in pairs]
        targets = [min(len(t), len(s) - 1) for (c, t), s in zip(pairs, seqs)]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        labels = torch.full((len(seqs), width), -100, dtype=torch.long)
        for i, (s, n) in enumerate(zip(seqs, targets)):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
            labels[i, len(s) - n:len(s)] = torch.tensor(s[len(s) - n:])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
    width = max(len(c) for c, _ in pairs)
    twidth = max(len(t) for _, t in pairs)
    ids = torch.full((len(pairs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    labels = torch.full((len(pairs), twidth), -100, dtype=torch.long)
    for i, (c, t) in enumerate(pairs):
        ids[i, :len(c)] = torch.tensor(c)
        mask[i, :len(c)] = 1
        labels[i, :len(t)] = torch.tensor(t)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def token_logprobs(bundle: ModelBundle, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p of every label token [B, T], mask of label tokens [B, T])."""
    return label_logprobs(bundle.model, bundle.kind, batch)


def label_logprobs(model: Any, kind: str, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """`token_logprobs` of a bare model of `kind` (causal | seq2seq)."""
    labels = batch["labels"]
    if kind == "causal":
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        labels = labels[:, 1:]
    else:
        decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=labels)  # -100 → pad
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              decoder_input_ids=decoder_input_ids).logits
    mask = labels != -100
    logp = -F.cross_entropy(logits.float().transpose(1, 2), labels.clamp(min=0), reduction="none")
    return logp * mask, mask


def example_losses(bundle: ModelBundle, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean token cross-entropy of each example's target (EOS included) [B]."""
    logp, mask = token_logprobs(bundle, batch)
    return -logp.sum(1) / mask.sum(1).clamp(min=1)


def training_pairs(tokenizer: Any, kind: str, examples: list[Any], max_length: int | None = None,
                   ) -> list[tuple[list[int], list[int]]]:
    """(context, target + EOS) ids of prompted examples; the target follows the prompt after a space."""
    eos = tokenizer.eos_token_id
    out = []
    for e in examples:
        ctx, cont = encode_pair(tokenizer, kind, e.input, " " + e.target)
        out.append((ctx[-(max_length or 10**9):], cont + [eos]))
    return out


# -- the embedded benchmark's base model -----------------------------------------------------------
def embedded_base_model(spec: dict[str, Any], vocab: list[str], corpus: np.ndarray, cache_dir: Path,
                        log: Any = print) -> ModelBundle:
    """A small GPT-NeoX decoder (untied LM head) pre-trained once on `corpus` through the lifecycle
    (base_model.py) and reused from cache_dir by every later run with the same settings."""
    from .base_model import EMBEDDED_MODEL_KEYS, PRETRAIN_DEFAULTS, pretrained_base

    unknown = sorted(set(spec) - EMBEDDED_MODEL_KEYS)
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown key for the embedded model; allowed: "
                         f"{', '.join(sorted(EMBEDDED_MODEL_KEYS))}")
    pretrain = {**PRETRAIN_DEFAULTS, **(spec.get("pretrain") or {})}
    arch = {k: v for k, v in spec.items() if k not in ("source", "pretrain")}
    arch.setdefault("tie_embeddings", False)
    tokenizer = build_word_tokenizer(vocab)
    model, built = pretrained_base(arch, pretrain, corpus, tokenizer, cache_dir)
    model.train()
    description = {"source": "embedded", "arch": arch, "pretrain": pretrain,
                   "cache_key": hashlib.sha256(json.dumps([arch, pretrain], sort_keys=True).encode()).hexdigest()[:16]}
    if built:
        log(f"pre-trained the embedded base model ({pretrain['steps']} steps, {built['seconds']:.0f} s); "
            f"record {built['record']}")
    return ModelBundle(model, tokenizer, "causal", description, [built] if built else [])


# -- real models from the hub -----------------------------------------------------------------------
HF_MODEL_KEYS = {"source", "name", "kind", "revision", "tokenizer", "dtype", "gguf_file"}


def hub_model(spec: dict[str, Any]) -> ModelBundle:
    """`from_pretrained` of spec["name"]: kind seq2seq (T5 / T0) or causal (any decoder LM).
    dtype: float32 | bfloat16 (FLAD trained in bf16). Needs the hub (or a local path / cache)."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    unknown = sorted(set(spec) - HF_MODEL_KEYS)
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown key for a hub model; allowed: {', '.join(sorted(HF_MODEL_KEYS))}")
    kind = spec.get("kind", "seq2seq")
    if kind not in MODEL_KINDS:
        raise ValueError(f"model.kind: must be one of {list(MODEL_KINDS)}, got {kind!r}")
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(spec.get("dtype", "float32"))
    if dtype is None:
        raise ValueError(f"model.dtype: must be float32 or bfloat16, got {spec.get('dtype')!r}")
    extra = {"gguf_file": spec["gguf_file"]} if spec.get("gguf_file") else {}
    cls = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    model = cls.from_pretrained(spec["name"], revision=spec.get("revision"), dtype=dtype, **extra)
    tokenizer = AutoTokenizer.from_pretrained(spec.get("tokenizer", spec["name"]), revision=spec.get("revision"),
                                              **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return ModelBundle(model, tokenizer, kind, {"source": "hf", **spec})
