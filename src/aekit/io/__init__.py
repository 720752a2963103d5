"""Data on disk, read a chunk of rows at a time: sources for fitting and scoring.

``open_source`` turns a path (``.npy``, Parquet file or folder, image folder) or a ``np.memmap``
into a ``RowSource``; ``RowSource.checked_chunks`` reads it chunk by chunk with its values
checked. Image files follow ``aekit.io.images``' rules. Model files are ``aekit.saving``'s.
"""

from ..errors import DataFileError, ModelFileError
from .image_folder import ImageFolderSource
from .parquet import ParquetSource
from .patches import random_patches
from .sources import FLOAT32_MAX, ArraySource, NpySource, RowSource, is_source, open_source

__all__ = [
    "ArraySource",
    "DataFileError",
    "FLOAT32_MAX",
    "ImageFolderSource",
    "ModelFileError",
    "NpySource",
    "ParquetSource",
    "RowSource",
    "is_source",
    "open_source",
    "random_patches",
]
