"""What a micro-batch's loss is, per benchmark family; the Lightning module is the same for all.

An objective turns a served micro-batch into a `MicrobatchLoss`: the scalar that is
backpropagated, and per-example summed token losses and token counts for the strategy's
statistics. `TokenBlocks` is pre-training on fixed-length blocks; `PromptedExamples` is FLAD's
text-to-text training on prompted examples (the loss is the token mean over the micro-batch, as the
Hugging Face model computes it — the FLAD code's training loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .model import token_losses


@dataclass
class MicrobatchLoss:
    loss: torch.Tensor            # scalar to backpropagate (before the 1/G of accumulation)
    example_sums: torch.Tensor    # [B] summed token losses per example, detached
    example_tokens: torch.Tensor  # [B] loss tokens per example
    domains: torch.Tensor         # [B] domain (arm) index of each example
    mean_loss: torch.Tensor       # unweighted token-mean loss of the micro-batch, detached
    model_tokens: int = 0                      # tokens through the model (inputs + decoder targets)
    ids: torch.Tensor | None = None            # the token blocks (pre-training) ...
    token_losses: torch.Tensor | None = None   # ... and their per-token losses, for a reference model

    @property
    def tokens(self) -> int:
        return int(self.example_tokens.sum())


class TokenBlocks:
    """Next-token loss on blocks of T tokens; loss = token mean, or Σ_i w_i·mean_i / B with loss weights."""

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any], device: torch.device,
                 weights: np.ndarray | None = None) -> MicrobatchLoss:
        ids = batch["input_ids"].to(device)
        domains = batch["domain"].to(device)
        losses = token_losses(model, ids)
        if weights is not None:   # e.g. scalarization: per-example w_i / p_i
            loss = (losses.mean(dim=1) * torch.as_tensor(weights, dtype=losses.dtype, device=device)).mean()
        else:
            loss = losses.mean()
        detached = losses.detach()
        return MicrobatchLoss(loss, detached.sum(dim=1), torch.full_like(detached[:, 0], losses.shape[1]),
                              domains, detached.mean(), ids.numel() - ids.shape[0], ids, detached)

    @staticmethod
    def excess_over(reference: torch.nn.Module, result: MicrobatchLoss) -> torch.Tensor:
        """Per-example Σ_tokens max(0, loss − reference loss) (DoReMi's excess loss)."""
        with torch.no_grad():
            excess = (result.token_losses - token_losses(reference, result.ids)).clamp(min=0)
        return excess.sum(dim=1)


class PromptedExamples:
    """Text-to-text loss of prompted examples (context → target + EOS), for causal or seq2seq models."""

    def __init__(self, tokenizer: Any, kind: str, max_input_length: int | None = None):
        self.tokenizer, self.kind, self.max_input_length = tokenizer, kind, max_input_length

    def tokens_of(self, examples: list[Any]) -> int:
        """Tokens through the model for these examples (inputs, plus decoder targets for seq2seq)."""
        batch = self.batch(examples, torch.device("cpu"))
        return int(batch["attention_mask"].sum()) + (
            int((batch["labels"] != -100).sum()) if self.kind == "seq2seq" else 0)

    def batch(self, examples: list[Any], device: torch.device) -> dict[str, torch.Tensor]:
        from ..flad.models import make_padded, training_pairs
        pairs = training_pairs(self.tokenizer, self.kind, examples, self.max_input_length)
        return {k: v.to(device) for k, v in make_padded(self.tokenizer, self.kind, pairs).items()}

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any], device: torch.device,
                 weights: np.ndarray | None = None) -> MicrobatchLoss:
        from ..flad.models import label_logprobs
        tensors = self.batch(batch["examples"], device)
        logp, mask = label_logprobs(model, self.kind, tensors)
        sums, counts = -logp.sum(1), mask.sum(1).to(logp.dtype)
        tokens = counts.sum().clamp(min=1)
        mean = sums.sum() / tokens   # the HF loss: token mean over the micro-batch (the FLAD code's)
        loss = mean if weights is None else (sums * torch.as_tensor(weights, dtype=sums.dtype, device=device)).sum() / tokens
        through = int(tensors["attention_mask"].sum()) + (int(mask.sum()) if self.kind == "seq2seq" else 0)
        return MicrobatchLoss(loss, sums.detach(), counts, batch["domain"].to(device), mean.detach(), through)
