"""Series as windows and back: what ``TimeSeriesDetector`` does before and after its model.

- ``as_series`` reads an array ``(n_steps,)``/``(n_steps, n_channels)`` or a DataFrame (a
  datetime index, or a timestamp column, is recognised and kept) into values in time order,
  fills gaps by linear interpolation (the ends by the nearest value) and says, as warnings,
  what it found: missing values, unsorted, duplicate or irregular timestamps. The number of
  rows never changes, and scores come back in the input's row order.
- ``dominant_period`` finds the window length when none is given: the lag of the highest
  autocorrelation peak of the (first channel of the) series.
- ``WindowSource`` serves the windows a chunk at a time (memory: one chunk, never the
  ``n_windows x window`` matrix); ``window_starts`` puts them every ``stride`` steps and adds
  one ending at the last step, so the first and the last steps are covered.
- ``to_steps`` maps per-window, per-position errors back to steps: the mean (or the maximum)
  over every window that covers the step of its error at that step's position.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataFileError
from ..io import RowSource

_TIME_NAMES = ("timestamp", "time", "date", "datetime", "ds")


@dataclass
class Series:
    values: np.ndarray  # (n_steps, n_channels) float64, in time order, gaps filled
    order: np.ndarray  # input row -> position in time order
    channels: list[str]
    timestamps: object = None  # pandas DatetimeIndex in input order, or None
    time_column: str | None = None
    missing: np.ndarray | None = None  # (n_steps, n_channels) bool, time order
    notes: list[str] = field(default_factory=list)


def as_series(data, channels: list[str] | None = None) -> Series:
    """The series in ``data`` (see the module docstring); ``channels``: the fitted channel
    names, matched by name (a DataFrame) or by position (an array)."""
    import pandas as pd

    timestamps, time_column = None, None
    if isinstance(data, pd.DataFrame):
        frame = data
        if isinstance(frame.index, pd.DatetimeIndex):
            timestamps = frame.index
        else:
            found = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
            named = [c for c in frame.columns if str(c).lower() in _TIME_NAMES]
            candidates = found or named
            if candidates:
                time_column = candidates[0]
                timestamps = pd.DatetimeIndex(pd.to_datetime(frame[time_column], errors="coerce"))
                frame = frame.drop(columns=[time_column])
        names = [str(c) for c in frame.columns]
        unnamed = channels == [f"x{j}" for j in range(len(channels or []))]
        if channels is not None and unnamed and len(names) == len(channels) \
                and not set(channels) <= set(names):
            frame, names = frame.set_axis(channels, axis=1), list(channels)  # by position
        if channels is not None:
            missing = [c for c in channels if c not in names]
            if missing:
                raise ValueError(f"The series lacks the channel(s) {missing[:5]} the detector "
                                 f"was fitted on (it has {names[:5]}).")
            frame = frame.set_axis(names, axis=1)[channels]
            names = list(channels)
        non_numeric = [n for n, t in zip(names, frame.dtypes)
                       if not pd.api.types.is_numeric_dtype(t)]
        if non_numeric:
            raise DataFileError(f"Channel {non_numeric[0]!r} is not numeric; a series holds "
                                "numbers (and one timestamp column).")
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(data, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise ValueError(f"A series is (n_steps,) or (n_steps, n_channels); got an array of "
                             f"shape {values.shape}.")
        names = channels or [f"x{j}" for j in range(values.shape[1])]
        if channels is not None and len(channels) != values.shape[1]:
            raise ValueError(f"The series has {values.shape[1]} channels, but the detector was "
                             f"fitted on {len(channels)}.")
    if len(values) < 3:
        raise ValueError(f"A series needs at least 3 steps; got {len(values)}.")
    if np.isinf(values).any():
        raise ValueError("The series has infinite values; replace them or leave them empty.")
    notes: list[str] = []
    order = np.arange(len(values))
    if timestamps is not None:
        order, notes = _time_order(timestamps)
    values = values[order]
    missing = np.isnan(values)
    if missing.any():
        notes.append(f"{int(missing.sum())} missing value(s) filled by linear interpolation")
        values = _interpolate(values)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=3)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return Series(values, position, names, timestamps, time_column, missing, notes)


def _time_order(timestamps) -> tuple[np.ndarray, list[str]]:
    notes = []
    stamps = timestamps.asi8 if hasattr(timestamps, "asi8") else np.asarray(timestamps)
    valid = ~timestamps.isna() if hasattr(timestamps, "isna") else np.ones(len(stamps), bool)
    if not valid.all():
        notes.append(f"{int((~valid).sum())} timestamp(s) could not be read; those rows keep "
                     "their place")
    order = np.argsort(np.where(valid, stamps, np.iinfo(np.int64).max), kind="stable")
    if (order != np.arange(len(order))).any():
        notes.append("the timestamps are not sorted; the series is taken in time order and the "
                     "scores are given back in the input's row order")
    sorted_stamps = stamps[order][valid[order]]
    steps = np.diff(sorted_stamps)
    if len(steps) and (steps == 0).any():
        notes.append(f"{int((steps == 0).sum())} duplicate timestamp(s); each row stays a step")
    if len(steps) > 1:
        typical = np.median(steps[steps > 0]) if (steps > 0).any() else 0
        irregular = int((steps > 1.5 * typical).sum()) if typical else 0
        if irregular:
            notes.append(f"{irregular} gap(s) longer than the usual step; the rows are taken as "
                         "equally spaced")
    return order, notes


def _interpolate(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    steps = np.arange(len(values))
    for j in range(values.shape[1]):
        good = ~np.isnan(values[:, j])
        if not good.any():
            raise ValueError(f"Channel {j} of the series has no values.")
        out[:, j] = np.interp(steps, steps[good], values[good, j])
    return out


def dominant_period(values: np.ndarray, low: int = 8, high: int = 512) -> int | None:
    """The lag of the highest autocorrelation peak in ``[low, high]`` (None: no clear one)."""
    x = values[:, 0] - values[:, 0].mean()
    n = len(x)
    high = min(high, n // 3)
    if high <= low or not np.any(x):
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    acf /= acf[0]
    lags = np.arange(low, high + 1)
    peaks = [lag for lag in lags if acf[lag] >= acf[lag - 1] and acf[lag] >= acf[lag + 1]]
    if not peaks:
        return None
    best = max(peaks, key=lambda lag: acf[lag])
    return int(best) if acf[best] > 0.2 else None


def window_starts(n_steps: int, window: int, stride: int) -> np.ndarray:
    starts = np.arange(0, n_steps - window + 1, stride)
    if starts[-1] != n_steps - window:  # one more window, ending at the last step
        starts = np.append(starts, n_steps - window)
    return starts


class WindowSource(RowSource):
    """The windows of a (normalized) series as rows ``C * window`` long, channel by channel,
    read a chunk of windows at a time."""

    def __init__(self, values: np.ndarray, window: int, starts: np.ndarray,
                 chunk_rows: int | None = None):
        self.values = np.ascontiguousarray(values.T, dtype=np.float32)  # (C, n_steps)
        self.window, self.starts = int(window), np.asarray(starts)
        self.n_rows = len(self.starts)
        self.n_features = self.values.shape[0] * self.window
        self.dtype = np.dtype(np.float32)
        self.chunks = self._make_chunks(chunk_rows)

    def read_chunk(self, index: int) -> np.ndarray:
        begin, end = self.chunks[index]
        offsets = self.starts[begin:end, None] + np.arange(self.window)  # (rows, window)
        windows = self.values[:, offsets]  # (C, rows, window)
        return np.ascontiguousarray(windows.transpose(1, 0, 2)).reshape(end - begin, -1)


def to_steps(errors: np.ndarray, starts: np.ndarray, n_steps: int, how="mean"):
    """Per-step values from per-window, per-position ``errors`` (n_windows, window): over the
    windows covering each step, the mean (``how="mean"``) or the ``how``-quantile (a float in
    [0, 1]: 0 is the smallest, 1 the largest) of the errors at the step's position."""
    window = errors.shape[1]
    if how == "mean":
        total, count = np.zeros(n_steps), np.zeros(n_steps)
        for offset in range(window):
            np.add.at(total, starts + offset, errors[:, offset])
            np.add.at(count, starts + offset, 1)
        return total / np.maximum(count, 1)
    # (n_steps, window): the error of step t in the window that holds it at each offset
    slot = np.full(n_steps + window, -1, dtype=np.int64)  # window index by start
    slot[starts] = np.arange(len(starts))
    out = np.empty(n_steps)
    for begin in range(0, n_steps, 2048):
        steps = np.arange(begin, min(n_steps, begin + 2048))
        offsets = np.arange(window)
        begins = steps[:, None] - offsets[None, :]  # the start a covering window would have
        index = np.where(begins >= 0, slot[np.maximum(begins, 0)], -1)
        values = np.where(index >= 0, errors[np.maximum(index, 0), offsets[None, :]], np.nan)
        out[steps] = np.nanquantile(values, float(how), axis=1)
    return out
