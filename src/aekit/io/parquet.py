"""``ParquetSource``: a Parquet file or a folder of them, one row group per chunk (pyarrow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .sources import RowSource

PARQUET_SUFFIXES = {".parquet", ".pq"}


class ParquetSource(RowSource):
    """A Parquet file, or a folder of Parquet files with the same columns; one chunk per row
    group (write files with row groups of a size that fits memory, e.g. 100,000 rows).

    ``columns``: the columns to learn from (default: all, which must then be numeric);
    ``exclude``: columns to leave out (e.g. an ID column).
    """

    def __init__(self, path: str | os.PathLike, columns: list[str] | None = None,
                 exclude: list[str] | tuple[str, ...] = ()):
        import pyarrow.parquet as pq
        self.path = str(path)
        root = Path(path)
        files = (sorted(p for p in root.iterdir()
                        if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file())
                 if root.is_dir() else [root])
        if not files:
            raise DataFileError(f"{root} holds no .parquet files.")
        self._files, self._groups, self.chunks = [], [], []
        start = 0
        for file in files:
            try:
                handle = pq.ParquetFile(file)
            except FileNotFoundError:
                raise DataFileError(f"{file} does not exist; check the path.") from None
            except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
                raise DataFileError(
                    f"{file} is not a readable Parquet file ({type(exc).__name__})."
                ) from None
            names = self._check_columns(file, handle.schema_arrow, columns, exclude)
            self._files.append(file)
            for group in range(handle.metadata.num_row_groups):
                rows = handle.metadata.row_group(group).num_rows
                if rows:
                    self._groups.append((len(self._files) - 1, group))
                    self.chunks.append((start, start + rows))
                    start += rows
        self.feature_names = names
        self.n_rows, self.n_features = start, len(names)
        self.dtype = np.dtype(np.float64)

    def _check_columns(self, file: Path, schema, columns, exclude) -> list[str]:
        import pyarrow as pa

        names = list(schema.names) if columns is None else list(columns)
        names = [c for c in names if c not in exclude]
        missing = [c for c in names if c not in schema.names]
        if missing:
            raise DataFileError(f"{file} has no column {missing[0]!r}; its columns are "
                                f"{schema.names[:10]}.")
        for name in names:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)):
                raise DataFileError(
                    f"{file}: column {name!r} is not numeric ({kind}); pass columns=[...] "
                    "(the command line: --id-column) to leave it out, or encode it as numbers."
                )
        if self.feature_names is not None and names != self.feature_names:
            raise DataFileError(
                f"{file} has other columns than the first file: {names[:5]} vs "
                f"{self.feature_names[:5]}; every file of the folder needs the same columns."
            )
        self.feature_names = names
        return names

    def read_chunk(self, index: int) -> np.ndarray:
        import pyarrow.parquet as pq

        file_index, group = self._groups[index]
        table = pq.ParquetFile(self._files[file_index]).read_row_group(
            group, columns=self.feature_names
        )
        rows = np.empty((table.num_rows, self.n_features), np.float64)
        for j, column in enumerate(table.columns):
            rows[:, j] = column.to_numpy(zero_copy_only=False)  # nulls become NaN
        return rows

    def read_columns(self, index: int, columns: list[str]):
        """Other columns of chunk ``index`` (e.g. an ID column left out of the features), as
        a pandas DataFrame."""
        import pyarrow.parquet as pq

        file_index, group = self._groups[index]
        handle = pq.ParquetFile(self._files[file_index])
        missing = [c for c in columns if c not in handle.schema_arrow.names]
        if missing:
            raise DataFileError(f"{self._files[file_index]} has no column {missing[0]!r}.")
        # integers and booleans keep their type when a row group has nulls (pandas would
        # turn that group's integers into floats, and the chunks' types would differ)
        return handle.read_row_group(group, columns=list(columns)).to_pandas(
            types_mapper=_nullable_pandas_type)

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "path": os.path.abspath(self.path)}



def _nullable_pandas_type(arrow_type):
    """pandas' nullable dtype for Arrow integers and booleans (None: the default)."""
    import pandas as pd
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_integer(arrow_type):
        name = str(arrow_type)  # int8 ... uint64 -> Int8 ... UInt64
        return pd.api.types.pandas_dtype("U" + name[1:].capitalize() if name[0] == "u"
                                         else name.capitalize())
    return None


