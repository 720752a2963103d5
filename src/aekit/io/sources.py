"""Data on disk read a chunk of rows at a time, so that estimators can fit data larger than memory.

A *source* knows its shape and reads one chunk of rows on demand: ``NpySource`` (a ``.npy`` file,
read with plain file reads at row offsets, never loaded whole), ``ParquetSource`` (a Parquet file
or a folder of them, one row group per chunk, read with pyarrow), ``ImageFolderSource`` (a folder
of same-size images) and ``ArraySource`` (any sliceable array, e.g. a ``np.memmap``). The
estimators take a source, or a path that ``open_source`` turns into one, wherever they take an
array: ``Autoencoder().fit("big.npy")``.

Every reader of a source goes through ``RowSource.checked_chunks``: one chunk at a time, its
values checked (missing, infinite, too large for float32), each problem named by its row in the
file. A streamed fit holds a few pools of chunks at a time
(``aekit.training.data.ChunkBatches``), so its peak memory depends on ``chunk_rows`` and not on
the number of rows. Every problem is a ``DataFileError`` naming the file and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import DataFileError

#: the largest magnitude a float32 holds: what the networks compute in
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: default chunk size in bytes (float32 rows): big enough for fast reads, small next to memory
CHUNK_BYTES = 4 << 20


def _default_chunk_rows(n_features: int) -> int:
    return max(1, CHUNK_BYTES // (4 * max(n_features, 1)))


class RowSource:
    """Rows of a dataset, read a chunk at a time (see the module docstring).

    Subclasses set ``n_rows``, ``n_features``, ``chunks`` (a list of ``(start, stop)`` row
    ranges covering the rows in order), ``dtype`` (float32 or float64, what ``read_chunk``
    returns) and implement ``read_chunk``.
    """

    feature_names: list[str] | None = None
    image_shape: tuple[int, int, int] | None = None  # (channels, height, width) for images
    path: str = ""

    def read_chunk(self, index: int) -> np.ndarray:
        """Rows ``chunks[index]`` as a new 2-D array (images flattened to C*H*W columns)."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path or '<array>'!r}: {self.n_rows} rows x "
                f"{self.n_features} features in {len(self.chunks)} chunks)")

    def _make_chunks(self, chunk_rows: int | None) -> list[tuple[int, int]]:
        rows = _default_chunk_rows(self.n_features) if chunk_rows is None else int(chunk_rows)
        if rows < 1:
            raise ValueError(f"chunk_rows must be a positive number of rows; got {chunk_rows!r}.")
        return [(start, min(start + rows, self.n_rows)) for start in range(0, self.n_rows, rows)]

    def fingerprint(self) -> dict:
        """What identifies this data for checkpoints (the estimators add a content hash)."""
        return {"source": type(self).__name__, "n_rows": self.n_rows,
                "n_features": self.n_features}

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one row: ``image_shape`` for images, else ``(n_features,)``."""
        return tuple(self.image_shape) if self.image_shape else (self.n_features,)

    def check_rows(self, rows: np.ndarray, start: int, *, allow_missing: bool = False) \
            -> np.ndarray:
        """``rows`` (chunk rows from ``start``) if their values can be used, else a
        ``DataFileError`` naming the first bad row (1-based, as in the file) and column.

        Missing values (NaN) pass with ``allow_missing``; infinite values never do, nor values
        too large for float32.
        """
        bad = np.isinf(rows) if allow_missing else ~np.isfinite(rows)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            name = self.feature_names[col] if self.feature_names else f"column {col}"
            what = "infinite" if allow_missing else "missing or infinite"
            raise DataFileError(
                f"{self.path or 'The data'} has {what} values (first: row {start + row + 1}, "
                f"{name}); fill or drop them first."
            )
        if rows.size and rows.dtype == np.float64:
            peak = float(np.nanmax(np.abs(rows))) if allow_missing else float(np.abs(rows).max())
            if peak > FLOAT32_MAX:
                raise DataFileError(
                    f"{self.path or 'The data'} has values too large for float32 near row "
                    f"{start + 1}; rescale them before fitting."
                )
        return rows

    def checked_chunks(self, *, allow_missing: bool = False) \
            -> Iterator[tuple[int, int, np.ndarray]]:
        """``(start, stop, rows)`` for each chunk in order, its values checked
        (``check_rows``); memory holds one chunk."""
        for index, (start, stop) in enumerate(self.chunks):
            yield start, stop, self.check_rows(self.read_chunk(index), start,
                                               allow_missing=allow_missing)


class ArraySource(RowSource):
    """Any array with ``shape`` and row slicing (``np.memmap``, h5py or zarr arrays, ...).

    A C-ordered ``np.memmap`` of a file (``np.load(path, mmap_mode="r")``) is read with plain
    positioned file reads, like ``NpySource``, never through the mapping: pages touched through
    a mapping would count in the process's resident memory until it ends, so memory would grow
    with the file. Values are taken as stored, as the estimators take an array; ``scale``
    multiplies them (e.g. ``1 / 255`` for 8-bit images).
    """

    def __init__(self, array, chunk_rows: int | None = None, scale: float | None = None):
        shape = tuple(getattr(array, "shape", ()))
        if len(shape) not in (2, 4):
            raise DataFileError(
                f"An array source must be 2-D (rows x features) or 4-D images (n, channels, "
                f"height, width); got shape {shape}."
            )
        kind = np.dtype(getattr(array, "dtype", np.float64)).kind
        if kind not in "biuf":
            raise DataFileError(f"The array holds {array.dtype} values; aekit needs numbers.")
        self.array = array
        self.n_rows = int(shape[0])
        self.n_features = int(np.prod(shape[1:]))
        self.image_shape = tuple(int(s) for s in shape[1:]) if len(shape) == 4 else None
        self.dtype = np.dtype(np.float64 if array.dtype == np.float64 else np.float32)
        self.scale = scale
        self.path = str(getattr(array, "filename", "") or "")
        self.chunks = self._make_chunks(chunk_rows)
        self._file = None  # (path, byte offset of row 0, file dtype) for positioned reads
        if (isinstance(array, np.memmap) and self.path and array.flags.c_contiguous
                and os.path.isfile(self.path)):
            self._file = (self.path, int(array.offset), array.dtype)

    def read_chunk(self, index: int) -> np.ndarray:
        start, stop = self.chunks[index]
        if self._file is not None:
            path, offset, file_dtype = self._file
            raw = np.empty((stop - start, self.n_features), file_dtype)
            with open(path, "rb") as f:
                f.seek(offset + start * self.n_features * file_dtype.itemsize)
                if f.readinto(memoryview(raw).cast("B")) != raw.nbytes:
                    raise DataFileError(f"{path} changed or was truncated while being read.")
            rows = raw if raw.dtype == self.dtype else raw.astype(self.dtype)
        else:
            rows = np.asarray(self.array[start:stop]).reshape(stop - start, self.n_features)
            rows = rows.astype(self.dtype, copy=True)
        if self.scale is not None:
            rows *= self.dtype.type(self.scale)
        return rows


class NpySource(RowSource):
    """A ``.npy`` file of rows (2-D) or images (4-D: n, channels, height, width).

    Reads each chunk with one positioned file read into a fresh buffer: memory holds the chunk,
    not the file (a memory map would put every page read into the process's resident set).
    Values are taken as stored, as the estimators take an array; ``scale`` multiplies them (e.g.
    ``1 / 255`` for 8-bit images).
    """

    def __init__(self, path: str | os.PathLike, chunk_rows: int | None = None,
                 scale: float | None = None):
        self.path = str(path)
        shape, fortran, dtype, offset = _npy_header(Path(path))
        if dtype.kind not in "biuf":
            raise DataFileError(f"{path} holds {dtype} values; aekit needs numbers.")
        if len(shape) not in (2, 4):
            raise DataFileError(
                f"{path} holds a {len(shape)}-D array; give rows x features (2-D) or images "
                "(n, channels, height, width)."
            )
        self._shape, self._fortran = tuple(int(s) for s in shape), bool(fortran)
        self.n_rows = int(shape[0])
        self.n_features = int(np.prod(shape[1:]))
        self.image_shape = tuple(int(s) for s in shape[1:]) if len(shape) == 4 else None
        self.file_dtype, self._offset = dtype, offset
        self._row_bytes = self.n_features * dtype.itemsize
        self.dtype = np.dtype(np.float64 if dtype == np.float64 else np.float32)
        self.scale = scale
        expected = offset + self.n_rows * self._row_bytes
        if os.path.getsize(path) < expected:
            raise DataFileError(
                f"{path} is truncated: its header promises {self.n_rows} rows "
                f"({expected} bytes) but the file has {os.path.getsize(path)} bytes."
            )
        self.chunks = self._make_chunks(chunk_rows)

    def read_chunk(self, index: int) -> np.ndarray:
        start, stop = self.chunks[index]
        raw = self._read_fortran(start, stop) if self._fortran else self._read_rows(start, stop)
        rows = raw if raw.dtype == self.dtype else raw.astype(self.dtype)
        if self.scale is not None:
            rows *= self.dtype.type(self.scale)
        return rows

    def _read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of a C-order file: one positioned read."""
        raw = np.empty((stop - start, self.n_features), self.file_dtype)
        with open(self.path, "rb") as f:
            f.seek(self._offset + start * self._row_bytes)
            self._fill(f, raw)
        return raw

    def _read_fortran(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of a Fortran-order file (``np.save`` of a column-major array,
        e.g. ``DataFrame.to_numpy()``): one positioned read per feature, then reordered."""
        n, item = stop - start, self.file_dtype.itemsize
        columns = np.empty((self.n_features, n), self.file_dtype)  # Fortran feature order
        with open(self.path, "rb") as f:
            for k in range(self.n_features):
                f.seek(self._offset + (k * self.n_rows + start) * item)
                self._fill(f, columns[k])
        dims = self._shape[1:]
        axes = (len(dims), *range(len(dims) - 1, -1, -1))  # (rows, *dims) in C order
        return np.ascontiguousarray(
            columns.reshape(*dims[::-1], n).transpose(axes)).reshape(n, self.n_features)

    def _fill(self, f, buffer: np.ndarray) -> None:
        if f.readinto(memoryview(buffer).cast("B")) != buffer.nbytes:
            raise DataFileError(f"{self.path} changed or was truncated while being read.")

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "path": os.path.abspath(self.path)}


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            return shape, fortran, np.dtype(dtype), f.tell()
    except FileNotFoundError:
        raise DataFileError(f"{path} does not exist; check the path.") from None
    except (ValueError, OSError, EOFError):
        raise DataFileError(f"{path} is not a readable .npy file.") from None


def is_source(X) -> bool:
    """True for what the estimators stream: a source, a path, or a ``np.memmap``."""
    return isinstance(X, (RowSource, str, os.PathLike, np.memmap))


def open_source(X, chunk_rows: int | None = None) -> RowSource:
    """A source for ``X``: a source (returned as is), a path (.npy, .parquet, a folder of Parquet
    files or of images) or a ``np.memmap``."""
    from .image_folder import ImageFolderSource  # they build on RowSource
    from .parquet import PARQUET_SUFFIXES, ParquetSource

    if isinstance(X, RowSource):
        return X
    if isinstance(X, np.memmap):
        return ArraySource(X, chunk_rows)
    path = Path(X)
    if not path.exists():
        raise DataFileError(f"{path} does not exist; check the path.")
    if path.is_dir():
        entries = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
        if entries & PARQUET_SUFFIXES:
            return ParquetSource(path)
        return ImageFolderSource(path, chunk_rows)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return NpySource(path, chunk_rows)
    if suffix in PARQUET_SUFFIXES:
        return ParquetSource(path)
    if suffix == ".csv":
        raise DataFileError(
            f"{path}: a CSV file cannot be read a chunk at a time by position; load it "
            "(pandas.read_csv) and pass the array, or convert it once to Parquet "
            "(pandas.read_csv(path).to_parquet('data.parquet', row_group_size=100_000))."
        )
    raise DataFileError(
        f"{path}: unknown data format {suffix!r}; stream a .npy file, Parquet files or a "
        "folder of images."
    )

