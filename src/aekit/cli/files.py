"""Reading and writing the data files the command line works on.

Tables: CSV (with a header), Parquet, NPY/NPZ. Images: a folder of PNG/JPEG files of one size,
grayscale or RGB (``aekit.io.images``' rules). Every problem is a ``DataFileError`` naming the
file and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_output, atomic_write_bytes
from ..errors import DataFileError
from ..io.image_folder import check_same_shape
from ..io.images import image_files, read_image

TABLE_SUFFIXES = {".csv", ".parquet", ".pq", ".npy", ".npz"}


@dataclass
class Dataset:
    """Numbers for the model plus what the outputs must carry along.

    ``X`` is 2-D (rows, features) for tables and 4-D (n, C, H, W) in [0, 1] for images.
    ``ids`` holds pass-through ID columns (a DataFrame) or image file names.
    """

    X: np.ndarray
    feature_names: list[str] | None = None
    ids: object = None
    kind: str = "table"  # "table" or "images"
    source: str = ""
    names: list[str] = field(default_factory=list)  # image file names
    dropped_alpha: list[str] = field(default_factory=list)  # images whose alpha was dropped
    streamed = False  # in memory (the command line's ``--stream`` gives a StreamedInput)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        return tuple(self.X.shape[1:]) if self.kind == "images" else None


def read_data(path: str | os.PathLike, id_column: str | None = None) -> Dataset:
    """Read a table or a folder of images (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path} does not exist; check the path.")
    if path.is_dir():
        return read_image_folder(path)
    if path.stat().st_size == 0:
        raise DataFileError(f"{path} is empty; give a file with a header and at least 2 rows.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_frame(_read_csv(path), path, id_column)
    if suffix in (".parquet", ".pq"):
        return _from_frame(_read_parquet(path), path, id_column)
    if suffix in (".npy", ".npz"):
        return _read_numpy(path)
    raise DataFileError(
        f"{path}: unknown data format {suffix!r}; use CSV, Parquet, NPY/NPZ or a folder of "
        "images."
    )


def _read_csv(path: Path):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path} has no rows; give a CSV with a header and data.") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataFileError(
            f"{path} has rows of different lengths ({detail}); every row needs one value per "
            "header column."
        ) from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path} is not a text CSV file (not UTF-8).") from None


def _read_parquet(path: Path):
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataFileError(f"{path} is not a readable Parquet file ({type(exc).__name__}).") \
            from None


def _id_columns(frame, id_column: str | None) -> list[str]:
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataFileError(
                f"--id-column {id_column!r} is not a column; the columns are "
                f"{list(map(str, frame.columns))[:10]}."
            )
        return [id_column]
    from pandas.api.types import is_object_dtype, is_string_dtype

    return [name for name in frame.columns
            if (is_string_dtype(frame[name]) or is_object_dtype(frame[name]))
            and frame[name].is_unique]


def _from_frame(frame, path: Path, id_column: str | None) -> Dataset:
    if len(frame) == 0:
        raise DataFileError(f"{path} has a header but no rows.")
    ids = _id_columns(frame, id_column)
    data = frame.drop(columns=ids)
    bad = [str(c) for c in data.columns if data[c].dtype.kind not in "biuf"]
    if bad:
        example = data[bad[0]].dropna().astype(str).head(1).tolist()
        raise DataFileError(
            f"{path}: column {bad[0]!r} is not numeric (e.g. {example[0]!r}); encode it as "
            "numbers, drop it, or name it with --id-column if it identifies rows."
            if example else f"{path}: column {bad[0]!r} is not numeric; encode or drop it."
        )
    if data.shape[1] == 0:
        raise DataFileError(f"{path} has no numeric columns to learn from.")
    X = data.to_numpy(dtype=np.float64)
    _check_finite(X, path, [str(c) for c in data.columns])
    return Dataset(X, [str(c) for c in data.columns], frame[ids] if ids else None, "table",
                   str(path))


