"""Thresholds and p-values of anomaly scores, as pure functions (higher score = more abnormal).

- ``contamination_threshold``: the score above which a given fraction of the training rows
  lies (scikit-learn's ``IsolationForest`` rule);
- ``conformal_threshold``: the score that flags a clean row with probability at most ``fpr``,
  certified by held-out clean scores (split conformal prediction);
- ``conformal_p_values``: ``(1 + #{held-out scores >= s}) / (n + 1)`` for each score ``s``;
- ``fence_threshold``: Tukey's far-out fence ``Q3 + 3 IQR`` (outliers in the scores barely
  move it);
- ``extreme_value_threshold``: the score a clean row exceeds with probability ``risk``,
  extrapolated beyond the largest training scores by peaks over threshold (a generalized
  Pareto law fitted to the excesses over the 98% quantile: Siffer et al., KDD 2017).
"""

from __future__ import annotations

import math

import numpy as np


def contamination_threshold(train_scores: np.ndarray, contamination: float) -> float:
    """The ``1 - contamination`` quantile of the training scores."""
    return float(np.percentile(train_scores, 100.0 * (1.0 - contamination)))


def conformal_threshold(calibration_scores: np.ndarray, fpr: float) -> tuple[float, bool]:
    """``(threshold, certified)``: flag a score iff its conformal p-value is <= ``fpr``.

    That is the rank-``m`` largest held-out score with ``m = floor(fpr * (n + 1))``; when
    ``m < 1`` (fewer than ``1 / fpr - 1`` held-out rows) ``fpr`` cannot be certified, the
    threshold is the largest held-out score and ``certified`` is False.
    """
    ordered = np.sort(np.asarray(calibration_scores, dtype=np.float64))[::-1]
    m = math.floor(fpr * (len(ordered) + 1) + 1e-9)
    certified = m >= 1
    return float(ordered[max(m, 1) - 1]), certified


def rows_needed(fpr: float) -> int:
    """The fewest held-out rows that certify ``fpr``."""
    return math.ceil(1 / fpr) - 1


def conformal_p_values(calibration_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Conformal p-values of ``scores`` against the held-out ``calibration_scores``."""
    ordered = np.sort(np.asarray(calibration_scores, dtype=np.float64))
    at_least = len(ordered) - np.searchsorted(ordered, scores, side="left")
    return (1.0 + at_least) / (len(ordered) + 1.0)


def fence_threshold(train_scores: np.ndarray) -> float:
    q1, q3 = np.percentile(np.asarray(train_scores, dtype=np.float64), [25, 75])
    return float(q3 + 3.0 * (q3 - q1))


def extreme_value_threshold(train_scores: np.ndarray, risk: float,
                            level: float = 0.98) -> float:
    """Peaks over threshold; the largest training score when the tail cannot be fitted (too
    few or identical excesses), never less than it."""
    from scipy.stats import genpareto

    scores = np.asarray(train_scores, dtype=np.float64)
    base = float(np.quantile(scores, level))
    excess = scores[scores > base] - base
    if len(excess) < 10 or np.ptp(excess) <= 0:
        return float(scores.max())
    shape, _, scale = genpareto.fit(excess, floc=0)
    ratio = risk * len(scores) / len(excess)
    if abs(shape) > 1e-6:
        level_excess = scale / shape * (ratio ** -shape - 1.0)
    else:
        level_excess = -scale * math.log(ratio)
    return float(max(base + level_excess, scores.max()))


def robust_scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and IQR/1.349 per feature (the standard deviation where the IQR is 0), so that
    the outliers among the training rows do not set the scale. In float64, a block of columns
    at a time (a float64 copy of a wide table costs more than the arithmetic)."""
    X = np.asarray(X)
    n_features = X.shape[1]
    center, spread = np.empty(n_features), np.empty(n_features)
    for start in range(0, n_features, 64):  # each block's columns as contiguous rows
        block = np.ascontiguousarray(X[:, start:start + 64].T, dtype=np.float64)
        q1, center[start:start + 64], q3 = np.percentile(block, [25, 50, 75], axis=1)
        iqr = (q3 - q1) / 1.349  # the IQR of a standard normal is 1.349
        flat = ~(iqr > 1e-12)
        iqr[flat] = block[flat].std(axis=1)
        spread[start:start + 64] = iqr
    spread[~(spread > 1e-12)] = 1.0  # constant features: shift only
    return center, spread


def scale_rows(X: np.ndarray, center: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``(X - center) / spread`` computed in float64 and returned in float32, whatever X's
    dtype (a float32 array and the float64 rows of a file score the same), a block of rows at
    a time (a float64 copy of a wide table costs more than the arithmetic)."""
    X = np.asarray(X)
    out = np.empty(X.shape, dtype=np.float32)
    step = max(1, (1 << 15) // max(1, X.shape[1] if X.ndim == 2 else 1))
    for start in range(0, len(X), step):
        block = X[start:start + step].astype(np.float64)
        block -= center
        block /= spread
        out[start:start + step] = block
    return out


def detector_scaler(X, scaling: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``(center, spread)`` of a detector's ``scaling``: "robust", "standard" or "none"."""
    if scaling == "robust":
        return robust_scaler(X)
    if scaling == "standard":
        X = np.asarray(X, dtype=np.float64)
        spread = X.std(axis=0)
        spread[~(spread > 1e-12)] = 1.0
        return X.mean(axis=0), spread
    return np.zeros(n_features), np.ones(n_features)
