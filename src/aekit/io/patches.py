"""Random patches from images of any sizes: the training data of a spatial-code model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataFileError


def random_patches(images: Sequence[np.ndarray], patch_size: int, n_patches: int = 4000, *,
                   flips: bool = True, random_state=None) -> np.ndarray:
    """``n_patches`` square patches drawn uniformly from ``images``, shape (n, C, P, P), float32.

    ``images``: arrays ``(C, H, W)`` (or ``(H, W)``) with the same number of channels, of any
    sizes at least ``patch_size``; each patch comes from an image chosen in proportion to its
    number of possible positions, at a uniform position; with ``flips`` half of them are
    mirrored left-right (a photo mirrored is still a photo).
    """
    if not (isinstance(patch_size, (int, np.integer)) and patch_size >= 2):
        raise ValueError(f"patch_size must be an int >= 2; got {patch_size!r}.")
    arrays = [np.asarray(im, dtype=np.float32) for im in images]
    arrays = [a[None] if a.ndim == 2 else a for a in arrays]
    if not arrays or any(a.ndim != 3 for a in arrays):
        raise DataFileError("random_patches takes a list of (channels, height, width) images.")
    channels = {a.shape[0] for a in arrays}
    if len(channels) > 1:
        raise DataFileError(f"The images have different channel counts {sorted(channels)}; "
                            "convert them to one mode (e.g. all RGB) first.")
    small = [i for i, a in enumerate(arrays) if min(a.shape[1:]) < patch_size]
    if small:
        raise DataFileError(f"{len(small)} image(s) are smaller than patch_size={patch_size} "
                            f"(first: #{small[0]}, {arrays[small[0]].shape[1:]}); use a "
                            "smaller --patch or drop them.")
    rng = np.random.default_rng(random_state)
    positions = np.array([(a.shape[1] - patch_size + 1) * (a.shape[2] - patch_size + 1)
                          for a in arrays], dtype=np.float64)
    which = rng.choice(len(arrays), size=int(n_patches), p=positions / positions.sum())
    out = np.empty((int(n_patches), arrays[0].shape[0], patch_size, patch_size), np.float32)
    for i, k in enumerate(which):
        a = arrays[k]
        y = rng.integers(0, a.shape[1] - patch_size + 1)
        x = rng.integers(0, a.shape[2] - patch_size + 1)
        out[i] = a[:, y:y + patch_size, x:x + patch_size]
    if flips:
        mirror = rng.random(len(out)) < 0.5
        out[mirror] = out[mirror][..., ::-1]
    return out
