"""``TimeSeriesScoreDisplay``: a series, its per-step anomaly score, the threshold and the
flagged spans (and labelled windows, when known)."""

from __future__ import annotations

import warnings

import numpy as np

from ._base import as_float_array, estimator_name, pyplot, require_fitted


class TimeSeriesScoreDisplay:
    """Two panels sharing the time axis: the series (one line per channel) above, the anomaly
    score (higher is more abnormal) with the threshold below; flagged spans are shaded red in
    both, labelled anomaly windows grey.

    Parameters
    ----------
    values : ndarray of shape (n_steps,) or (n_steps, n_channels)
    scores : ndarray of shape (n_steps,)
    threshold : float or None, default=None
    time : array-like of shape (n_steps,) or None, default=None
        Timestamps (or step numbers) for the time axis; None: 0, 1, 2, ...
    labels : ndarray of bool of shape (n_steps,) or None, default=None
        Steps known to be anomalous (e.g. inside NAB's windows).
    channels : list of str or None, default=None
    estimator_name : str or None, default=None

    Attributes
    ----------
    flagged_spans_ : list of (int, int)
        ``[start, stop)`` step ranges above the threshold.
    axes_ : (Axes, Axes)
        The series and the score panels.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import TimeSeriesDetector
    >>> from aekit.plotting import TimeSeriesScoreDisplay
    >>> series = np.sin(np.arange(2000) * 2 * np.pi / 50)
    >>> series[1200:1250] = 0
    >>> detector = TimeSeriesDetector(50, random_state=0).fit(series)
    >>> TimeSeriesScoreDisplay.from_estimator(detector, series)  # doctest: +SKIP
    """

    def __init__(self, *, values, scores, threshold=None, time=None, labels=None, channels=None,
                 estimator_name=None):
        self.values = values
        self.scores = scores
        self.threshold = threshold
        self.time = time
        self.labels = labels
        self.channels = channels
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, series, labels=None, *, figsize=(10, 5)):
        """Score ``series`` with a fitted ``TimeSeriesDetector`` and plot it.

        ``series`` as the detector takes it (array, DataFrame with timestamps); ``labels``: a
        boolean per step (input order), or None.
        """
        require_fitted(estimator, "TimeSeriesScoreDisplay", attributes=("score_samples",))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # scoring below warns once
            data = estimator.time_order(series)
        scores = -np.asarray(estimator.score_samples(series), dtype=np.float64)
        back = np.argsort(data.order)  # time position -> input row
        time = None if data.timestamps is None else np.asarray(data.timestamps)[back]
        return cls(values=data.values, scores=scores[back], threshold=estimator.threshold_,
                   time=time, labels=None if labels is None else np.asarray(labels, bool)[back],
                   channels=list(estimator.channels_),
                   estimator_name=estimator_name(estimator)).plot(figsize=figsize)

    @classmethod
    def from_scores(cls, values, scores, *, threshold=None, time=None, labels=None,
                    channels=None, estimator_name=None, figsize=(10, 5)):
        """Plot given per-step anomaly scores (higher is more abnormal), in time order."""
        return cls(values=values, scores=scores, threshold=threshold, time=time, labels=labels,
                   channels=channels, estimator_name=estimator_name).plot(figsize=figsize)

    def plot(self, *, figsize=(10, 5)):
        plt = pyplot("TimeSeriesScoreDisplay")
        values = np.asarray(self.values, dtype=np.float64)
        values = values[:, None] if values.ndim == 1 else values
        scores = as_float_array(self.scores, "scores", ndim=1)
        if len(scores) != len(values):
            raise ValueError(f"scores has {len(scores)} steps but values has {len(values)}.")
        time = np.arange(len(values)) if self.time is None else np.asarray(self.time)
        figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=figsize,
                                             height_ratios=(3, 2))
        names = self.channels or [f"x{j}" for j in range(values.shape[1])]
        for j in range(values.shape[1]):
            top.plot(time, values[:, j], lw=0.8, label=names[j])
        if values.shape[1] > 1:
            top.legend(loc="upper right", fontsize="small")
        bottom.plot(time, scores, lw=0.8, color="black", label="anomaly score")
        flagged = np.zeros(len(scores), bool) if self.threshold is None else \
            scores > self.threshold
        if self.threshold is not None:
            bottom.axhline(self.threshold, color="red", ls="--", lw=1, label="threshold")
        self.flagged_spans_ = _spans(flagged)
        for ax in (top, bottom):
            if self.labels is not None:
                for begin, end in _spans(np.asarray(self.labels, bool)):
                    ax.axvspan(time[begin], time[end - 1], color="0.6", alpha=0.3, lw=0)
            for begin, end in self.flagged_spans_:
                ax.axvspan(time[begin], time[end - 1], color="red", alpha=0.25, lw=0)
        if np.all(scores > 0) and scores.max() > 100 * np.median(scores):
            bottom.set_yscale("log")
        top.set_ylabel("value")
        bottom.set_ylabel("anomaly score")
        bottom.set_xlabel("time" if self.time is not None else "step")
        bottom.legend(loc="upper right", fontsize="small")
        spans = len(self.flagged_spans_)
        title = f"{int(flagged.sum())} steps flagged in {spans} span(s)"
        if self.labels is not None:
            title += " (grey: labelled anomaly windows)"
        top.set_title(f"{self.estimator_name}: {title}" if self.estimator_name else title)
        figure.autofmt_xdate()
        self.axes_, self.figure_, self.ax_ = (top, bottom), figure, bottom
        return self


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))