def _check_finite(X: np.ndarray, path: Path, columns: list[str] | None = None) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        where = f"column {columns[col]!r}" if columns else f"column {col}"
        raise DataFileError(
            f"{path} has {int(bad.sum())} missing or infinite values (first: row {row + 1}, "
            f"{where}); fill or drop them first."
        )


def _read_numpy(path: Path) -> Dataset:
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
        return Dataset(_images_to_unit(array.astype(np.float32)), None, None, "images", str(path))
    if array.ndim != 2:
        raise DataFileError(
            f"{path} holds a {array.ndim}-D array; give rows x features (2-D) or images "
            "(n, channels, height, width)."
        )
    X = array.astype(np.float64)
    _check_finite(X, path)
    return Dataset(X, None, None, "table", str(path))


def _images_to_unit(images: np.ndarray) -> np.ndarray:
    return images / 255.0 if images.max(initial=0) > 1.0 else images


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
    data = Dataset(np.stack(arrays), None, None, "images", str(folder), [f.name for f in files])
    data.dropped_alpha = dropped
    return data


# ------------------------------------------------------------------------------- writing
def write_table(path: str | os.PathLike, frame) -> None:
    """Write a DataFrame to CSV, Parquet or NPY according to the extension, atomically."""
    import io

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        atomic_write_bytes(path, frame.to_csv(index=False).encode("utf-8"))
    elif suffix in (".parquet", ".pq"):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        atomic_write_bytes(path, buffer.getvalue())
    elif suffix == ".npy":
        buffer = io.BytesIO()
        numeric = frame.select_dtypes("number")
        np.save(buffer, numeric.to_numpy(), allow_pickle=False)
        atomic_write_bytes(path, buffer.getvalue())
    else:
        raise DataFileError(
            f"Unknown output format {suffix!r} for {path}; use .csv, .parquet or .npy."
        )


def write_table_parts(path: str | os.PathLike, frames, n_rows: int) -> int:
    """Write DataFrames that arrive one chunk of rows at a time to one CSV, Parquet or NPY
    file (``n_rows`` in all), atomically: the file appears only when every part is written.
    Memory holds one part. Returns the number of rows written."""

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".npy"):
        raise DataFileError(
            f"Unknown output format {suffix!r} for {path}; use .csv, .parquet or .npy."
        )
    written = 0
    with atomic_output(path) as tmp:
        writer = None
        try:
            for frame in frames:
                if suffix == ".csv":
                    frame.to_csv(tmp, mode="a" if written else "w", header=not written,
                                 index=False)
                elif suffix == ".npy":
                    numeric = frame.select_dtypes("number").to_numpy()
                    if writer is None:
                        writer = np.lib.format.open_memmap(
                            tmp, mode="w+", dtype=numeric.dtype, shape=(n_rows, numeric.shape[1]))
                    writer[written:written + len(numeric)] = numeric
                else:
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    elif not table.schema.equals(writer.schema, check_metadata=False):
                        table = _cast_like(table, writer.schema, path, written)
                    writer.write_table(table)
                written += len(frame)
        finally:
            if writer is not None:
                if suffix == ".npy":
                    writer.flush()
                    del writer
                else:
                    writer.close()
        if written != n_rows:
            raise DataFileError(f"{path}: wrote {written} rows of {n_rows}; nothing was saved.")
    return written


def _cast_like(table, schema, path, row: int):
    """A chunk's table in the types of the first chunk's (e.g. IDs all null in one chunk)."""
    try:
        return table.cast(schema)
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a failed cast
        raise DataFileError(
            f"{path}: the columns change type at row {row + 1} ({table.schema.types} after "
            f"{schema.types}); give the ID column one type, or write .csv instead."
        ) from None


def write_images(folder: str | os.PathLike, images: np.ndarray, names: list[str]) -> None:
    """Write (n, C, H, W) images in [0, 1] as PNG files named like the inputs."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names):
        pixels = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
        pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        Image.fromarray(pixels).save(folder / (Path(name).stem + ".png"))
