"""The domain-gradients capability: per-domain gradients (and the target's) for DGA and DoGE.

Served to strategies that declare `Capability.DOMAIN_GRADIENTS` (+ `TARGET_GRADIENT`); what is
measured follows the method's `gradient_settings()` (benchmark/capabilities `GradientSettings`):

  source "extra" (DGA): after optimizer step t, if `gradients_due(t)`, one fresh batch per domain
      (rows drawn from the domain's training items, a function of seed, domain and draw only) and
      one target batch; g_i = ∇ of the batch's token-mean loss at the updated weights. Nothing is
      trained on: every token is charged as forward+backward (`extra_tokens`).
  source "step" (DoGE): every micro-batch of a due step is split by domain and each domain's
      token-mean loss is differentiated on its own (the DoGE trainer's per-domain losses);
      g_i = (1/G)·Σ_micro-batches ∇ mean_i. A domain absent from the step keeps its last gradient
      row (the DoGE code's persistent `flat_grad_mat`). With `combine`, the step's gradient is
      replaced — before clipping and the optimizer step — by Σ_i w_i·g_i over the domains present,
      w read from the strategy after it observed this step's gradients (so the proxy trains on the
      weights just computed, as DoGE does); each g_i is clipped first when `clip` is set.

Gradients are taken with `torch.autograd.grad` on the tracked parameters only, so `.grad` (the
training gradient) is untouched except by `combine`. Under DDP the token-weighted sums are
all-reduced, so every rank hands the strategy the same arrays.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..capabilities import GradientSettings
from .gradient_capability import TargetBatches, _sum_over_ranks, subset_parameter


class DomainBatches:
    """Fresh batches of one domain's training items: `batch(domain, draw)` depends on (seed, domain,
    draw) only, so a resumed run draws the same rows; `make_batch(domain, rows)` builds the batch."""

    def __init__(self, sizes: Sequence[int], make_batch: Callable[[int, np.ndarray], dict[str, Any]],
                 batch_size: int, seed: int):
        self.sizes, self.make_batch, self.batch_size, self.seed = list(sizes), make_batch, batch_size, seed

    def rows(self, domain: int, draw: int) -> np.ndarray:
        size = self.sizes[domain]
        rng = np.random.Generator(np.random.PCG64([self.seed, 13, domain, draw]))
        return rng.choice(size, size=self.batch_size, replace=self.batch_size > size)

    def batch(self, domain: int, draw: int, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
        return self.make_batch(domain, self.rows(domain, draw)[rank::world_size])


def rows_of(batch: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """The sub-batch of the given rows (tensors and lists indexed, anything else kept)."""
    index = torch.from_numpy(rows)
    return {k: v[index] if torch.is_tensor(v) else [v[i] for i in rows] if isinstance(v, list) else v
            for k, v in batch.items()}


def tracked_parameters(model: torch.nn.Module, name: str) -> list[torch.nn.Parameter]:
    """`all`: every trainable parameter; otherwise the one subset (`lm_head` or a parameter name)."""
    if name == "all":
        return [p for p in model.parameters() if p.requires_grad]
    return [subset_parameter(model, name)]


def flat_gradient(loss: torch.Tensor, parameters: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, parameters, allow_unused=True)
    return torch.cat([torch.zeros(p.numel(), device=p.device) if g is None else g.detach().float().flatten()
                      for g, p in zip(grads, parameters)])


class DomainGradients:
    def __init__(self, settings: GradientSettings, num_domains: int, grad_accum: int,
                 domains: DomainBatches | None = None, target: TargetBatches | None = None):
        if settings.source not in ("extra", "step"):
            raise ValueError(f"gradient source: 'extra' or 'step', got {settings.source!r}")
        if settings.source == "extra" and domains is None:
            raise ValueError("gradient source 'extra' needs the domains' training items")
        if settings.target and target is None:
            raise ValueError("the method needs a target gradient, and this task has no target (--target DOMAIN)")
        self.settings, self.num_domains, self.grad_accum = settings, num_domains, grad_accum
        self.domains, self.target = domains, target
        self.local_gradients = settings.combine   # rewrite each rank's gradient before the reduction
        self.extra_tokens = 0   # forward+backward tokens beyond training
        self.draws = 0          # due measurements so far (extra batches and target batches derive from it)
        self.seconds = 0.0
        self._memory: torch.Tensor | None = None   # "step": last gradient row per domain (scored part)
        self._reset()

    def _reset(self) -> None:
        self._sums: dict[int, torch.Tensor] = {}

    # -- helpers -------------------------------------------------------------------------------
    def _strategy(self, module: Any) -> Any:
        return module.trainer.datamodule.feeder.strategy

    def _scored(self, module: Any) -> list[torch.nn.Parameter]:
        return tracked_parameters(module.model, self.settings.parameters)

    def _tracked(self, module: Any) -> list[torch.nn.Parameter]:
        """Per-domain gradients kept for the step: every parameter when they are combined."""
        return tracked_parameters(module.model, "all" if self.settings.combine else self.settings.parameters)

    def _scored_slice(self, module: Any, flat: torch.Tensor) -> torch.Tensor:
        if not self.settings.combine or self.settings.parameters == "all":
            return flat
        pieces, offset = [], 0
        scored = {id(p) for p in self._scored(module)}
        for p in self._tracked(module):
            if id(p) in scored:
                pieces.append(flat[offset:offset + p.numel()])
            offset += p.numel()
        return torch.cat(pieces)

    def _mean_gradient(self, module: Any, batch: dict[str, Any], parameters: list[torch.nn.Parameter]) -> torch.Tensor:
        """∇ of the token-mean loss of a batch shared out between ranks (each rank holds its rows)."""
        result = module.objective(module.model, batch, module.device)
        tokens = torch.as_tensor(float(result.tokens), device=module.device)
        local = flat_gradient(result.loss * tokens, parameters)   # ∇ of this rank's token-loss sum
        self.extra_tokens += result.model_tokens
        total = _sum_over_ranks(module, tokens)
        return _sum_over_ranks(module, local) / total.clamp(min=1)

    def _target_gradient(self, module: Any) -> np.ndarray | None:
        if not self.settings.target:
            return None
        batches = self.target.batches(self.draws)   # a fresh shuffle per measurement; its first batch
        rows = np.arange(len(batches[0]))[module.trainer.global_rank::module.trainer.world_size]
        batch = self.target.collate([batches[0][i] for i in rows])
        return self._mean_gradient(module, batch, self._scored(module)).cpu().numpy()

    def _observe(self, module: Any, step: int, matrix: torch.Tensor) -> None:
        lr = module.trainer.optimizers[0].param_groups[0]["lr"]
        target = self._target_gradient(module)
        self._strategy(module).observe_gradients(step, matrix.cpu().numpy().astype(np.float64),
                                                 None if target is None else target.astype(np.float64), lr)
        self.draws += 1

    # -- "step": the step's own micro-batches ----------------------------------------------------
    def _step_due(self, module: Any) -> bool:
        return self.settings.source == "step" and self._strategy(module).gradients_due(module.trainer.global_step + 1)

    def before_microbatch(self, module: Any, batch: dict[str, Any]) -> None:
        if not self._step_due(module):
            return
        start = time.perf_counter()
        domains = batch["domain"].cpu().numpy()
        parameters = self._tracked(module)
        for domain in np.unique(domains):
            result = module.objective(module.model, rows_of(batch, np.flatnonzero(domains == domain)), module.device)
            grad = flat_gradient(result.loss / self.grad_accum, parameters)
            self.extra_tokens += result.model_tokens
            self._sums[int(domain)] = self._sums[int(domain)] + grad if int(domain) in self._sums else grad
        self.seconds += time.perf_counter() - start

    def after_microbatch(self, module: Any, result: Any) -> None:
        pass

    def before_optimizer_step(self, module: Any) -> None:
        if not self._step_due(module):
            return
        start = time.perf_counter()
        step, world = module.trainer.global_step + 1, module.trainer.world_size
        present = _sum_over_ranks(module, torch.as_tensor(
            [d in self._sums for d in range(self.num_domains)], dtype=torch.float32, device=module.device)) > 0
        size = sum(p.numel() for p in self._tracked(module))
        full = {d: _sum_over_ranks(module, self._sums.get(d, torch.zeros(size, device=module.device))) / world
                for d in range(self.num_domains) if present[d]}
        if self.settings.combine and self.settings.clip:
            full = {d: g * min(1.0, self.settings.clip / (float(g.norm()) + 1e-6)) for d, g in full.items()}
        scored = {d: self._scored_slice(module, g) for d, g in full.items()}
        if self._memory is None:
            self._memory = torch.zeros(self.num_domains, next(iter(scored.values())).numel()) if scored else None
        for d, g in scored.items():
            self._memory[d] = g.cpu()
        self._observe(module, step, self._memory)
        if self.settings.combine:
            self._combine(module, full)
        self._reset()
        self.seconds += time.perf_counter() - start

    def _combine(self, module: Any, full: dict[int, torch.Tensor]) -> None:
        weights = self._strategy(module).combination_weights()
        combined = sum(float(weights[d]) * g for d, g in full.items())
        offset = 0
        for p in self._tracked(module):
            p.grad = combined[offset:offset + p.numel()].view_as(p).to(p.dtype).clone()
            offset += p.numel()

    # -- "extra": fresh batches at the updated weights --------------------------------------------
    def after_optimizer_step(self, module: Any, stats: torch.Tensor) -> None:
        step = module.trainer.global_step
        if self.settings.source != "extra" or not self._strategy(module).gradients_due(step):
            return
        start = time.perf_counter()
        trainer, parameters = module.trainer, self._scored(module)
        rows = [self._mean_gradient(module, self.domains.batch(d, self.draws, trainer.global_rank, trainer.world_size),
                                    parameters) for d in range(self.num_domains)]
        self._observe(module, step, torch.stack(rows))
        self.seconds += time.perf_counter() - start

    def state_dict(self) -> dict[str, Any]:
        return {"draws": self.draws, "extra_tokens": self.extra_tokens, "seconds": self.seconds,
                "memory": None if self._memory is None else self._memory.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.draws, self.extra_tokens, self.seconds = state["draws"], state["extra_tokens"], state["seconds"]
        self._memory = None if state["memory"] is None else state["memory"].clone()


def for_pretraining(strategy: Any, data: Any, target_blocks: Sequence[np.ndarray] | None,
                    training: dict[str, Any], seed: int) -> DomainGradients:
    """The capability on a pre-training task: domain batches from the training blocks, the target
    from the held-out split of `--target` (batches of the training batch size unless the method says)."""
    from .gradient_capability import blocks_batch

    settings = strategy.gradient_settings()
    collate, size = blocks_batch(data.token_offset), settings.batch_size or training["batch_size"]
    domains = DomainBatches([len(b) for b in data.train_blocks],
                            lambda d, rows: collate([data.train_blocks[d][i] for i in rows]), size, seed)
    target = None if target_blocks is None else TargetBatches(lambda _pass: list(target_blocks), size, seed, collate)
    return DomainGradients(settings, len(data.domains), training.get("grad_accum", 1), domains, target)
