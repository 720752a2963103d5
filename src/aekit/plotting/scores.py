"""``ScoreHistogramDisplay``: the distribution of anomaly scores and the decision threshold."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._base import as_float_array, estimator_name, new_axes, require_fitted


class ScoreHistogramDisplay:
    """Histogram of anomaly scores (higher is more abnormal) with the threshold as a line.

    With labels, inliers and outliers get their own (overlaid) histograms over the same bins,
    which shows how well the score separates them and where the threshold cuts.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Anomaly scores, higher is more abnormal.
    threshold : float or None, default=None
        Rows scoring above it are outliers.
    outlier : ndarray of bool of shape (n_samples,) or None, default=None
        Which rows are known outliers.
    estimator_name : str or None, default=None

    Attributes
    ----------
    flagged_fraction : float or None
        Fraction of the rows above the threshold.
    patches_ : list of matplotlib artists
        The histograms (one, or inliers then outliers).
    threshold_line_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import OutlierDetector
    >>> from aekit.plotting import ScoreHistogramDisplay
    >>> X = np.random.default_rng(0).normal(size=(500, 8))
    >>> detector = OutlierDetector(random_state=0).fit(X)
    >>> ScoreHistogramDisplay.from_estimator(detector, X)  # doctest: +SKIP
    """

    def __init__(self, *, scores, threshold=None, outlier=None, estimator_name=None):
        self.scores = scores
        self.threshold = threshold
        self.outlier = outlier
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, bins=50, xscale="auto", log_scale=False,
                       ax=None):
        """Score ``X`` with a fitted estimator and plot the histogram.

        Parameters
        ----------
        estimator : fitted estimator with ``score_samples`` (higher is more normal)
            ``aekit.OutlierDetector``, any aekit autoencoder (reconstruction error), or a
            scikit-learn detector (``IsolationForest``, ...). The anomaly score drawn is
            ``-score_samples(X)``. The threshold is ``threshold_`` when the estimator has one
            (``OutlierDetector``: a threshold on ``-score_samples``), else ``-offset_``
            (scikit-learn's detectors flag ``score_samples < offset_``); none otherwise.
        X : array-like
        y : array-like of shape (n_samples,) or None, default=None
            Known labels: 1 (or True) marks an outlier, 0 an inlier (ADBench's convention); if
            y contains -1, scikit-learn's convention is used instead (-1 outlier, +1 inlier).
        bins : int or sequence or str, default=50
            As for ``numpy.histogram``; an int gives log-spaced bins on a log score axis.
        xscale : {"auto", "linear", "log"}, default="auto"
            Score axis. "auto": "log" when every score is positive and the largest is over 100
            times the median (strong outliers would squeeze the bulk of the rows into one bin),
            else "linear".
        log_scale : bool, default=False
            Logarithmic count axis (outliers are few).
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        ScoreHistogramDisplay
        """
        require_fitted(estimator, "ScoreHistogramDisplay", attributes=("score_samples",))
        scores = -np.asarray(estimator.score_samples(X), dtype=np.float64)
        threshold = getattr(estimator, "threshold_", None)
        if threshold is None and getattr(estimator, "offset_", None) is not None:
            threshold = -float(estimator.offset_)
        return cls.from_scores(scores, y, threshold=threshold, bins=bins, xscale=xscale,
                               log_scale=log_scale, ax=ax,
                               estimator_name=estimator_name(estimator))

    @classmethod
    def from_scores(cls, scores, y=None, *, threshold=None, bins=50, xscale="auto",
                    log_scale=False, ax=None, estimator_name=None):
        """Plot given anomaly scores (higher is more abnormal), e.g. PyOD's ``decision_scores_``.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
        y : array-like of shape (n_samples,) or None, default=None
            As in :meth:`from_estimator`.
        threshold : float or None, default=None
            E.g. PyOD's ``threshold_``.
        bins, xscale, log_scale, ax :
            As in :meth:`from_estimator`.
        estimator_name : str or None, default=None

        Returns
        -------
        ScoreHistogramDisplay
        """
        scores = as_float_array(scores, "scores", ndim=1)
        outlier = None if y is None else _outlier_mask(y, len(scores))
        display = cls(scores=scores, threshold=None if threshold is None else float(threshold),
                      outlier=outlier, estimator_name=estimator_name)
        return display.plot(ax=ax, bins=bins, xscale=xscale, log_scale=log_scale)

    def plot(self, ax=None, *, bins=50, xscale="auto", log_scale=False):
        """Draw the histogram(s) and the threshold.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
        bins : int or sequence or str, default=50
        xscale : {"auto", "linear", "log"}, default="auto"
        log_scale : bool, default=False

        Returns
        -------
        ScoreHistogramDisplay
        """
        scores = as_float_array(self.scores, "scores", ndim=1)
        if scores.size == 0:
            raise ValueError("scores is empty; score at least one row.")
        if xscale not in ("auto", "linear", "log"):
            raise ValueError(f"xscale must be 'auto', 'linear' or 'log'; got {xscale!r}.")
        positive = bool(scores.min() > 0)
        if xscale == "auto":
            heavy = positive and scores.max() > 100 * np.median(scores)
            xscale = "log" if heavy else "linear"
        if xscale == "log" and not positive:
            raise ValueError(
                f"xscale='log' needs positive scores; the smallest is {scores.min():.3g}. Use "
                "xscale='linear'."
            )
        figure, ax = new_axes(ax, "ScoreHistogramDisplay")
        if xscale == "log" and isinstance(bins, Integral) and not isinstance(bins, bool):
            edges = np.geomspace(scores.min(), scores.max() * (1 + 1e-9), bins + 1)
        else:
            edges = np.histogram_bin_edges(scores, bins=bins)
        self.patches_ = []
        if self.outlier is None:
            *_, patches = ax.hist(scores, bins=edges, color="C0", alpha=0.8, label="all rows")
            self.patches_.append(patches)
        else:
            outlier = np.asarray(self.outlier, dtype=bool)
            for mask, label, color in ((~outlier, "inliers", "C0"), (outlier, "outliers", "C3")):
                *_, patches = ax.hist(scores[mask], bins=edges, color=color, alpha=0.6,
                                      label=f"{label} ({int(mask.sum())})")
                self.patches_.append(patches)
        self.threshold_line_, self.flagged_fraction = None, None
        if self.threshold is not None:
            self.flagged_fraction = float(np.mean(scores > self.threshold))
            self.threshold_line_ = ax.axvline(
                self.threshold, color="k", linestyle="--",
                label=f"threshold {self.threshold:.3g} (flags {100 * self.flagged_fraction:.1f}%)",
            )
        ax.set_xscale(xscale)
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("anomaly score (higher is more abnormal)")
        ax.set_ylabel("rows")
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: anomaly scores")
        ax.legend()
        self.ax_, self.figure_ = ax, figure
        return self


def _outlier_mask(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must hold one label per score ({n}); got shape {y.shape}.")
    values = set(np.unique(y).tolist())
    if values <= {-1, 1} and -1 in values:
        return y == -1
    if values <= {0, 1}:
        return y.astype(bool)
    raise ValueError(
        "y must mark outliers with 1 (inliers 0), or use scikit-learn's -1 (outlier) / +1 "
        f"(inlier); got the values {sorted(values)[:5]}."
    )
