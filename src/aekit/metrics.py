"""Image quality metrics for reconstructions and denoising: PSNR and SSIM.

Both compare a batch of clean images with a batch of other images (noisy inputs, reconstructions,
denoised outputs) image by image and return the mean over images (``per_image=True`` returns one
value per image). The first axis is always the images; the layouts are those of the estimators:

- ``(n_samples, n_features)``: rows of flattened images (``image_shape`` says how to unflatten
  them; None: square single-channel images, e.g. 784 -> 28x28);
- ``(n_samples, height, width)``: single-channel images;
- ``(n_samples, channels, height, width)``: as ``ConvAutoencoder`` takes them.

Only numpy and scipy are used. Examples::

    >>> import numpy as np
    >>> from aekit.metrics import psnr, ssim
    >>> clean = np.zeros((2, 64))
    >>> round(psnr(clean, clean + 0.1), 6)  # MSE 0.01 with data_range 1: 20 dB
    20.0
    >>> ssim(clean, clean)
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["psnr", "ssim"]


def as_image_batch(X, image_shape: Sequence[int] | None = None, *, name: str = "X") -> np.ndarray:
    """``X`` as a float array of images ``(n_samples, channels, height, width)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
    image_shape : tuple of int or None
        ``(height, width)`` or ``(channels, height, width)`` of the flattened rows of a 2-D ``X``
        (checked against the images of a 3-D or 4-D ``X``). None with 2-D ``X``: a square
        single-channel image when ``n_features`` is a perfect square.
    name : str
        How error messages call ``X``.

    Returns
    -------
    ndarray of shape (n_samples, channels, height, width)
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers; got an array of dtype {X.dtype}.")
    X = X.astype(np.float64, copy=False)
    shape = None
    if image_shape is not None:
        shape = tuple(image_shape)
        if len(shape) not in (2, 3) or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in shape
        ):
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) with positive "
                f"ints, e.g. (28, 28); got {image_shape!r}."
            )
        shape = (1, *shape) if len(shape) == 2 else shape
        shape = tuple(int(s) for s in shape)
    if X.ndim == 2:
        n_features = X.shape[1]
        if shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"{name} has {n_features} features, which is not a square number of pixels; "
                    "pass image_shape=(height, width) or (channels, height, width)."
                )
            shape = (1, side, side)
        elif math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={shape} holds {math.prod(shape)} values, but {name} has "
                f"{n_features} features; pass the shape of the flattened images."
            )
        return X.reshape(X.shape[0], *shape)
    if X.ndim in (3, 4):
        images = X[:, None] if X.ndim == 3 else X
        if shape is not None and tuple(images.shape[1:]) != shape:
            raise ValueError(
                f"{name} holds images of shape {tuple(images.shape[1:])}, but image_shape is "
                f"{shape}; drop image_shape or pass images of that shape."
            )
        return images
    raise ValueError(
        f"{name} must be 2-D (n_samples, n_features), 3-D (n_samples, height, width) or 4-D "
        f"(n_samples, channels, height, width); got an array of shape {X.shape}."
    )


def _check_pair(clean, other, image_shape) -> tuple[np.ndarray, np.ndarray]:
    clean = as_image_batch(clean, image_shape, name="clean")
    other = as_image_batch(other, image_shape, name="other")
    if clean.shape != other.shape:
        raise ValueError(
            f"clean and other must hold the same images; got shapes {clean.shape} and "
            f"{other.shape} (as (n, channels, height, width)). Pass arrays of the same shape."
        )
    if clean.shape[0] == 0:
        raise ValueError("clean and other hold no images; pass at least one.")
    if not (np.isfinite(clean).all() and np.isfinite(other).all()):
        raise ValueError("clean and other must be finite; they contain NaN or infinity.")
    return clean, other


_IMAGES = {"clean": ["array-like"], "other": ["array-like"],
           "data_range": [Interval(Real, 0, None, closed="neither")],
           "image_shape": [tuple, list, None], "per_image": ["boolean"]}


