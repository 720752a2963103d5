"""What the displays share: the lazy matplotlib import and reading fitted estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted


def pyplot(owner: str):
    """``matplotlib.pyplot``, imported on first use (importing aekit never imports matplotlib)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError(
            f"{owner} needs matplotlib, which is not installed; install it with "
            "pip install 'aekit[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def new_axes(ax, owner: str):
    """``(figure, ax)``: ``ax`` and its figure, or a new figure with one axes."""
    plt = pyplot(owner)
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax


def estimator_name(estimator: Any) -> str:
    return type(estimator).__name__


def require_fitted(estimator: Any, owner: str, *, attributes: tuple[str, ...] = ()) -> None:
    """``NotFittedError`` for an unfitted estimator; ``TypeError`` when it lacks a method."""
    for name in attributes:
        if not callable(getattr(estimator, name, None)):
            raise TypeError(
                f"{owner}.from_estimator needs an estimator with a {name}() method; got "
                f"{type(estimator).__name__}."
            )
    check_is_fitted(estimator)


def image_shape_of(estimator: Any, image_shape: Any) -> Any:
    """``image_shape`` if given, else the estimator's fitted ``image_shape_`` or its parameter."""
    if image_shape is not None:
        return image_shape
    for name in ("image_shape_", "image_shape"):
        value = getattr(estimator, name, None)
        if value is not None:
            return tuple(value)
    return None


def as_float_array(values: Any, name: str, *, ndim: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array; got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it contains NaN or infinity.")
    return array
