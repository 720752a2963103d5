"""Which features made a row unusual: the largest per-feature reconstruction errors.

One rule for the Python API (``OutlierDetector.explain``) and the command line (``aekit
score``'s ``top_features``): rank a row's features by their share of its reconstruction error.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted


def top_features(errors: np.ndarray, top_k: int) -> np.ndarray:
    """Per row: the indices of the ``top_k`` largest errors, the errors, and their share of the
    row's total, side by side as one float64 array (n_rows, 3 * top_k), so that it can be
    computed a chunk at a time and stacked."""
    indices = np.argsort(-errors, axis=1, kind="stable")[:, :top_k]
    top = np.take_along_axis(errors, indices, axis=1)
    totals = errors.sum(axis=1, keepdims=True)
    shares = np.divide(top, totals, out=np.zeros_like(top), where=totals > 0)
    return np.concatenate([indices, top, shares], axis=1)  # indices exact in float64


def as_explanation(found: np.ndarray, top_k: int, names) -> Bunch:
    """``top_features``' columns as ``features``, ``indices``, ``errors`` and ``shares``."""
    indices = found[:, :top_k].astype(np.intp)
    names = np.asarray(names, dtype=object)
    return Bunch(features=names[indices], indices=indices, errors=found[:, top_k:2 * top_k],
                 shares=found[:, 2 * top_k:])


def describe_rows(explanation: Bunch) -> list[str]:
    """``"b (61%); a (30%)"`` per row: the top features and their shares."""
    return ["; ".join(f"{name} ({share:.0%})" for name, share in zip(names, shares))
            for names, shares in zip(explanation.features, explanation.shares)]


class ExplanationMixin:
    """``OutlierDetector``'s per-feature errors and explanations."""

    def feature_errors(self, X):
        """Per-feature (per-pixel for images) reconstruction errors, averaged over members.

        Measured where the network works: after ``scaling_`` and the autoencoder's own scaling,
        so errors of features in different units compare. The reconstruction part of the
        anomaly score is ``feature_errors(X).mean(axis=1)`` divided by its training median.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk as for ``fit``
            (the result is as large as the data; ``explain`` keeps only the top features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        return self._over_rows(X, self._feature_errors_of)

    def _feature_errors_of(self, rows: np.ndarray) -> np.ndarray:
        Xs = self._scale(rows)
        total = np.zeros(Xs.shape, dtype=np.float64)
        for member in self.estimators_:
            total += member.infer(Xs, ("feature_errors",)).feature_errors
        return total / len(self.estimators_)

    def explain(self, X, top_k: int = 3):
        """The features whose reconstruction errors made each row unusual, largest first.

        It explains the reconstruction part of the score. With ``anomaly_score_="combined"`` a
        row can also be unusual by its code distance alone (it lies along the data's structure
        but far out), and with an isolation forest (``forest_``) by how quickly the trees
        isolate it; ``explain`` says nothing about those parts.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk as for ``fit``
            (explained a chunk at a time)
        top_k : int, default=3
            How many features to name per row (at most ``n_features_in_``).

        Returns
        -------
        sklearn.utils.Bunch
            ``features`` (names, from ``feature_names_in_`` or ``x0, x1, ...``), ``indices``,
            ``errors`` (their feature errors) and ``shares`` (their share of the row's total
            reconstruction error), each of shape (n_samples, top_k).
        """
        validate_parameter_constraints(
            {"top_k": [Interval(Integral, 1, None, closed="left")]}, {"top_k": top_k},
            caller_name="OutlierDetector.explain")
        check_is_fitted(self)
        top_k = min(int(top_k), self.n_features_in_)

        found = self._over_rows(X, lambda rows: top_features(self._feature_errors_of(rows),
                                                             top_k))
        return as_explanation(found, top_k, self._feature_names())

    def _feature_names(self) -> np.ndarray:
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)
        return np.asarray([f"x{j}" for j in range(self.n_features_in_)], dtype=object)
