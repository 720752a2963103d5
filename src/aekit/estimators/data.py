"""The data of one fit or one scoring call: an array in memory, or a source streamed from disk.

``ArrayData`` and ``SourceData`` give the estimator the same things: column statistics for the
scaler, a digest that ties a checkpoint to the data, and the training/held-out batch sources
for the one training loop. They receive the fitted ``Scaler`` and the network's layout function,
never the estimator. ``held_out_mask`` is the one rule for holding rows out (for early stopping
and for the detector's calibration); ``rows_of`` applies a computation to an array or to a
source chunk by chunk. A streamed fit holds one or two chunks of rows, never the whole data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..errors import DataFileError
from ..io import RowSource, is_source, open_source
from ..training import TensorBatches
from ..training.data import ChunkBatches, release_freed_memory
from .scaling import ColumnStats, Scaler


@dataclass
class BatchPlan:
    """How to cut the training data into batches for this fit (DDP shards included)."""

    batch_size: int
    generator: torch.Generator
    order_generator: torch.Generator  # the same on every process: the chunk order
    device: torch.device
    rank: int = 0
    world_size: int = 1


def held_out_mask(n_rows: int, fraction: float | None, generator: torch.Generator, *,
                  exact: bool = True, min_train: int = 1) -> np.ndarray:
    """Which rows to hold out (one byte per row), drawn from ``generator``.

    ``exact``: ``round(fraction * n_rows)`` rows (at least one), by a random permutation; else
    each row with probability ``fraction`` (for data streamed from disk, in blocks of rows).
    Either way at least ``min_train`` rows stay for training, and at least one row is held out
    when there are more than ``min_train`` rows; ``fraction=None`` holds nothing out.
    """
    mask = np.zeros(n_rows, dtype=bool)
    if fraction is None or n_rows <= min_train:
        return mask
    if exact:
        n_out = min(max(1, round(fraction * n_rows)), n_rows - min_train)
        mask[torch.randperm(n_rows, generator=generator)[:n_out].numpy()] = True
        return mask
    block = 1 << 20
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        mask[start:stop] = (torch.rand(stop - start, generator=generator) < fraction).numpy()
    excess = int(mask.sum()) - (n_rows - min_train)
    if excess > 0:
        mask[np.flatnonzero(mask)[:excess]] = False
    if not mask.any():
        mask[-1] = True
    return mask


class ArrayData:
    """A validated 2-D array (rows of features) held in memory."""

    streamed = False

    def __init__(self, X: np.ndarray):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.stats = ColumnStats.from_array(X)

    def digest(self, scaler: Scaler) -> str:
        return hashlib.sha256(np.ascontiguousarray(scaler.apply(self.X)).tobytes()).hexdigest()

    def robust_scaler(self) -> Scaler:
        """Median and IQR / 1.349 per column (outliers among the rows do not set the scale)."""
        from .thresholds import robust_scaler

        return Scaler(*robust_scaler(self.X))

    def batches(self, scaler: Scaler, to_network: Callable[[Tensor], Tensor], plan: BatchPlan,
                validation_fraction: float | None):
        data = to_network(torch.from_numpy(np.ascontiguousarray(scaler.apply(self.X))))
        size, device, rank, world = plan.batch_size, plan.device, plan.rank, plan.world_size
        if validation_fraction is None:
            return TensorBatches(data, size, device, rank, world), None
        held_out = torch.from_numpy(held_out_mask(self.n_rows, validation_fraction,
                                                  plan.generator))
        return (TensorBatches(data[~held_out], size, device, rank, world),
                TensorBatches(data[held_out], size, device, rank, world))


class SourceData:
    """Rows read from a ``RowSource`` a chunk at a time; one pass here checks every value and
    gathers the scaler's statistics (and, for checkpoints, a SHA-256 of the data)."""

    streamed = True

    def __init__(self, source: RowSource, *, digest: bool = False, scan: bool = True,
                 min_rows: int = 2):
        if source.n_rows < min_rows:
            raise DataFileError(
                f"{source.path or 'The data'} has {source.n_rows} row(s); fitting needs at "
                f"least {min_rows}."
            )
        self.source = source
        self.n_rows, self.n_features = source.n_rows, source.n_features
        self.stats = ColumnStats(source.n_features)
        self._checked = scan  # without the scan, each chunk is checked as training reads it
        hasher = hashlib.sha256() if digest else None
        for _, _, rows in source.checked_chunks() if scan else ():
            self.stats.update(rows)
            if hasher is not None:
                hasher.update(np.ascontiguousarray(rows).tobytes())
            del rows
            release_freed_memory()
        self._digest = hasher.hexdigest() if hasher is not None else ""

    def digest(self, scaler: Scaler) -> str:
        return self._digest

    def robust_scaler(self) -> Scaler:
        raise ValueError(
            f"scaling='robust' needs the data in memory (medians and quartiles); "
            f"{self.source.path or 'the data'} is streamed. Use scaling='standard', or "
            "OutlierDetector, which scales robustly from a sample of the rows."
        )

    def _reader(self, scaler: Scaler, to_network, held_out: np.ndarray | None,
                validation: bool = False):
        """Chunk ``index`` as the network's input: its training rows, or with ``validation``
        its held-out rows (``held_out`` marks them; None: all rows are training rows)."""
        source = self.source

        def read(index: int) -> Tensor:
            start, stop = source.chunks[index]
            rows = source.read_chunk(index)
            if not self._checked:
                source.check_rows(rows, start)
            if held_out is not None:
                rows = rows[held_out[start:stop] == validation]
            rows = scaler.apply_in_place(rows)  # a fresh buffer of the source's: no copies
            return to_network(torch.from_numpy(np.ascontiguousarray(rows)))

        return read

    def batches(self, scaler: Scaler, to_network, plan: BatchPlan,
                validation_fraction: float | None):
        chunks = self.source.chunks
        common = dict(device=plan.device, rank=plan.rank, world_size=plan.world_size,
                      order_generator=plan.order_generator)
        if validation_fraction is None:
            sizes = [stop - start for start, stop in chunks]
            return ChunkBatches(self._reader(scaler, to_network, None), sizes,
                                plan.batch_size, **common), None
        held_out = held_out_mask(self.n_rows, validation_fraction, plan.generator, exact=False)
        val_sizes = [int(held_out[a:b].sum()) for a, b in chunks]
        train_sizes = [b - a - n for (a, b), n in zip(chunks, val_sizes)]
        return (
            ChunkBatches(self._reader(scaler, to_network, held_out), train_sizes,
                         plan.batch_size, **common),
            ChunkBatches(self._reader(scaler, to_network, held_out, validation=True),
                         val_sizes, plan.batch_size, plan.device),
        )


