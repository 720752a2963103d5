"""Input scaling, chosen so that the output layer and the loss can reach the data.

The statistics come from ``ColumnStats``: from an array at once, or a chunk at a time for data
streamed from disk (``update``), so both fits scale alike.
"""

from __future__ import annotations

import numpy as np

SCALINGS = ("auto", "standard", "robust", "minmax", "none")


class ColumnStats:
    """Per-column count, mean, variance, min and max, merged chunk by chunk (Chan et al.)."""

    def __init__(self, n_features: int):
        self.count = 0
        self.mean = np.zeros(n_features, np.float64)
        self._m2 = np.zeros(n_features, np.float64)
        self._rows = None  # from_array: the variance is taken from them when first needed
        self.min = np.full(n_features, np.inf)
        self.max = np.full(n_features, -np.inf)

    @property
    def m2(self) -> np.ndarray:
        """The sum of squared deviations from the mean, per column (computed on first use: data
        in [0, 1] is not rescaled, and on 8,000 x 784 the float64 pass costs 0.1-0.3 s)."""
        if self._rows is not None:
            self._m2 = self._rows.var(axis=0, dtype=np.float64) * self._rows.shape[0]
            self._rows = None
        return self._m2

    @m2.setter
    def m2(self, value: np.ndarray) -> None:
        self._m2, self._rows = value, None

    @classmethod
    def from_array(cls, X: np.ndarray) -> ColumnStats:
        stats = cls(X.shape[1])
        stats.count = X.shape[0]
        stats.mean = X.mean(axis=0, dtype=np.float64)
        stats._rows = X
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


class Scaler:
    """``(X - offset) / factor`` per feature, and back: how an estimator scales its input.

    A value object: the data helpers and the model files receive it instead of the estimator.
    """

    def __init__(self, offset: np.ndarray, factor: np.ndarray):
        self.offset = np.asarray(offset, dtype=np.float64)
        self.factor = np.asarray(factor, dtype=np.float64)
        self._identity = not self.offset.any() and bool((self.factor == 1.0).all())

    @classmethod
    def fit(cls, stats: ColumnStats, scaling: str) -> Scaler:
        """The scaler for ``scaling`` ("none", "standard", "minmax") from column statistics."""
        n_features = stats.mean.shape[0]
        if scaling == "none":
            return cls(np.zeros(n_features), np.ones(n_features))
        if scaling == "standard":
            offset, factor = stats.mean.copy(), stats.std
        elif scaling == "minmax":
            offset, factor = stats.min.copy(), stats.max - stats.min
        else:
            raise ValueError(f"Unknown scaling {scaling!r}; use one of {SCALINGS}.")
        factor = np.asarray(factor, dtype=np.float64).copy()
        factor[~(factor > 1e-12)] = 1.0  # constant features: shift only
        return cls(offset, factor)

    def repeated(self, times: int) -> Scaler:
        """Each value repeated ``times`` times (per-channel statistics over each pixel)."""
        return Scaler(np.repeat(self.offset, times), np.repeat(self.factor, times))

    def scaled_range(self, stats: ColumnStats) -> tuple[float, float]:
        """The smallest and largest value of the data once scaled (scaling is monotone)."""
        return (float(((stats.min - self.offset) / self.factor).min()),
                float(((stats.max - self.offset) / self.factor).max()))

    def apply(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        """``(X - offset) / factor`` as float32; float32 X is scaled in float32 (no copy in
        float64). ``copy=False``: a writable float32 X that needs no scaling comes back as it
        is (for inference, which only reads it)."""
        if self._identity:  # scaling="none": no arithmetic
            if not copy and X.dtype == np.float32 and X.flags.writeable:
                return X
            return np.array(X, dtype=np.float32)
        if X.dtype == np.float32:
            scaled = X - self.offset.astype(np.float32)
            scaled /= self.factor.astype(np.float32)
            return scaled
        return ((X - self.offset) / self.factor).astype(np.float32, copy=False)

    def apply_in_place(self, rows: np.ndarray) -> np.ndarray:
        """``apply`` on a fresh float32 buffer, in place (streamed chunks); else ``apply``."""
        if rows.dtype == np.float32 and rows.flags.owndata and rows.flags.writeable:
            if self._identity:
                return rows
            rows -= self.offset.astype(np.float32)
            rows /= self.factor.astype(np.float32)
            return rows
        return self.apply(rows)

    def undo(self, X: np.ndarray) -> np.ndarray:
        return X * self.factor + self.offset


def input_range_of(low: float, high: float) -> tuple[float, float] | None:
    """``(0.0, 1.0)`` when the scaled data lies in [0, 1] (the network input domain), else None."""
    return (0.0, 1.0) if low >= 0.0 and high <= 1.0 else None
