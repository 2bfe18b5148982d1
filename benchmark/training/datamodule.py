"""The data module: per-domain sources, fixed held-out splits, and the live mixture feeder."""

from __future__ import annotations

from typing import Any, Iterator

import lightning as L
from torch.utils.data import DataLoader, IterableDataset

from ..data.mixture import MixtureFeeder
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
    def __init__(self, data: Any, strategy: MixingStrategy, batch_size: int, grad_accum: int, seed: int):
        super().__init__()
        self.data = data
        self.strategy = strategy
        self.batch_size = batch_size
        self.grad_accum = grad_accum
        self.seed = seed
        self.feeder: MixtureFeeder | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.feeder is None:
            world_size = self.trainer.world_size if self.trainer else 1
            rank = self.trainer.global_rank if self.trainer else 0
            self.feeder = MixtureFeeder(self.data.train_blocks, self.strategy, self.batch_size,
                                        self.grad_accum, self.seed, world_size, rank, self.data.token_offset)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Ticks(), batch_size=None)

    def state_dict(self) -> dict[str, Any]:
        return self.feeder.state_dict() if self.feeder else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.setup()
        self.feeder.load_state_dict(state)
