"""Per-domain held-out loss and perplexity, synchronised across ranks with torchmetrics."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torchmetrics import Metric

from ..training.model import token_losses


class PerDomainLoss(Metric):
    """Token-weighted mean cross-entropy per domain (sums are all-reduced under DDP)."""

    full_state_update = False

    def __init__(self, num_domains: int):
        super().__init__()
        self.add_state("loss_sum", torch.zeros(num_domains, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("tokens", torch.zeros(num_domains, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, losses: torch.Tensor, domains: torch.Tensor) -> None:  # type: ignore[override]
        self.loss_sum.index_add_(0, domains, losses.sum(dim=1).double())
        self.tokens.index_add_(0, domains, torch.full_like(domains, losses.shape[1], dtype=torch.float64))

    def compute(self) -> torch.Tensor:
        return self.loss_sum / self.tokens.clamp(min=1)


@torch.no_grad()
def evaluate_per_domain(model: torch.nn.Module, blocks: Sequence[np.ndarray], batch_size: int,
                        token_offset: int, device: torch.device | str = "cpu",
                        world_size: int = 1, rank: int = 0) -> list[float]:
    """Mean token loss per domain over fixed held-out blocks; rank r scores blocks r::world_size."""
    metric = PerDomainLoss(len(blocks)).to(device)
    was_training = model.training
    model.eval()
    for domain, domain_blocks in enumerate(blocks):
        mine = domain_blocks[rank::world_size]
        for start in range(0, len(mine), batch_size):
            ids = torch.as_tensor(np.asarray(mine[start:start + batch_size], dtype=np.int64) + token_offset,
                                  device=device)
            metric.update(token_losses(model, ids), torch.full((len(ids),), domain, device=device))
    model.train(was_training)
    return [float(v) for v in metric.compute().cpu().reshape(-1)]   # one domain: a 0-d tensor


def summarize_losses(domains: Sequence[str], losses: Sequence[float],
                     floors: dict[str, float] | None = None) -> dict[str, Any]:
    """ODM's average perplexity (unweighted mean of per-domain perplexities), worst-domain
    perplexity, mean loss, and — where floors are known — excess loss over them."""
    ppl = [math.exp(min(loss, 50.0)) for loss in losses]
    out = {
        "avg_ppl": float(np.mean(ppl)),
        "worst_ppl": float(np.max(ppl)),
        "worst_domain": domains[int(np.argmax(ppl))],
        "mean_loss": float(np.mean(losses)),
    }
    for name, loss, p in zip(domains, losses, ppl):
        out[f"loss/{name}"] = float(loss)
        out[f"ppl/{name}"] = float(p)
    if floors:
        excess = [loss - floors[name] for name, loss in zip(domains, losses)]
        out["mean_excess_loss"] = float(np.mean(excess))
        out["max_excess_loss"] = float(np.max(excess))
        for name, value in zip(domains, excess):
            out[f"excess/{name}"] = float(value)
    return out
