"""Batch sources for the training loop: the loop asks each for an epoch's batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch import Tensor


class BatchSource(Protocol):
    """Anything that yields an epoch of batches; in-memory tensors now, streamed files later."""

    n_samples: int

    def epoch(self, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
        ...


class TensorBatches:
    """Mini-batches sliced from one tensor by a shuffled index: no per-row Dataset, no collate.

    The last batch may be smaller; ``n_samples < batch_size`` gives one batch. With
    ``world_size > 1`` (DDP) every process draws the same global batch (same generator state)
    and keeps its share ``rank::world_size`` of it, so ``batch_size`` is the global batch.
    """

    def __init__(self, data: Tensor, batch_size: int, device: torch.device | str = "cpu",
                 rank: int = 0, world_size: int = 1):
        self.data = data
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.n_samples = int(data.shape[0])
        self.rank, self.world_size = int(rank), int(world_size)

    def epoch(self, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
        n, bs = self.n_samples, self.batch_size
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, bs):
            if order is None and self.world_size == 1:
                batch = self.data[start : start + bs]
            else:
                index = torch.arange(start, min(start + bs, n)) if order is None else \
                    order[start : start + bs]
                index = index[self.rank :: self.world_size]
                if index.numel() == 0:
                    continue
                batch = self.data.index_select(0, index)
            yield batch.to(self.device, non_blocking=True)
