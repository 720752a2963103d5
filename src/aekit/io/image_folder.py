"""``ImageFolderSource``: a folder of same-size images, read a chunk of files at a time."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .images import describe, image_files, read_image
from .sources import RowSource


class ImageFolderSource(RowSource):
    """A folder of same-size images (sorted by name), as rows of C*H*W pixels in [0, 1].

    Pixels follow ``aekit.io.images``' rules (16-bit scaled, palettes to RGB, alpha dropped);
    ``dropped_alpha`` lists the files whose alpha channel was dropped so far. Images of other
    sizes or of mixed grayscale and colour are refused, naming both files.
    """

    def __init__(self, folder: str | os.PathLike, chunk_rows: int | None = None):
        folder = Path(folder)
        self.path = str(folder)
        self.files = image_files(folder)
        if not self.files:
            raise DataFileError(f"{folder} holds no images (PNG/JPEG); give a folder of images.")
        first, info = read_image(self.files[0])
        self.image_shape = tuple(first.shape)
        self.names = [f.name for f in self.files]
        self.n_rows, self.n_features = len(self.files), int(np.prod(self.image_shape))
        self.dtype = np.dtype(np.float32)
        self.dropped_alpha: list[str] = [self.files[0].name] if info.dropped_alpha else []
        self.chunks = self._make_chunks(chunk_rows)

    def read_chunk(self, index: int) -> np.ndarray:
        start, stop = self.chunks[index]
        rows = np.empty((stop - start, self.n_features), np.float32)
        for i, file in enumerate(self.files[start:stop]):
            image, info = read_image(file)
            check_same_shape(self.path, self.files[0].name, self.image_shape, file.name,
                             image.shape)
            if info.dropped_alpha and file.name not in self.dropped_alpha:
                self.dropped_alpha.append(file.name)
            rows[i] = image.reshape(-1)
        return rows

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "path": os.path.abspath(self.path)}


def check_same_shape(folder, first_name: str, first: tuple[int, ...], name: str,
                     shape: tuple[int, ...]) -> None:
    """Refuse an image unlike the folder's first, saying whether size or mode differs."""
    if tuple(shape) == tuple(first):
        return
    if tuple(shape[1:]) == tuple(first[1:]):
        raise DataFileError(
            f"Images in {folder} mix grayscale and colour: {first_name} is "
            f"{describe(first)}, {name} is {describe(shape)}; convert them to one mode."
        )
    raise DataFileError(
        f"Images in {folder} differ in size: {first_name} is {describe(first)}, {name} is "
        f"{describe(shape)}; resize them to one size."
    )