def check_source(estimator, X, *, reset: bool) -> RowSource:
    """Open ``X`` as a source; record its features on ``estimator`` (``reset``) or check them
    against the fitted ones (by name where both have names)."""
    source = open_source(X)
    names = source.feature_names
    if reset:
        estimator.n_features_in_ = source.n_features
        if names is not None:
            estimator.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return source
    what, name = source.path or "X", type(estimator).__name__
    if source.n_features != estimator.n_features_in_:
        raise ValueError(
            f"{what} has {source.n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and names is not None and list(fitted) != list(names):
        raise ValueError(
            f"{what} has columns {names[:5]}..., but {name} was fitted on "
            f"{list(fitted)[:5]}...; give the same columns in the same order."
        )
    return source


def rows_of(X, compute, *, check_array, check_source) -> np.ndarray | dict[str, np.ndarray]:
    """``compute(rows)`` on ``check_array(X)``, or chunk by chunk when ``X`` is data on disk
    (``check_source(X)`` opens it; memory: one chunk and the result). Results (an array, or a
    dict of arrays) are stacked along the first axis."""
    if not is_source(X):
        return compute(check_array(X))
    source = check_source(X)
    if source.n_rows == 0:
        raise DataFileError(f"{source.path or 'X'} has no rows; give data with rows.")
    out = None
    for start, stop, rows in source.checked_chunks():
        part = compute(rows)
        release_freed_memory()
        parts = part if isinstance(part, dict) else {"": part}
        if out is None:
            out = {k: np.empty((source.n_rows, *v.shape[1:]), v.dtype) for k, v in parts.items()}
        for key, value in parts.items():
            out[key][start:stop] = value
    return out if isinstance(part, dict) else out[""]
