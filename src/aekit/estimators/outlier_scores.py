"""``OutlierDetector``'s score: its members' reconstruction errors and code distances.

Per member, from one forward pass (``infer``): the reconstruction error of each row and, with
``anomaly_score_="combined"``, the squared Mahalanobis distance of its code to the training
codes (mean and Ledoit-Wolf precision from the training rows). Each part is divided by its median
over the training rows; a row's anomaly score is the mean over members of their parts' sum.
"""

from __future__ import annotations

import numpy as np

from ..io import is_source


class ScoringMixin:
    """The anomaly score of ``OutlierDetector`` (higher is more abnormal)."""

    def _fit_code_statistics(self, sample: np.ndarray, X, held_out: np.ndarray) -> None:
        """Per member: the code mean and precision (from the scaled training ``sample``), then
        the scores of every row of ``X`` (one pass) and the medians over the training rows
        that normalize both parts of the score."""
        from sklearn.covariance import LedoitWolf

        self._code_location, self._code_precision = [], []
        if self.anomaly_score_ == "combined":
            for member in self.estimators_:
                cov = LedoitWolf().fit(member.transform(sample).astype(np.float64))
                self._code_location.append(cov.location_)
                self._code_precision.append(cov.get_precision())
        del sample
        n_members = len(self.estimators_)

        def parts_of(rows):
            return np.column_stack(
                [p for i in range(n_members) for p in self._member_parts(i, self._scale(rows))])

        parts = self._over_rows(X, parts_of) if is_source(X) else parts_of(X)  # X: checked
        train = ~held_out
        medians = [_positive(np.median(column[train])) for column in parts.T]
        step = 2 if self.anomaly_score_ == "combined" else 1
        self._reconstruction_median, self._code_median = medians[::step], medians[1::step]
        self.train_scores_ = np.zeros(len(parts))
        for i in range(n_members):
            self.train_scores_ += self._member_score(parts.T[step * i: step * (i + 1)], i)
        self.train_scores_ /= n_members

    # ------------------------------------------------------------------ scores
    def _member_parts(self, i: int, Xs: np.ndarray) -> list[np.ndarray]:
        """Member ``i``'s reconstruction error per row, and its code distance (combined), from
        one forward pass."""
        if self.anomaly_score_ != "combined":
            return [self.estimators_[i].infer(Xs, ("error",)).error]
        found = self.estimators_[i].infer(Xs, ("error", "code"))
        distance = _mahalanobis(found.code.astype(np.float64), self._code_location[i],
                                self._code_precision[i])
        return [found.error, distance]

    def _anomaly_scores(self, Xs: np.ndarray) -> np.ndarray:
        """Higher is more abnormal: the mean over members of the normalized parts."""
        total = np.zeros(Xs.shape[0])
        for i in range(len(self.estimators_)):
            total += self._member_score(self._member_parts(i, Xs), i)
        return total / len(self.estimators_)

    def _member_score(self, parts, i: int) -> np.ndarray:
        """Member ``i``'s parts, each divided by its training median, summed."""
        score = parts[0] / self._reconstruction_median[i]
        if self.anomaly_score_ == "combined":
            score = score + parts[1] / self._code_median[i]
        return score


def _positive(value: float) -> float:
    """A normalizer that is never zero (a perfectly reconstructed training set has median 0)."""
    value = float(value)
    return value if value > 1e-12 else 1e-12


def _mahalanobis(codes: np.ndarray, location: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of each code to ``location``."""
    centered = codes - location
    return np.einsum("ij,jk,ik->i", centered, precision, centered)
