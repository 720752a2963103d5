"""The training data of one fit: an array in memory, or a source streamed from disk.

Both give the estimator the same things: column statistics for the scaler, a digest that ties a
checkpoint to the data, and the training/validation batch sources for the one training loop.
A streamed fit holds one or two chunks of rows in memory, never the whole data.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor

from ..io.data import DataFileError
from ..io.sources import RowSource, is_source, open_source
from ..training import TensorBatches
from ..training.data import ChunkBatches, release_freed_memory
from ._scaling import ColumnStats, apply_scaler

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class ArrayData:
    """A validated 2-D array (rows of features) held in memory."""

    streamed = False

    def __init__(self, X: np.ndarray):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.stats = ColumnStats.from_array(X)

    def network_input(self, estimator) -> Tensor:
        Xs = apply_scaler(self.X, estimator._scale_offset, estimator._scale_factor)
        return estimator._to_network(torch.from_numpy(np.ascontiguousarray(Xs)))

    def digest(self, estimator) -> str:
        Xs = apply_scaler(self.X, estimator._scale_offset, estimator._scale_factor)
        return hashlib.sha256(np.ascontiguousarray(Xs).tobytes()).hexdigest()

    def batches(self, estimator, generator, *, validation_fraction, device, rank, world_size):
        data = self.network_input(estimator)
        size = estimator.batch_size
        if validation_fraction is None:
            return TensorBatches(data, size, device, rank, world_size), None
        n = data.shape[0]
        n_val = min(max(1, round(validation_fraction * n)), n - 1)
        order = torch.randperm(n, generator=generator)
        return (TensorBatches(data[order[n_val:]], size, device, rank, world_size),
                TensorBatches(data[order[:n_val]], size, device, rank, world_size))


def check_chunk(rows: np.ndarray, source: RowSource, start: int) -> np.ndarray:
    """Refuse missing, infinite and float32-overflowing values, naming the row in the file."""
    bad = ~np.isfinite(rows)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        name = source.feature_names[col] if source.feature_names else f"column {col}"
        raise DataFileError(
            f"{source.path or 'The data'} has missing or infinite values (first: row "
            f"{start + row + 1}, {name}); fill or drop them first."
        )
    if rows.size and rows.dtype == np.float64 and float(np.abs(rows).max()) > _FLOAT32_MAX:
        raise DataFileError(
            f"{source.path or 'The data'} has values too large for float32 near row "
            f"{start + 1}; rescale them before fitting."
        )
    return rows


def check_source(estimator, X, *, reset: bool) -> RowSource:
    """Open ``X`` as a source; record its features on ``estimator`` (``reset``) or check them
    against the fitted ones."""
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


def over_rows(X, compute, *, check_array, check_source) -> np.ndarray:
    """``compute(rows)`` on ``check_array(X)``, or chunk by chunk when ``X`` is data on disk
    (``check_source(X)`` opens it; memory: one chunk and the result). Results are stacked
    along the first axis."""
    if not is_source(X):
        return compute(check_array(X))
    source = check_source(X)
    if source.n_rows == 0:
        raise DataFileError(f"{source.path or 'X'} has no rows; give data with rows.")
    out = None
    for index, (start, stop) in enumerate(source.chunks):
        part = compute(check_chunk(source.read_chunk(index), source, start))
        release_freed_memory()
        if out is None:
            out = np.empty((source.n_rows, *part.shape[1:]), part.dtype)
        out[start:stop] = part
    return out


class StreamedData:
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
        for index, (start, _) in enumerate(source.chunks if scan else ()):
            rows = check_chunk(source.read_chunk(index), source, start)
            self.stats.update(rows)
            if hasher is not None:
                hasher.update(np.ascontiguousarray(rows).tobytes())
            del rows
            release_freed_memory()
        self._digest = hasher.hexdigest() if hasher is not None else ""

    def digest(self, estimator) -> str:
        return self._digest

    def _reader(self, estimator, held_out: np.ndarray | None, validation: bool = False):
        """Chunk ``index`` as the network's input: its training rows, or with ``validation``
        its held-out rows (``held_out`` marks them; None: all rows are training rows)."""
        source = self.source

        def read(index: int) -> Tensor:
            start, stop = source.chunks[index]
            rows = source.read_chunk(index)
            if not self._checked:
                check_chunk(rows, source, start)
            if held_out is not None:
                rows = rows[held_out[start:stop] == validation]
            if rows.dtype == np.float32 and rows.flags.owndata and rows.flags.writeable:
                # a fresh buffer of the source's: scale it in place, no copies
                rows -= estimator._scale_offset.astype(np.float32)
                rows /= estimator._scale_factor.astype(np.float32)
            else:
                rows = apply_scaler(rows, estimator._scale_offset, estimator._scale_factor)
            return estimator._to_network(torch.from_numpy(np.ascontiguousarray(rows)))

        return read

    def batches(self, estimator, generator, *, validation_fraction, device, rank, world_size):
        size = estimator.batch_size
        chunks = self.source.chunks
        order = estimator._order_generator  # the same on every process (DDP)
        if validation_fraction is None:
            sizes = [stop - start for start, stop in chunks]
            return ChunkBatches(self._reader(estimator, None), sizes, size, device, rank,
                                world_size, order_generator=order), None
        held_out = _validation_mask(self.n_rows, validation_fraction, generator)
        val_sizes = [int(held_out[a:b].sum()) for a, b in chunks]
        train_sizes = [b - a - n for (a, b), n in zip(chunks, val_sizes)]
        return (
            ChunkBatches(self._reader(estimator, held_out), train_sizes, size, device, rank,
                         world_size, order_generator=order),
            ChunkBatches(self._reader(estimator, held_out, validation=True), val_sizes, size,
                         device),
        )


def _validation_mask(n_rows: int, fraction: float, generator) -> np.ndarray:
    """Each row held out with probability ``fraction`` (one byte per row; at least one row on
    each side)."""
    mask = np.empty(n_rows, dtype=bool)
    block = 1 << 20
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        mask[start:stop] = (torch.rand(stop - start, generator=generator) < fraction).numpy()
    if mask.all():
        mask[0] = False
    if not mask.any():
        mask[-1] = True
    return mask
