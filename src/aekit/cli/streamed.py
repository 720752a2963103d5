"""``--stream``: the commands on data read a chunk of rows at a time instead of loaded whole.

A ``.npy`` file, a Parquet file or folder, or a folder of images is opened as an ``aekit.io``
source; ``fit`` trains on it, and ``encode``/``score`` write their output one chunk at a time
(``aekit.cli.files.write_table_parts``), so memory holds a chunk whatever the number of rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class StreamedInput:
    """What the commands need to know of data they stream: the source, its kind, and the ID
    columns (``--id-column`` of a Parquet file) or file names (image folders) of each chunk."""

    streamed = True

    notes: list = []
    schema = None
    #: the model's column names: chunks are handed over as DataFrames with them
    column_names: list[str] | None = None

    def __init__(self, path, id_column: str | None, features: list[str] | None = None):
        from ..errors import DataFileError
        from ..io import NpySource, ParquetSource, open_source

        parquet = Path(path).suffix.lower() in (".parquet", ".pq") or (
            Path(path).is_dir() and any(p.suffix.lower() in (".parquet", ".pq")
                                        for p in Path(path).iterdir()))
        if id_column is not None and not parquet:
            raise DataFileError(
                f"--id-column names a column, but {path} has none (only Parquet files have "
                "named columns when streamed); drop --id-column."
            )
        self.id_column = id_column
        if parquet and (id_column is not None or features is not None):
            self.source = ParquetSource(path, columns=features,  # by name: any order
                                        exclude=() if id_column is None else (id_column,))
        else:
            self.source = open_source(path)
        if self.source.n_features == 0:
            raise DataFileError(f"{path} has no features (its rows are empty); give data with "
                                "columns.")
        if self.source.n_rows == 0:
            raise DataFileError(f"{path} has no rows; give data with rows.")
        if isinstance(self.source, NpySource) and self.source.image_shape:
            # images in 0..255 are divided by 255, by read_data's rule (one pass for the max)
            peak = max(float(self.source.read_chunk(i).max(initial=0))
                       for i in range(len(self.source.chunks)))
            if peak > 1.0:
                self.source.scale = 1.0 / 255.0
        self.kind = "images" if self.source.image_shape else "table"
        self.image_shape = self.source.image_shape
        self.feature_names = self.source.feature_names
        self.n_features = self.source.n_features
        self.X = self.source  # what the model is fitted and scored on
        self.source_name = str(path)
        if self.feature_names is not None:  # a Parquet source: its columns, by name
            from .columns import TableSchema

            self.schema = TableSchema(list(self.feature_names),
                                      [id_column] if id_column else [])

    def ids(self, index: int):
        """The pass-through columns of chunk ``index`` (a DataFrame; no columns for .npy)."""
        import pandas as pd

        start, stop = self.source.chunks[index]
        if self.id_column is not None:
            return self.source.read_columns(index, [self.id_column]).reset_index(drop=True)
        names = getattr(self.source, "names", None)
        if names is not None:  # an image folder
            return pd.DataFrame({"file": names[start:stop]})
        return pd.DataFrame(index=range(stop - start))

    def frames(self, compute):
        """``compute(rows)`` (a DataFrame) for each chunk of checked rows, after its IDs."""
        import pandas as pd

        from ..training.data import release_freed_memory

        for index, (_, _, rows) in enumerate(self.source.checked_chunks()):
            if self.kind == "table":  # as read_data gives tables: float64
                rows = rows.astype(np.float64, copy=False)
                if self.column_names is not None:  # a model fitted on named columns
                    rows = pd.DataFrame(rows, columns=self.column_names)
            yield pd.concat([self.ids(index), compute(rows)], axis=1)
            del rows
            release_freed_memory()