@validate_params(_IMAGES, prefer_skip_nested_validation=True)
def psnr(clean, other, *, data_range=1.0, image_shape=None, per_image=False):
    """Peak signal-to-noise ratio in dB: ``10 * log10(data_range**2 / MSE)`` per image.

    Parameters
    ----------
    clean : array-like of images
        The reference images (see the module docstring for the layouts).
    other : array-like of images, same shape as ``clean``
        The images to judge (noisy, reconstructed, denoised).
    data_range : float, default=1.0
        The span of possible pixel values (1.0 for [0, 1], 255 for 8-bit images).
    image_shape : tuple of int or None, default=None
        Only needed to check the layout of 2-D input; PSNR itself ignores the pixel order.
    per_image : bool, default=False
        Return every image's PSNR instead of their mean.

    Returns
    -------
    float or ndarray of shape (n_samples,)
        The mean over images of each image's PSNR (the usual figure of denoising papers), or
        the per-image values. An image equal to its reference has PSNR ``inf``.
    """
    data_range = float(data_range)
    clean, other = _check_pair(clean, other, image_shape)
    mse = ((clean - other) ** 2).reshape(clean.shape[0], -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(data_range**2 / mse)
    return values if per_image else float(values.mean())


@validate_params(
    {**_IMAGES, "window": [StrOptions({"uniform", "gaussian"})],
     "win_size": [Interval(Integral, 3, None, closed="left")],
     "sigma": [Interval(Real, 0, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def ssim(
    clean,
    other,
    *,
    data_range=1.0,
    image_shape=None,
    window="uniform",
    win_size=7,
    sigma=1.5,
    per_image=False,
):
    """Structural similarity (Wang et al., 2004), the mean SSIM map of each image.

    For every pixel, local means ``mu``, variances ``s2`` and the covariance ``s_xy`` of the two
    images over a window give
    ``((2 mu_x mu_y + C1) (2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1) (s2_x + s2_y + C2))`` with
    ``C1 = (0.01 * data_range)^2`` and ``C2 = (0.03 * data_range)^2``. Images are reflected at
    their borders to filter, and the map is averaged without the ``(win_size - 1) // 2`` pixels
    along each border; channels are averaged. This follows ``skimage.metrics.structural_similarity``
    (uniform window: its defaults; Gaussian window: ``gaussian_weights=True`` with
    ``use_sample_covariance=False``).

    Parameters
    ----------
    clean, other : array-like of images, same shape
        See ``psnr``.
    data_range : float, default=1.0
        The span of possible pixel values.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of flattened 2-D rows; None: square
        single-channel images.
    window : {"uniform", "gaussian"}, default="uniform"
        "uniform": a ``win_size`` x ``win_size`` box, with unbiased (sample) variances.
        "gaussian": a Gaussian of standard deviation ``sigma`` cut to ``win_size`` x ``win_size``
        (the paper's choice is ``win_size=11``, ``sigma=1.5``).
    win_size : int, default=7
        Odd window side; images must be at least this high and wide.
    sigma : float, default=1.5
        Standard deviation of the Gaussian window.
    per_image : bool, default=False
        Return every image's SSIM instead of their mean.

    Returns
    -------
    float or ndarray of shape (n_samples,)
        1.0 for identical images; lower (down to -1) as structure differs.
    """
    from scipy.ndimage import gaussian_filter, uniform_filter

    data_range = float(data_range)
    if win_size % 2 == 0:
        raise ValueError(
            f"The 'win_size' parameter of ssim must be an odd int >= 3, e.g. 7. Got {win_size} "
            "instead."
        )
    clean, other = _check_pair(clean, other, image_shape)
    height, width = clean.shape[2:]
    if height < win_size or width < win_size:
        raise ValueError(
            f"SSIM with win_size={win_size} needs images at least {win_size}x{win_size}; got "
            f"{height}x{width}. Pass a smaller odd win_size (at least 3)."
        )
    pad = (win_size - 1) // 2
    if window == "uniform":
        n_window = win_size**2
        cov_norm = n_window / (n_window - 1)  # sample covariance, as skimage's default

        def local_mean(a: np.ndarray) -> np.ndarray:  # filters height and width only
            return uniform_filter(a, size=(1, 1, win_size, win_size), mode="reflect")
    else:
        cov_norm = 1.0

        def local_mean(a: np.ndarray) -> np.ndarray:
            return gaussian_filter(a, sigma=(0, 0, sigma, sigma), mode="reflect",
                                   radius=(0, 0, pad, pad))

    x, y = clean, other
    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = cov_norm * (local_mean(x * x) - mu_x * mu_x)
    var_y = cov_norm * (local_mean(y * y) - mu_y * mu_y)
    cov_xy = cov_norm * (local_mean(x * y) - mu_x * mu_y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    inner = ssim_map[:, :, pad : height - pad, pad : width - pad]  # (n, C, H - 2 pad, W - 2 pad)
    values = inner.reshape(inner.shape[0], -1).mean(axis=1)
    return values if per_image else float(values.mean())
