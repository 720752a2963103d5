"""Input scaling, chosen so that the output layer and the loss can reach the data.

The statistics come from ``ColumnStats``: from an array at once, or a chunk at a time for data
streamed from disk (``update``), so both fits scale alike.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("auto", "standard", "minmax", "none")


class ColumnStats:
    """Per-column count, mean, variance, min and max, merged chunk by chunk (Chan et al.)."""

    def __init__(self, n_features: int):
        self.count = 0
        self.mean = np.zeros(n_features, np.float64)
        self.m2 = np.zeros(n_features, np.float64)  # sum of squared deviations from the mean
        self.min = np.full(n_features, np.inf)
        self.max = np.full(n_features, -np.inf)

    @classmethod
    def from_array(cls, X: np.ndarray) -> ColumnStats:
        stats = cls(X.shape[1])
        stats.count = X.shape[0]
        stats.mean = X.mean(axis=0, dtype=np.float64)
        stats.m2 = X.var(axis=0, dtype=np.float64) * X.shape[0]
        stats.min = X.min(axis=0).astype(np.float64)
        stats.max = X.max(axis=0).astype(np.float64)
        return stats

    def update(self, X: np.ndarray) -> None:
        if not X.shape[0]:
            return
        chunk = ColumnStats.from_array(X)
        n = self.count + chunk.count
        delta = chunk.mean - self.mean
        self.mean = self.mean + delta * (chunk.count / n)
        self.m2 = self.m2 + chunk.m2 + delta**2 * (self.count * chunk.count / n)
        self.count = n
        np.minimum(self.min, chunk.min, out=self.min)
        np.maximum(self.max, chunk.max, out=self.max)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.count, 1))

    @property
    def in_unit(self) -> bool:
        return bool(self.count) and float(self.min.min()) >= 0.0 and float(self.max.max()) <= 1.0

    def pooled(self, groups: int) -> ColumnStats:
        """Statistics of ``groups`` equal blocks of columns pooled (image channels)."""
        size = self.mean.shape[0] // groups
        mean = self.mean.reshape(groups, size)
        out = ColumnStats(groups)
        out.count = self.count * size
        out.mean = mean.mean(axis=1)
        # within-column deviations plus those of the column means (no E[x^2] - mean^2)
        spread = ((mean - out.mean[:, None]) ** 2).sum(axis=1) * self.count
        out.m2 = self.m2.reshape(groups, size).sum(axis=1) + spread
        out.min = self.min.reshape(groups, size).min(axis=1)
        out.max = self.max.reshape(groups, size).max(axis=1)
        return out


def choose_scaling(stats: ColumnStats, scaling: str, loss: str, output_activation: str) -> str:
    """Resolve ``scaling="auto"``: keep data already in [0, 1], else standardize.

    Cross-entropy and a sigmoid output need [0, 1], so with them "auto" min-max scales data that
    is outside [0, 1].
    """
    if scaling != "auto":
        return scaling
    if stats.in_unit:
        return "none"
    if loss == "bce" or output_activation == "sigmoid":
        return "minmax"
    return "standard"


def fit_scaler(stats: ColumnStats, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, factor)`` such that the network sees ``(X - offset) / factor``."""
    n_features = stats.mean.shape[0]
    if scaling == "none":
        return np.zeros(n_features, np.float64), np.ones(n_features, np.float64)
    if scaling == "standard":
        offset, factor = stats.mean.copy(), stats.std
    elif scaling == "minmax":
        offset, factor = stats.min.copy(), stats.max - stats.min
    else:
        raise ValueError(f"Unknown scaling {scaling!r}; use one of {SCALINGS}.")
    factor[~(factor > 1e-12)] = 1.0  # constant features: shift only
    return offset, factor


def scaled_range(stats: ColumnStats, offset: np.ndarray, factor: np.ndarray) -> tuple[float, float]:
    """The smallest and largest value of the data once scaled (scaling is monotone per column)."""
    return (float(((stats.min - offset) / factor).min()),
            float(((stats.max - offset) / factor).max()))


def input_range_of(low: float, high: float) -> tuple[float, float] | None:
    """``(0.0, 1.0)`` when the scaled data lies in [0, 1] (the network input domain), else None."""
    return (0.0, 1.0) if low >= 0.0 and high <= 1.0 else None


def apply_scaler(X: np.ndarray, offset: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``(X - offset) / factor`` as float32; float32 X is scaled in float32 (no float64 copy)."""
    if X.dtype == np.float32:
        return (X - offset.astype(np.float32)) / factor.astype(np.float32)
    return ((X - offset) / factor).astype(np.float32, copy=False)


def undo_scaler(X: np.ndarray, offset: np.ndarray, factor: np.ndarray) -> np.ndarray:
    return X * factor + offset
