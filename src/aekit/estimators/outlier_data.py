"""What ``OutlierDetector`` needs to fit on data streamed from disk.

One pass over the source checks every value, splits the rows into training and held-out ones
(one byte per row), finds the range of the training rows, and keeps a random sample of them for
the robust scaler and the code statistics. The autoencoders then train on ``TrainingRows``: the
training rows of the source, scaled, read a chunk at a time like any other source.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataFileError
from ..io import RowSource
from ..training.data import release_freed_memory
from .data import held_out_mask
from .runtime import make_generator

#: the sample of training rows holds at most this many values (2 MiB in float64) ...
SAMPLE_VALUES = 1 << 18
#: ... and at least this many rows
MIN_SAMPLE_ROWS = 256


class TrainingRows(RowSource):
    """The rows of ``source`` that ``held_out`` does not mark, passed through ``transform``.

    Its chunks follow the source's (empty ones dropped), so memory stays one chunk.
    """

    def __init__(self, source: RowSource, held_out: np.ndarray, transform):
        self.source, self._held_out, self._transform = source, held_out, transform
        self.n_features, self.image_shape = source.n_features, source.image_shape
        # no feature names: the members see scaled rows, and are scored on arrays of them
        self.path, self.dtype = source.path, np.dtype(np.float32)
        self.chunks, self._parents = [], []
        start = 0
        for parent, (a, b) in enumerate(source.chunks):
            kept = int((b - a) - held_out[a:b].sum())
            if kept:
                self.chunks.append((start, start + kept))
                self._parents.append(parent)
                start += kept
        self.n_rows = start

    def read_chunk(self, index: int) -> np.ndarray:
        parent = self._parents[index]
        a, b = self.source.chunks[parent]
        rows = self.source.read_chunk(parent)[~self._held_out[a:b]]
        return self._transform(rows)


class StreamScan:
    """The one pass over a source before a streamed detector fit (see the module docstring).

    Attributes: ``held_out`` (bool per row), ``n_train``, ``low``/``high`` (the range of the
    training rows) and ``sample`` (training rows in file order; all of them when they fit in
    the sample budget, so a small file gives the scaler an array of the same rows would).
    """

    def __init__(self, source: RowSource, validation_fraction: float | None, rng):
        n = source.n_rows
        if n < 2:
            raise DataFileError(
                f"{source.path or 'The data'} has {n} row(s); fitting needs at least 2."
            )
        self.held_out = held_out_mask(n, validation_fraction,
                                      make_generator(int(rng.randint(2**31 - 1))),
                                      exact=False, min_train=2)
        self.n_train = int(n - self.held_out.sum())
        n_sample = min(self.n_train,
                       max(MIN_SAMPLE_ROWS, SAMPLE_VALUES // max(source.n_features, 1)))
        picker = np.random.default_rng(int(rng.randint(2**31 - 1)))
        wanted = np.sort(picker.choice(self.n_train, n_sample, replace=False))
        self.sample_rows = np.flatnonzero(~self.held_out)[wanted]  # rows of the file
        self.low, self.high = np.inf, -np.inf
        self.sample = np.empty((n_sample, source.n_features))
        seen = 0  # training rows before the current chunk
        for start, stop, rows in source.checked_chunks():
            train = rows[~self.held_out[start:stop]]
            if len(train):
                self.low = min(self.low, float(train.min()))
                self.high = max(self.high, float(train.max()))
            lo, hi = np.searchsorted(wanted, [seen, seen + len(train)])
            self.sample[lo:hi] = train[wanted[lo:hi] - seen]
            seen += len(train)
            del rows, train
            release_freed_memory()
