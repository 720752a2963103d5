"""Built-in and on-disk datasets: scikit-learn's digits, and MNIST-style IDX files."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np


def load_digits(return_y: bool = False):
    """scikit-learn's 8x8 digits (1,797 images, 64 features), scaled to [0, 1].

    Returns ``X`` (float32, shape (1797, 64)), or ``(X, y)`` with ``return_y=True``.
    """
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    X = (bunch.data / 16.0).astype(np.float32)
    return (X, bunch.target.astype(np.int64)) if return_y else X


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{dtype_code:02x}.")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(shape))} values.")
    return array.reshape(shape)


def load_mnist_like(folder: str | os.PathLike, split: str = "t10k", flatten: bool = True):
    """Images and labels from an MNIST-style folder (``{split}-images-idx3-ubyte[.gz]``).

    Works for MNIST and Fashion-MNIST. Returns ``(X, y)``: X float32 in [0, 1], shape
    (n, 784) with ``flatten`` (else (n, 1, 28, 28)), y int64.
    """
    folder = Path(folder)

    def find(kind: str) -> Path:
        for name in (f"{split}-{kind}-ubyte.gz", f"{split}-{kind}-ubyte"):
            if (folder / name).exists():
                return folder / name
        raise FileNotFoundError(f"No {split}-{kind}-ubyte[.gz] in {folder}.")

    images = read_idx(find("images-idx3")).astype(np.float32) / 255.0
    labels = read_idx(find("labels-idx1")).astype(np.int64)
    n = images.shape[0]
    X = images.reshape(n, -1) if flatten else images.reshape(n, 1, *images.shape[1:])
    return X, labels
