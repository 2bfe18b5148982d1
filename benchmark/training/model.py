"""Decoder models built from a config (no download): the GPT-NeoX family of the ODM papers."""

from __future__ import annotations

from typing import Any

import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedModel

MODEL_KEYS = {"family", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions",
              "rotary_pct", "parallel_residual", "tie_embeddings"}


def build_model(spec: dict[str, Any], vocab_size: int, seed: int) -> PreTrainedModel:
    """GPT-NeoX decoder (rotary on a fraction of dims, parallel residual, untied embeddings)."""
    if spec.get("family", "gpt_neox") != "gpt_neox":
        raise ValueError(f"model.family: only 'gpt_neox' is built from a config, got {spec['family']!r}")
    config = GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=spec["hidden_size"],
        num_hidden_layers=spec["num_layers"],
        num_attention_heads=spec["num_heads"],
        intermediate_size=spec.get("intermediate_size", 4 * spec["hidden_size"]),
        max_position_embeddings=spec["max_positions"],
        rotary_pct=spec.get("rotary_pct", 0.25),
        use_parallel_residual=spec.get("parallel_residual", True),
        tie_word_embeddings=spec.get("tie_embeddings", False),
        hidden_dropout=0.0,
        attention_dropout=0.0,
        bos_token_id=1,
        eos_token_id=1,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return GPTNeoXForCausalLM(config)


def token_losses(model: PreTrainedModel, input_ids: torch.Tensor) -> torch.Tensor:
    """Per-token next-token cross-entropy [B, T-1] for blocks of T tokens."""
    logits = model(input_ids=input_ids[:, :-1]).logits
    return torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), input_ids[:, 1:], reduction="none")
