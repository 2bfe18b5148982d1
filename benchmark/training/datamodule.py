"""The data module of every family: per-domain item sources and the live mixture feeder.

Pre-training serves token blocks, FLAD serves prompted examples of its arms (and of the target, for
methods that mix it in); both come from the same `MixtureFeeder`, planned live by the strategy."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

import lightning as L
from torch.utils.data import DataLoader, IterableDataset

from ..data.mixture import MixtureFeeder, Serve
from ..strategies.base import MixingStrategy


class _Ticks(IterableDataset):
    """An endless stream of placeholders. The real micro-batch is drawn inside training_step, so
    Lightning's one-batch prefetch can never read the strategy's plan before the last update."""

    def __iter__(self) -> Iterator[int]:
        tick = 0
        while True:
            yield tick
            tick += 1


class MixtureDataModule(L.LightningDataModule):
    def __init__(self, sources: Sequence[np.ndarray], strategy: MixingStrategy, batch_size: int, grad_accum: int,
                 seed: int, serve: Serve):
        super().__init__()
        self.sources = sources   # per domain: its items (token blocks, or example indices)
        self.serve = serve
        self.strategy = strategy
        self.batch_size = batch_size
        self.grad_accum = grad_accum
        self.seed = seed
        self.feeder: MixtureFeeder | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.feeder is None:
            world_size = self.trainer.world_size if self.trainer else 1
            rank = self.trainer.global_rank if self.trainer else 0
            self.feeder = MixtureFeeder(self.sources, self.strategy, self.batch_size, self.grad_accum, self.seed,
                                        world_size, rank, serve=self.serve)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Ticks(), batch_size=None)

    def state_dict(self) -> dict[str, Any]:
        return self.feeder.state_dict() if self.feeder else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.setup()
        self.feeder.load_state_dict(state)
