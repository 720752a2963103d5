"""Batch sources for the training loop: the loop asks each for an epoch's batches."""

from __future__ import annotations

import ctypes
import functools
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
    Every process takes the same number of steps: a last global batch with fewer rows than
    processes is left for a later epoch when shuffling (a process without rows would skip the
    step and the others' gradient exchange would wait for it forever), and kept by the
    processes that have rows when not shuffling (evaluation has no gradient exchange).
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
        if shuffle and n < self.world_size:
            raise ValueError(
                f"Training under {self.world_size} processes needs at least as many rows; "
                f"got {n}. Use fewer processes."
            )
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, bs):
            if shuffle and n - start < self.world_size:
                break  # too few rows for every process to take a step (see the docstring)
            if order is None and self.world_size == 1:
                batch = self.data[start : start + bs]
            else:
                index = torch.arange(start, min(start + bs, n)) if order is None else \
                    order[start : start + bs]
                index = index[self.rank :: self.world_size]
                if index.numel() == 0:
                    continue
                batch = self.data.index_select(0, index)
                if self.device.type == "cuda":  # a fresh batch: page-locked for an async copy
                    batch = batch.pin_memory()
            yield batch.to(self.device, non_blocking=True)


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def release_freed_memory() -> None:
    """Hand memory freed by the C allocator back to the system (glibc's ``malloc_trim``).

    Streaming allocates and frees a chunk-sized buffer many times; glibc raises its mmap
    threshold after the first frees and then keeps freed chunks in its heaps, so without a trim
    the resident size creeps up with the number of chunks read instead of staying bounded.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class ChunkBatches:
    """Mini-batches streamed from chunks of rows read on demand (data larger than memory).

    ``read_chunk(i)`` returns chunk ``i`` as the network's input (a CPU tensor of
    ``chunk_sizes[i]`` rows). An epoch visits the chunks in a shuffled order, ``mix`` chunks at
    a time: their rows are pooled and shuffled together (a shuffle buffer), so that a batch mixes
    rows from several places of the file even when the file is sorted. Rows left over join the
    next pool, so batches keep their size. The next pool is read on a background thread while
    the current one trains: memory holds about ``2 * mix`` chunks, whatever the number of rows.

    Under DDP (``world_size > 1``) process ``rank`` reads only its chunks (every
    ``world_size``-th of the shuffled order) and takes ``batch_size // world_size`` rows per
    step, so ``batch_size`` stays the global batch; every process runs the same number of steps
    (the rows that do not fill a step on the process with the fewest rows wait for a later epoch).
    """

    def __init__(self, read_chunk, chunk_sizes: list[int], batch_size: int,
                 device: torch.device | str = "cpu", rank: int = 0, world_size: int = 1,
                 mix: int = 4, order_generator: torch.Generator | None = None):
        self.read_chunk = read_chunk
        self.chunk_sizes = [int(n) for n in chunk_sizes]
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.rank, self.world_size = int(rank), int(world_size)
        self.mix = max(1, int(mix))
        self.n_samples = sum(self.chunk_sizes)
        self._order_generator = order_generator
        if self.world_size > 1 and sum(1 for n in self.chunk_sizes if n) < self.world_size:
            raise ValueError(
                f"Streaming under {self.world_size} processes needs at least as many chunks "
                f"with rows; the data has {len(self.chunk_sizes)}. Use smaller chunks "
                "(chunk_rows=..., or smaller Parquet row groups)."
            )

    def _plan(self, generator, shuffle: bool) -> tuple[list[int], int, int | None]:
        """This process's chunks, its batch size and the number of steps (None: all rows).

        Under DDP the chunk order comes from ``order_generator``, which every process holds in
        the same state (the row shuffles consume each process's ``generator`` differently, and
        every process must draw the same order in every epoch); without one, a generator seeded
        by one draw from ``generator`` on the first epoch. Empty chunks are left out before the
        chunks are dealt, so that no process is dealt only empty ones.
        """
        nonempty = [i for i, size in enumerate(self.chunk_sizes) if size]
        if shuffle and self.world_size > 1:
            if self._order_generator is None:
                seed = int(torch.randint(2**62, (1,), generator=generator))
                self._order_generator = torch.Generator().manual_seed(seed)
            generator = self._order_generator
        order = ([nonempty[i] for i in torch.randperm(len(nonempty), generator=generator).tolist()]
                 if shuffle else nonempty)
        if self.world_size == 1:
            return order, self.batch_size, None
        local = max(1, self.batch_size // self.world_size)
        shares = [order[r :: self.world_size] for r in range(self.world_size)]
        rows = [sum(self.chunk_sizes[i] for i in share) for share in shares]
        return shares[self.rank], local, max(1, min(rows) // local)

    def _read_pool(self, chunks: list[int]) -> Tensor:
        parts = [self.read_chunk(i) for i in chunks]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def epoch(self, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
        from concurrent.futures import ThreadPoolExecutor

        chunks, size, steps = self._plan(generator, shuffle)
        pools = [chunks[k : k + self.mix] for k in range(0, len(chunks), self.mix)]
        pin = self.device.type == "cuda"
        done, carry = 0, None
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(self._read_pool, pools[0]) if pools else None
            for k in range(len(pools)):
                rows = pending.result()
                release_freed_memory()  # the previous pool's buffers
                pending = reader.submit(self._read_pool, pools[k + 1]) if k + 1 < len(pools) \
                    else None
                if shuffle:
                    rows = rows[torch.randperm(rows.shape[0], generator=generator)]
                if pin:
                    rows = rows.pin_memory()
                offset = 0
                if carry is not None:  # complete the batch left over from the last pool
                    offset = min(size - carry.shape[0], rows.shape[0])
                    carry = torch.cat([carry, rows[:offset]])
                    if carry.shape[0] < size:
                        continue
                    if steps is not None and done == steps:
                        return
                    yield carry.to(self.device, non_blocking=True)
                    done, carry = done + 1, None
                end = offset + (rows.shape[0] - offset) // size * size
                for start in range(offset, end, size):
                    if steps is not None and done == steps:
                        return
                    yield rows[start : start + size].to(self.device, non_blocking=True)
                    done += 1
                carry = rows[end:].clone() if end < rows.shape[0] else None
                del rows
            if carry is not None and (steps is None or done < steps):
                yield carry.to(self.device, non_blocking=True)
