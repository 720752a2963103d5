"""``TimeSeriesDetector``: anomaly detection on a time series, one score per step.

The series is cut into sliding windows (``aekit.estimators.windows``), an autoencoder learns
the windows, and every step gets the reconstruction error of its value in the windows that
cover it (the mean over them, or the maximum), divided by the median over the training steps.
The rule is the same at both ends (the first and the last window end there), so every step of
the input, in the input's row order, has one score.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..saving import register_estimator
from . import thresholds
from .autoencoder import Autoencoder
from .base import BaseAutoencoder
from .timeseries_state import TimeSeriesFileMixin
from .window_scores import WindowScoresMixin, fingerprint
from .windows import WindowSource, as_series, window_starts

#: window="auto": this share of the series, within WINDOW_RANGE (chosen on NAB's design half)
WINDOW_SHARE = 1 / 20
WINDOW_RANGE = (16, 1024)


@register_estimator
class TimeSeriesDetector(TimeSeriesFileMixin, WindowScoresMixin, OutlierMixin, BaseEstimator):
    """Outlier detection on a time series: ``fit(series)``, then one score per step.

    Parameters
    ----------
    window : int, "auto" or None, default=None
        Steps per window. None/"auto": a twentieth of the training series, between 16 and
        1,024 steps (a long window sees slow changes; the rule was chosen on half of NAB's
        series over the dominant period, its multiples and other shares: see
        ``benchmarks/bench_nab.py``). ``windows.dominant_period`` gives a series' period.
    stride : int, default=1
        Steps between the starts of consecutive windows (a last window always ends at the
        last step).
    normalize : {"global", "window"}, default="global"
        "global": each channel is centred and scaled by its median and IQR / 1.349 over the
        training series (levels matter: a level shift is an anomaly); "window": each window is
        centred on its own mean (shapes matter, levels do not).
    aggregate : "mean", "position" or float in [0, 1], default="mean"
        How the windows' errors become a step's score. "mean": the mean error of the windows
        covering the step (each window's error is the mean over its positions and channels):
        smooth scores that rise within one window of an anomaly (the rule of the windowed
        baselines; NAB's labelled windows reward it). "position": the mean, over those
        windows, of the error at the step's own position. A float q: the q-quantile of those
        errors (0: the best window's, 0.5: the median, 1: the worst): an anomalous stretch
        raises the scores of the steps within ``q * window`` of it, so a small q localizes
        (0.25: a quarter window on each side).
    anomaly_score : {"knn", "reconstruction"}, default="knn"
        A window's score: its reconstruction error plus ("knn") the distance of its code to
        the nearest codes of other training windows, each part divided by its training median
        (``aekit.estimators.window_scores``). "knn" also finds windows that the model rebuilds
        well but that are unlike the rest (a lost season, a level that only appears once).
    estimator : aekit autoencoder or None, default=None
        The model of the windows (cloned); it receives rows of ``channels * window`` values,
        channel by channel. None: a dense ``Autoencoder`` (code 8, one hidden layer of 128,
        about 20 epochs of at most 20,000 windows); ``SequenceAutoencoder`` convolves along
        time instead (it was slower and less accurate on NAB's design half).
    contamination : "auto" or float in (0, 0.5], default="auto"
        "auto": the threshold is Tukey's far-out fence of the training steps' scores,
        ``Q3 + 3 * (Q3 - Q1)``: a clean training series gets (almost) no flag, and anomalies
        in it, however many, do not move the fence much. A float: that share of the training
        steps is above the threshold.
    max_train_windows : int, default=20000
        Training uses at most this many windows (evenly spaced); scoring uses every window.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    window_, n_channels_, channels_ : the fitted window, its channel count and names
    estimator_ : the fitted autoencoder
    threshold_ : float
        Steps whose anomaly score (``-score_samples``) exceeds it are outliers.
    train_scores_ : ndarray
        Anomaly scores of the training steps, in the training series' row order.
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"}), None],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "normalize": [StrOptions({"global", "window"})],
        "aggregate": [StrOptions({"mean", "position"}), Interval(Real, 0, 1, closed="both")],
        "anomaly_score": [StrOptions({"knn", "reconstruction"})],
        "estimator": [BaseAutoencoder, None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="both")],
        "risk": [Interval(Real, 0, 0.01, closed="right"), None],
        "max_train_windows": [Interval(Integral, 16, None, closed="left")],
        "random_state": ["random_state"],
    }

    _epochs = 20  # of the default model

    def __init__(self, window=None, *, stride=1, normalize="global", aggregate="mean",
                 anomaly_score="knn", estimator=None, contamination="auto", risk=None,
                 max_train_windows=20000,
                 random_state=None):
        self.window = window
        self.stride = stride
        self.normalize = normalize
        self.aggregate = aggregate
        self.anomaly_score = anomaly_score
        self.estimator = estimator
        self.contamination = contamination
        self.risk = risk
        self.max_train_windows = max_train_windows
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, series, y=None):
        """Learn the windows of ``series`` (an array ``(n_steps,)``/``(n_steps, n_channels)``
        or a DataFrame with a datetime index or timestamp column); ``y`` is ignored."""
        self._validate_params()
        if self.risk is not None and self.contamination != "auto":
            raise ValueError(f"Give either risk or a float contamination, not both; got "
                             f"risk={self.risk!r} and contamination={self.contamination!r}.")
        data = as_series(series)
        n = len(data.values)
        self.channels_, self.n_channels_ = data.channels, len(data.channels)
        self.time_column_ = data.time_column
        self.window_ = self._choose_window(data.values, n)
        self._center = np.median(data.values, axis=0)
        q1, q3 = np.percentile(data.values, [25, 75], axis=0)
        spread = (q3 - q1) / 1.349
        spread[~(spread > 1e-12)] = data.values.std(axis=0)[~(spread > 1e-12)]
        spread[~(spread > 1e-12)] = 1.0
        self._spread = spread
        values = self._normalized(data.values)
        starts = window_starts(n, self.window_, self.stride)
        train_starts = starts
        if len(starts) > self.max_train_windows:
            pick = np.linspace(0, len(starts) - 1, self.max_train_windows).round().astype(int)
            train_starts = starts[np.unique(pick)]
        self.estimator_ = self._model(len(train_starts))
        with warnings.catch_warnings():
            if self.estimator is None:  # the step budget is the default's stopping rule
                warnings.simplefilter("ignore", ConvergenceWarning)
            self.estimator_.fit(self._windows(values, train_starts))
        self.train_scores_ = self._fit_scores(values, starts)[data.order]
        if self.risk is not None:
            self.threshold_ = thresholds.extreme_value_threshold(self.train_scores_, self.risk)
        elif self.contamination == "auto":
            self.threshold_ = thresholds.fence_threshold(self.train_scores_)
        elif self.contamination == 0:
            self.threshold_ = float(self.train_scores_.max())
        else:
            self.threshold_ = thresholds.contamination_threshold(self.train_scores_,
                                                                 self.contamination)
        self.offset_ = -self.threshold_
        self._tail = data.values[-(self.window_ - 1):] if self.window_ > 1 else data.values[:0]
        return self

    def _choose_window(self, values: np.ndarray, n: int) -> int:
        window = self.window
        if window in (None, "auto"):
            low, high = WINDOW_RANGE
            window = int(np.clip(round(n * WINDOW_SHARE), low, high))
            window = min(window, max(2, n // 2))
        window = int(window)
        if window > n:
            raise ValueError(f"window={window} is longer than the series ({n} steps); give a "
                             "shorter window.")
        return window

    def _model(self, n_windows: int):
        if self.estimator is not None:
            model = clone(self.estimator)
        else:
            code = min(8, max(1, self.n_channels_ * self.window_ // 2))
            model = Autoencoder(code, hidden_layer_sizes=(128,), max_iter=self._epochs,
                                batch_size=128)
        if "sample_shape" in model.get_params():
            model.set_params(sample_shape=(self.n_channels_, self.window_))
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        return model.set_params(random_state=int(seed))

    def _windows(self, values: np.ndarray, starts: np.ndarray) -> WindowSource:
        source = WindowSource(values, self.window_, starts)
        return _Centred(source, self.n_channels_, self.window_) \
            if self.normalize == "window" else source

    def _normalized(self, values: np.ndarray) -> np.ndarray:
        return (values - self._center) / self._spread

    # ------------------------------------------------------------------ scores
    def _scores(self, series, history=None, positions=False):
        """Per step (time order): the per-channel errors, and with ``positions`` each step's
        own errors; and the series (its ``order`` maps input rows to time order)."""
        check_is_fitted(self)
        data = as_series(series, self.channels_)
        values, context = data.values, 0
        if history is not None:
            past = self._tail if isinstance(history, str) and history == "fit" else \
                as_series(history, self.channels_).values[-(self.window_ - 1):]
            values, context = np.vstack([past, values]), len(past)
        if len(values) < self.window_:
            raise ValueError(f"The series has {len(values)} steps, fewer than the window "
                             f"({self.window_}); give more steps, or history='fit'.")
        normalized = self._normalized(values)
        own_series = history is None and fingerprint(normalized) == self._fingerprint
        starts = window_starts(len(values), self.window_, self.stride)
        steps, own = self._step_scores(normalized, starts, own_series=own_series,
                                       positions=positions)
        return steps[context:] / self._median, None if own is None else own[context:], data

    def score_samples(self, series, *, history=None):
        """Normality of every step, in the input's row order (higher is more normal): minus
        its anomaly score.

        ``history``: steps that came before ``series`` (or "fit": the end of the training
        series), so that the first steps are scored with their context.
        """
        steps, _, data = self._scores(series, history)
        return -steps.sum(axis=1)[data.order]

    def decision_function(self, series, *, history=None):
        return self.score_samples(series, history=history) - self.offset_

    def predict(self, series, *, history=None):
        """-1 for outlying steps, +1 for the others."""
        return np.where(self.decision_function(series, history=history) < 0, -1, 1)

    def p_values(self, series, *, history=None):
        """The share of training steps at least as abnormal as each step (empirical p-values
        against the training series, which may hold anomalies itself)."""
        return thresholds.conformal_p_values(self.train_scores_,
                                             -self.score_samples(series, history=history))

    def time_order(self, series):
        """The series as the detector reads it (a ``windows.Series``): ``values`` in time
        order with gaps filled ``(n_steps, n_channels)``, ``timestamps`` (input order, or None),
        ``order`` (input row -> position in time order) and the ``notes`` it warned about."""
        check_is_fitted(self)
        return as_series(series, self.channels_)

    def reconstruct_windows(self, series, starts):
        """``(windows, reconstructions)``, each ``(len(starts), n_channels, window)`` in the
        series' own units: the windows of ``series`` (time order) that begin at ``starts``."""
        check_is_fitted(self)
        values = self._normalized(as_series(series, self.channels_).values)
        starts = np.asarray(starts, dtype=np.int64)
        last = len(values) - self.window_
        if starts.ndim != 1 or not len(starts) or (starts < 0).any() or (starts > last).any():
            raise ValueError(f"starts must be steps in [0, {last}].")
        shape = (len(starts), self.n_channels_, self.window_)
        windows = WindowSource(values, self.window_, starts, chunk_rows=len(starts)) \
            .read_chunk(0).reshape(shape)
        level = windows.mean(axis=2, keepdims=True) if self.normalize == "window" else 0.0
        recon = self.estimator_.reconstruct((windows - level).reshape(len(starts), -1))
        recon = np.asarray(recon, dtype=np.float64).reshape(shape) + level

        def units(w):
            return w * self._spread[None, :, None] + self._center[None, :, None]

        return units(windows), units(recon)

    def explain(self, series, *, history=None):
        """What drove each step's score, as a DataFrame in the input's row order:

        - ``score``: the anomaly score (``-score_samples``);
        - ``top_channel``: the channel with the largest share of the step's score, and that
          share (``channel_share``);
        - ``top_step``: the input row of the step, among those whose windows make up this
          step's score, with the largest reconstruction error of its own (a step flagged
          because its windows hold an anomaly points at the anomaly).
        """
        import pandas as pd

        steps, own, data = self._scores(series, history, positions=True)
        top = steps.argmax(axis=1)
        total = steps.sum(axis=1)
        share = np.divide(steps[np.arange(len(top)), top], total, out=np.zeros(len(top)),
                          where=total > 0)
        reach = self.window_ - 1
        cause = _argmax_near(own.sum(axis=1), reach)  # time positions
        row_at = np.argsort(data.order)  # time position -> input row
        return pd.DataFrame({
            "score": total[data.order],
            "top_channel": np.asarray(self.channels_, dtype=object)[top][data.order],
            "channel_share": share[data.order],
            "top_step": row_at[cause][data.order],
        })


def _argmax_near(values: np.ndarray, reach: int, block: int = 4096) -> np.ndarray:
    """For each i, the index of the largest ``values[j]`` with ``|i - j| <= reach``."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(values)
    padded = np.concatenate([np.full(reach, -np.inf), values, np.full(reach, -np.inf)])
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, block):  # (block, 2 * reach + 1) at a time
        stop = min(n, start + block)
        view = sliding_window_view(padded[start:stop + 2 * reach], 2 * reach + 1)
        out[start:stop] = np.arange(start, stop) - reach + view.argmax(axis=1)
    return out


class _Centred(WindowSource):
    """Windows centred on their own mean, per channel (``normalize="window"``)."""

    def __init__(self, source: WindowSource, channels: int, window: int):
        self.__dict__.update(source.__dict__)
        self._channels, self._window = channels, window

    def read_chunk(self, index: int) -> np.ndarray:
        rows = super().read_chunk(index).reshape(-1, self._channels, self._window)
        rows -= rows.mean(axis=2, keepdims=True)
        return rows.reshape(len(rows), -1)
