"""Reading and writing files: aekit model files and data streamed from disk."""

from .data import DataFileError
from .model_file import ModelFileError, atomic_write_bytes, load
from .sources import (
    ArraySource,
    ImageFolderSource,
    NpySource,
    ParquetSource,
    RowSource,
    open_source,
)

__all__ = [
    "ArraySource",
    "DataFileError",
    "ImageFolderSource",
    "ModelFileError",
    "NpySource",
    "ParquetSource",
    "RowSource",
    "atomic_write_bytes",
    "load",
    "open_source",
]
