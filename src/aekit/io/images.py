"""Image files as arrays, by one rule for every mode Pillow reads.

Every image becomes ``(C, H, W)`` float32 in [0, 1], C = 1 (grayscale) or 3 (colour):

- 1-bit, 8-bit grayscale (``1``, ``L``): divided by 255;
- 16- and 32-bit integer grayscale (``I;16*``, ``I``: 16-bit PNGs and TIFFs): divided by
  65535 (a 16-bit image is not clipped at 255);
- float grayscale (``F``): taken as it is, clipped to [0, 1];
- palette images (``P``): their colours (RGB; a palette of grays stays colour, as stored);
- with an alpha channel (``LA``, ``RGBA``, ``PA``): the alpha channel is dropped, and
  ``ImageInfo.dropped_alpha`` says so (the command line prints a note);
- other colour modes (``CMYK``, ``YCbCr``, ``LAB``, ``HSV``): converted to RGB.

Only regular files are read (a FIFO named ``x.png`` would block); files larger than
``MAX_PIXELS`` are refused before decoding.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
#: the largest image aekit decodes (Pillow's own bomb limit is 89 million pixels)
MAX_PIXELS = 64_000_000

_GRAY = {"1", "L"}
_WIDE_GRAY = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_ALPHA = {"LA": "L", "La": "L", "RGBA": "RGB", "RGBa": "RGB", "PA": "RGB"}


@dataclass(frozen=True)
class ImageInfo:
    """What reading one image did: its mode on disk and whether alpha was dropped."""

    mode: str
    dropped_alpha: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.mode in _GRAY | _WIDE_GRAY | {"F", "LA", "La"} else 3


def is_image_file(path: Path) -> bool:
    """A regular file with an image suffix (FIFOs, sockets and folders are not)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def image_files(folder: Path) -> list[Path]:
    """The image files of ``folder``, sorted by name (regular files only)."""
    try:
        return sorted(p for p in Path(folder).iterdir() if is_image_file(p))
    except OSError as exc:
        raise DataFileError(f"{folder} cannot be read ({exc.strerror}).") from None


def read_image(file: Path) -> tuple[np.ndarray, ImageInfo]:
    """One image as ``(C, H, W)`` float32 in [0, 1] (see the module docstring) and its info."""
    from PIL import Image, UnidentifiedImageError

    file = Path(file)
    if not is_image_file(file):
        raise DataFileError(f"{file} is not a regular image file.")
    try:
        with Image.open(file) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise DataFileError(
                    f"{file} claims {width}x{height} pixels, more than aekit reads "
                    f"({MAX_PIXELS:,}); resize it or cut it into tiles first."
                )
            mode = img.mode
            pixels, dropped = _pixels(img)
    except DataFileError:
        raise
    except Image.DecompressionBombError:
        raise DataFileError(
            f"{file} is too large to decode safely (a decompression bomb?); resize it first."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DataFileError(f"{file} is not a readable image.") from None
    array = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(array, dtype=np.float32), ImageInfo(mode, dropped)


def _pixels(img) -> tuple[np.ndarray, bool]:
    """The image's pixels in [0, 1] as (H, W) or (H, W, 3), and whether alpha was dropped."""
    mode = img.mode
    if mode in _GRAY:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0, False
    if mode in _WIDE_GRAY:
        values = np.asarray(img, dtype=np.float64)
        return np.clip(values / 65535.0, 0.0, 1.0).astype(np.float32), False
    if mode == "F":
        return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0), False
    if mode == "P":
        has_alpha = "transparency" in img.info
        rgb = img.convert("RGBA" if has_alpha else "RGB").convert("RGB")
        return np.asarray(rgb, dtype=np.float32) / 255.0, has_alpha
    if mode in _ALPHA:
        target = _ALPHA[mode]
        return np.asarray(img.convert(target), dtype=np.float32) / 255.0, True
    if mode == "RGB":
        return np.asarray(img, dtype=np.float32) / 255.0, False
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, False


def load_image(file: Path) -> np.ndarray:
    """One image file as (C, H, W) float32 in [0, 1] (see the module docstring)."""
    return read_image(file)[0]


def describe(shape: tuple[int, ...]) -> str:
    """``28x28 grayscale`` for a (C, H, W) shape."""
    c, h, w = shape
    return f"{w}x{h} {'grayscale' if c == 1 else 'RGB'}"
