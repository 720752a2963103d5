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

    The last batch may be smaller; ``n_samples < batch_size`` gives one batch.
    """

    def __init__(self, data: Tensor, batch_size: int, device: torch.device | str = "cpu"):
        self.data = data
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.n_samples = int(data.shape[0])

    def epoch(self, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
        n, bs = self.n_samples, self.batch_size
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, bs):
            if order is None:
                batch = self.data[start : start + bs]
            else:
                batch = self.data.index_select(0, order[start : start + bs])
            yield batch.to(self.device, non_blocking=True)
