"""Reading the data files the command line works on.

Tables: CSV (``csvfile``'s rules), Parquet (a file, or a folder of files), NPY/NPZ; their
columns are typed by ``columns``' rules (IDs, excluded, categorical, dates) or, for a trained
model, matched to its schema by name. Images: a folder of image files of one size and mode
(``aekit.io.images``' rules), or a 4-D NPY. Every problem is a ``DataFileError`` naming the file
and the fix; nothing larger than memory is loaded (``--stream`` reads a chunk at a time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ..io.image_folder import check_same_shape
from ..io.images import image_files, read_image
from .columns import TableSchema, apply_schema, type_columns
from .csvfile import read_csv

PARQUET = {".parquet", ".pq"}


@dataclass
class Dataset:
    """What a command reads: the model's input and what the outputs must carry along.

    ``X``: a DataFrame of feature columns (tables), a 2-D float array (NPY) or 4-D images in
    [0, 1]; ``ids``: the pass-through columns (a DataFrame) or None; ``names``: image file names.
    """

    X: object
    ids: object = None
    kind: str = "table"  # "table" or "images"
    source: str = ""
    names: list[str] = field(default_factory=list)
    schema: TableSchema | None = None
    notes: list[str] = field(default_factory=list)
    streamed = False  # in memory (``--stream`` gives a StreamedInput)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        return tuple(self.X.shape[1:]) if self.kind == "images" else None

    @property
    def feature_names(self) -> list[str] | None:
        return list(self.X.columns) if hasattr(self.X, "columns") else None

    @property
    def n_rows(self) -> int:
        return len(self.X)


def read_data(path: str | os.PathLike, *, ids=(), exclude=(), categorical=(),
              schema: TableSchema | None = None) -> Dataset:
    """Read a table or a folder of images (see the module docstring); with ``schema`` (a
    trained model's), a table's columns are matched to it."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path} does not exist; check the path.")
    if path.is_dir():
        if any(p.suffix.lower() in PARQUET and p.is_file() for p in path.iterdir()):
            return _table(_read_parquet(path), path, ids, exclude, categorical, schema)
        if ids or exclude or categorical:
            raise DataFileError(f"{path} is a folder of images, which has no columns; drop "
                                "--id-column, --exclude and --categorical.")
        return read_image_folder(path)
    if not path.is_file():
        raise DataFileError(f"{path} is not a regular file.")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path} is empty; give a file with a header and at least 2 rows.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _table(read_csv(path), path, ids, exclude, categorical, schema)
    if suffix in PARQUET:
        return _table(_read_parquet(path), path, ids, exclude, categorical, schema)
    if suffix in (".npy", ".npz"):
        if ids or exclude or categorical:
            raise DataFileError(f"{path} is an array without column names; drop --id-column, "
                                "--exclude and --categorical (or use a CSV or Parquet file).")
        return _read_numpy(path)
    raise DataFileError(
        f"{path}: unknown data format {suffix!r}; use CSV, Parquet, NPY/NPZ or a folder of "
        "images."
    )


def _table(frame, path: Path, ids, exclude, categorical, schema) -> Dataset:
    if len(frame) == 0:
        raise DataFileError(f"{path} has a header but no rows.")
    if frame.columns.duplicated().any():
        name = frame.columns[frame.columns.duplicated()][0]
        raise DataFileError(f"{path} has two columns named {name!r}; rename one.")
    if schema is not None:
        features, id_frame, notes = apply_schema(frame, schema, path, extra_ids=ids)
    else:
        features, id_frame, schema, notes = type_columns(
            frame, path, ids=ids, exclude=exclude, categorical=categorical)
    return Dataset(features, id_frame if id_frame.shape[1] else None, "table", str(path),
                   schema=schema, notes=notes)


def _read_parquet(path: Path):
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataFileError(f"{path} is not a readable Parquet file or folder "
                            f"({type(exc).__name__}).") from None


def _check_npy_size(path: Path) -> None:
    """A ``.npy`` header's claim checked against the file before anything is allocated."""
    from ..io import NpySource

    if path.suffix.lower() != ".npy":
        return
    source = NpySource(path)  # reads the header only; refuses a truncated file
    claimed = source.n_rows * source.n_features * source.file_dtype.itemsize
    available = _available_memory()
    if available is not None and claimed > available // 2:
        raise DataFileError(
            f"{path} holds {claimed / 2**30:.1f} GiB, more than fits in memory; add --stream to "
            "read it a chunk at a time."
        )


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _read_numpy(path: Path) -> Dataset:
    _check_npy_size(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:
        raise DataFileError(
            f"{path} holds Python objects; aekit reads numeric arrays only (never pickles)."
        ) from None
    except (OSError, EOFError):
        raise DataFileError(f"{path} is not a readable NPY/NPZ file.") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        key = "X" if "X" in loaded.files else (loaded.files[0] if loaded.files else None)
        if key is None:
            raise DataFileError(f"{path} holds no arrays.")
        array = loaded[key]
    else:
        array = loaded
    if array.dtype.kind not in "biuf":
        raise DataFileError(f"{path} holds {array.dtype} values; aekit needs numbers.")
    if array.ndim == 4:
        images = array.astype(np.float32)
        return Dataset(images / 255.0 if images.max(initial=0) > 1.0 else images, None,
                       "images", str(path))
    if array.ndim != 2:
        raise DataFileError(
            f"{path} holds a {array.ndim}-D array; give rows x features (2-D) or images "
            "(n, channels, height, width)."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataFileError(f"{path} holds an array of shape {array.shape}; it needs rows and "
                            "features.")
    X = array.astype(np.float64)
    if np.isinf(X).any():
        row, col = (int(i) for i in np.argwhere(np.isinf(X))[0])
        raise DataFileError(f"{path} has an infinite value (row {row + 1}, column {col}); "
                            "replace it (an empty entry is a NaN).")
    return Dataset(X, None, "table", str(path))


def read_image_folder(folder: Path) -> Dataset:
    """All images in ``folder`` (sorted by name) as (n, C, H, W) floats in [0, 1]."""
    files = image_files(folder)
    if not files:
        raise DataFileError(f"{folder} holds no images (PNG/JPEG); give a folder of images.")
    arrays, dropped = [], []
    for file in files:
        a, info = read_image(file)
        if arrays:
            check_same_shape(folder, files[0].name, arrays[0].shape, file.name, a.shape)
        if info.dropped_alpha:
            dropped.append(file.name)
        arrays.append(a)
    notes = ([f"dropped the alpha channel of {len(dropped)} image(s) (e.g. {dropped[0]})"]
             if dropped else [])
    return Dataset(np.stack(arrays), None, "images", str(folder), [f.name for f in files],
                   notes=notes)
