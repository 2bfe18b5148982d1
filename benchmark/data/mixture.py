"""Serving micro-batches from the domains a strategy chose, live, deterministically, resumably.

`DomainReader` is one domain's endless training stream: a fixed-length block array (in memory or
a memory-mapped token shard) read in a seeded permutation; when a domain is exhausted it starts a
new, reshuffled epoch of itself. Its only state is the number of blocks consumed, so a resumed run
fast-forwards in O(1).

`MixtureFeeder` asks the strategy for the plan of each optimizer step at the moment that step's
first micro-batch is requested — after the previous step's update — so the plan is always live.
Every rank walks the whole global plan (advancing every domain's position for every row) and
materialises only its own rows (r, r + world_size, ...): no sample is served twice, and all ranks
stay in step without communication.

What an item is belongs to the benchmark: a `serve` function turns a micro-batch's (domain, item
index, stream position) triples into the batch the objective reads — token blocks for
pre-training (`serve_token_blocks`), prompted examples for FLAD (benchmark/flad/fit_parts.py).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..strategies.base import MixingStrategy


class DomainReader:
    def __init__(self, blocks: np.ndarray, seed: int, domain_index: int):
        if len(blocks) == 0:
            raise ValueError(f"domain {domain_index} has no training blocks")
        self.blocks = blocks
        self.seed = seed
        self.domain_index = domain_index
        self.position = 0
        self._epoch = -1
        self._order: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.blocks)

    def _order_for(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            rng = np.random.Generator(np.random.PCG64([self.seed, self.domain_index, epoch]))
            self._order = rng.permutation(len(self.blocks))
            self._epoch = epoch
        assert self._order is not None
        return self._order

    def reserve(self, count: int) -> np.ndarray:
        """Claim the next `count` block indices of this domain's stream (vectorised per epoch)."""
        n = len(self.blocks)
        positions = np.arange(self.position, self.position + count)
        epochs, offsets = np.divmod(positions, n)
        out = np.empty(count, dtype=np.int64)
        for epoch in np.unique(epochs):   # one or two epochs per call in practice
            mask = epochs == epoch
            out[mask] = self._order_for(int(epoch))[offsets[mask]]
        self.position += count
        return out

    @property
    def epochs(self) -> float:
        return self.position / len(self.blocks)


Serve = Callable[[Sequence[DomainReader], np.ndarray, np.ndarray, np.ndarray], dict[str, Any]]


def serve_token_blocks(token_offset: int = 0) -> Serve:
    """Pre-training items: each reader's rows are fixed-length token blocks (word ids + offset)."""
    def serve(readers: Sequence[DomainReader], domains: np.ndarray, indices: np.ndarray,
              positions: np.ndarray) -> dict[str, Any]:
        tokens = np.stack([readers[d].blocks[i] for d, i in zip(domains, indices)])
        return {"input_ids": torch.from_numpy(np.asarray(tokens, dtype=np.int64) + token_offset),
                "domain": torch.from_numpy(domains.astype(np.int64))}
    return serve


class MixtureFeeder:
    """Plans each step with the strategy and serves this rank's micro-batches of it."""

    def __init__(self, blocks: Sequence[np.ndarray], strategy: MixingStrategy, batch_size: int,
                 grad_accum: int, seed: int, world_size: int = 1, rank: int = 0, token_offset: int = 0,
                 serve: Serve | None = None):
        self.readers = [DomainReader(b, seed, i) for i, b in enumerate(blocks)]
        self.serve = serve or serve_token_blocks(token_offset)
        self.strategy = strategy
        self.batch_size = batch_size
        self.grad_accum = grad_accum
        self.world_size = world_size
        self.rank = rank
        self.step = 1                     # 1-indexed optimizer step being served
        self.microbatch_in_step = 0
        self.strategy_seconds = 0.0       # time spent inside plan() and update()
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _plan_step(self) -> None:
        start = time.perf_counter()
        plan = self.strategy.plan(self.step, self.world_size * self.grad_accum, self.batch_size)
        self.strategy_seconds += time.perf_counter() - start
        self._rows = []
        for row_index, row in enumerate(plan):
            indices = np.empty(self.batch_size, dtype=np.int64)
            positions = np.empty(self.batch_size, dtype=np.int64)   # place in the domain's stream
            for domain in np.unique(row):
                mask = row == domain
                reader = self.readers[domain]
                positions[mask] = reader.position + np.arange(int(mask.sum()))
                indices[mask] = reader.reserve(int(mask.sum()))
            if row_index % self.world_size == self.rank:
                self._rows.append((row.copy(), indices, positions))

    def next_microbatch(self) -> dict[str, torch.Tensor]:
        if self.microbatch_in_step == 0:
            self._plan_step()
        domains, indices, positions = self._rows[self.microbatch_in_step]
        self.microbatch_in_step += 1
        if self.microbatch_in_step == self.grad_accum:
            self.microbatch_in_step = 0
            self.step += 1
        return self.serve(self.readers, domains, indices, positions)

    def update_strategy(self, step: int, stats: Any, lr: float | None) -> None:
        start = time.perf_counter()
        self.strategy.update(step, stats, lr)
        self.strategy_seconds += time.perf_counter() - start

    def state_dict(self) -> dict[str, Any]:
        if self.microbatch_in_step != 0:
            raise RuntimeError("feeder state is only saved between optimizer steps")
        return {"step": self.step, "positions": [r.position for r in self.readers],
                "strategy": self.strategy.state_dict(), "strategy_seconds": self.strategy_seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.microbatch_in_step = 0
        for reader, position in zip(self.readers, state["positions"]):
            reader.position = position
        self.strategy.load_state_dict(state["strategy"])
        self.strategy_seconds = state["strategy_seconds"]

    def epochs_per_domain(self) -> list[float]:
        return [r.epochs for r in self.readers]
