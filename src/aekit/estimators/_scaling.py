"""Input scaling, chosen so that the output layer and the loss can reach the data."""

from __future__ import annotations

import numpy as np

SCALINGS = ("auto", "standard", "minmax", "none")


def choose_scaling(X: np.ndarray, scaling: str, loss: str, output_activation: str) -> str:
    """Resolve ``scaling="auto"``: keep data already in [0, 1], else standardize.

    Cross-entropy and a sigmoid output need [0, 1], so with them "auto" min-max scales data that
    is outside [0, 1].
    """
    if scaling != "auto":
        return scaling
    in_unit = bool(X.size) and float(X.min()) >= 0.0 and float(X.max()) <= 1.0
    if in_unit:
        return "none"
    if loss == "bce" or output_activation == "sigmoid":
        return "minmax"
    return "standard"


def fit_scaler(X: np.ndarray, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, factor)`` such that the network sees ``(X - offset) / factor``."""
    n_features = X.shape[1]
    if scaling == "none":
        return np.zeros(n_features, np.float64), np.ones(n_features, np.float64)
    if scaling == "standard":
        offset = X.mean(axis=0, dtype=np.float64)
        factor = X.std(axis=0, dtype=np.float64)
    elif scaling == "minmax":
        offset = X.min(axis=0).astype(np.float64)
        factor = X.max(axis=0).astype(np.float64) - offset
    else:
        raise ValueError(f"Unknown scaling {scaling!r}; use one of {SCALINGS}.")
    factor[~(factor > 1e-12)] = 1.0  # constant features: shift only
    return offset, factor


def apply_scaler(X: np.ndarray, offset: np.ndarray, factor: np.ndarray) -> np.ndarray:
    return ((X - offset) / factor).astype(np.float32, copy=False)


def undo_scaler(X: np.ndarray, offset: np.ndarray, factor: np.ndarray) -> np.ndarray:
    return X * factor + offset
