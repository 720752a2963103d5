"""``OutlierDetector``'s thresholds, flags and p-values (the rules are ``thresholds``')."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from . import thresholds

_SET_THRESHOLD = {
    "contamination": [Interval(Real, 0, 0.5, closed="right")],
    "fpr": [Interval(Real, 0, 1, closed="neither")],
    "value": [Interval(Real, None, None, closed="neither")],
}


def _has_calibration(detector) -> bool:
    """``predict_proba`` exists unless fitting held nothing out (and nothing was calibrated)."""
    return getattr(detector, "n_calibration_", None) != 0


class ThresholdMixin:
    """Thresholds on ``OutlierDetector``'s anomaly score (``-score_samples``)."""

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """-1 for outliers and +1 for inliers, as scikit-learn's outlier detectors."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def p_values(self, X):
        """Conformal p-values against the held-out (or ``calibrate``) rows.

        ``p = (1 + #{held-out rows at least as abnormal}) / (n_calibration_ + 1)``. For a clean
        row from the distribution of the held-out rows, ``P(p <= a) <= a``; small p-values mark
        outliers, and ``predict`` with an ``fpr`` threshold flags exactly the rows with
        ``p <= fpr`` (up to ties).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk as for ``fit``

        Returns
        -------
        ndarray of shape (n_samples,), values in (0, 1]
        """
        scores = -self.score_samples(X)
        return thresholds.conformal_p_values(self._require_calibration("p_values"), scores)

    @available_if(_has_calibration)
    def predict_proba(self, X):
        """Columns ``[P(inlier), P(outlier)]`` with ``P(outlier) = 1 - p_values(X)``.

        ``P(outlier)`` is the fraction of held-out rows that look more normal than the row, so a
        clean row gets ``P(outlier) >= 1 - a`` with probability at most ``a``. Only available
        when there are held-out scores (``validation_fraction`` set, or after ``calibrate``).

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        p = self.p_values(X)
        return np.column_stack([p, 1.0 - p])

    def _require_calibration(self, what: str) -> np.ndarray:
        if self.n_calibration_ == 0:
            raise ValueError(
                f"{what} needs held-out scores, but this detector was fit with "
                "validation_fraction=None; call calibrate(X_clean) with clean rows first."
            )
        return self._calibration_scores

    def _set_threshold_value(self, value: float) -> None:
        self.threshold_ = float(value)
        self.offset_ = -self.threshold_

    def _set_threshold_contamination(self, contamination: float) -> None:
        # The offset is that percentile of score_samples on the training rows (IsolationForest's
        # rule), so that exactly that fraction scores below it, ties aside.
        self._set_threshold_value(
            thresholds.contamination_threshold(self.train_scores_, contamination))

    def _set_threshold_fpr(self, fpr: float, *, warn: bool = True) -> None:
        calibration = self._require_calibration("An fpr threshold")
        value, certified = thresholds.conformal_threshold(calibration, fpr)
        if not certified and warn:
            n = len(calibration)
            warnings.warn(
                f"fpr={fpr} needs at least {thresholds.rows_needed(fpr)} held-out rows, but "
                f"there are {n}; the threshold is the largest held-out score instead (a "
                f"false-positive rate of at most {1 / (n + 1):.3g}). Raise "
                "validation_fraction or call calibrate() with more clean rows.",
                UserWarning,
                stacklevel=3,
            )
        self._set_threshold_value(value)

    def set_threshold(self, *, contamination=None, fpr=None, value=None):
        """Move the threshold without retraining; give exactly one argument.

        Parameters
        ----------
        contamination : float in (0, 0.5], optional
            Flag this fraction of the training rows.
        fpr : float in (0, 1), optional
            Target false-positive rate on clean data, from the held-out (or ``calibrate``) rows.
        value : float, optional
            The threshold on the anomaly score (``-score_samples``) itself.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        given = {k: v for k, v in
                 {"contamination": contamination, "fpr": fpr, "value": value}.items()
                 if v is not None}
        if len(given) != 1:
            raise ValueError(
                "set_threshold takes exactly one of contamination, fpr or value; got "
                f"{sorted(given) or 'none'}."
            )
        validate_parameter_constraints(_SET_THRESHOLD, given,
                                       caller_name="OutlierDetector.set_threshold")
        (name, number), = given.items()
        if name == "contamination":
            self._set_threshold_contamination(float(number))
        elif name == "fpr":
            self._set_threshold_fpr(float(number))
        else:
            self._set_threshold_value(float(number))
        return self

    def calibrate(self, X_clean, fpr=None):
        """Use clean rows the models never saw for ``p_values`` and ``fpr`` thresholds.

        Parameters
        ----------
        X_clean : array-like of shape (n_samples, n_features), or data on disk as for ``fit``
            Rows known to be normal, not used for training.
        fpr : float in (0, 1) or None, default=None
            Also set the threshold to this false-positive rate on them. None leaves the
            threshold as it is.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        self._calibration_scores = -self.score_samples(X_clean)
        self.n_calibration_ = int(len(self._calibration_scores))
        if fpr is not None:
            self.set_threshold(fpr=fpr)
        return self
