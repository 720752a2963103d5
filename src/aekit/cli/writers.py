"""Writing what the commands produce: tables (CSV, Parquet, NPY) and PNG folders, atomically.

Output names never collide: images keep their stem (``a00.png`` -> ``a00.png``) unless two
inputs share it (``a00.png`` and ``a00.jpg`` -> ``a00_png.png`` and ``a00_jpg.png``); a stem that
is no usable file name (``..png``) becomes ``image_00007.png``. All names are decided before the
first file is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_output, atomic_write_bytes
from ..errors import DataFileError

TABLE_OUTPUTS = (".csv", ".parquet", ".pq", ".npy")


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
    if suffix not in TABLE_OUTPUTS:
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
                elif suffix == ".npy":  # plain writes: a full disk is an OSError, not a SIGBUS
                    numeric = np.ascontiguousarray(frame.select_dtypes("number").to_numpy())
                    if writer is None:
                        writer = open(tmp, "wb")
                        header = {"descr": np.lib.format.dtype_to_descr(numeric.dtype),
                                  "fortran_order": False, "shape": (n_rows, numeric.shape[1])}
                        np.lib.format.write_array_header_1_0(writer, header)
                    writer.write(numeric.tobytes())
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


def output_names(names: list[str], start: int = 0) -> list[str]:
    """PNG names for images named ``names`` (``start``: the first one's index), unique (see the
    module docstring)."""
    stems = [Path(n).stem for n in names]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    out = []
    for i, (name, stem) in enumerate(zip(names, stems)):
        if not stem.strip(". ") or stem != Path(stem).name:
            out.append(f"image_{start + i:05d}.png")
        elif counts[stem] > 1:
            suffix = Path(name).suffix.lstrip(".").lower() or "none"
            out.append(f"{stem}_{suffix}.png")
        else:
            out.append(f"{stem}.png")
    return out


def write_images(folder: str | os.PathLike, images: np.ndarray, names: list[str]) -> None:
    """Write (n, C, H, W) images in [0, 1] as PNG files under the given (unique) names."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names):
        pixels = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
        pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        with atomic_output(folder / name) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")
