"""How ``TimeSeriesDetector`` scores windows and maps them to steps.

A window's score has two parts, each divided by its median over the training windows:

- ``reconstruction``: the window's reconstruction error (the mean over its positions and
  channels);
- ``knn`` (``anomaly_score="knn"``, the default): the mean distance of the window's code to its
  ``N_NEIGHBOURS`` nearest codes among at most ``KNN_REFERENCE`` training windows (evenly
  spaced). When the series scored is the training series itself, reference windows that
  overlap the scored one (starts less than a window apart) do not count: a window is not its
  own neighbour, nor are its shifted copies (the "trivial matches" of the matrix profile).

A step's score is then, over the windows covering it, the mean of their scores
(``aggregate="mean"``), or a quantile of their per-position values (the position's share of
the reconstruction part plus the window's kNN part); finally it is divided by the median
training step, so 1 is a typical training step.

Windows are scored a block at a time: memory holds one block of windows and per-step sums,
except for the "position" and quantile rules, which keep ``n_windows x window`` values.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .windows import to_steps

N_NEIGHBOURS = 5
KNN_REFERENCE = 4000
BLOCK = 8192  # windows scored at a time


def fingerprint(values: np.ndarray) -> str:
    """Identifies a (normalized, time-ordered) series: scoring the training series again
    gives its training scores."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def reference_starts(starts: np.ndarray) -> np.ndarray:
    if len(starts) <= KNN_REFERENCE:
        return starts
    pick = np.unique(np.linspace(0, len(starts) - 1, KNN_REFERENCE).round().astype(int))
    return starts[pick]


def knn_distance(codes, reference, query_starts=None, reference_starts=None, window=0):
    """Mean distance of each code to its nearest reference codes; with starts, reference
    windows less than ``window`` steps from the query's start are left out."""
    import torch

    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    query = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.float32))
    out = np.empty(len(query))
    for begin in range(0, len(query), 2048):
        dist = torch.cdist(query[begin:begin + 2048], ref).clamp_(min=0)
        if query_starts is not None:
            near = np.abs(query_starts[begin:begin + 2048, None] - reference_starts[None, :])
            dist[torch.from_numpy(near < window)] = float("inf")
        k = min(N_NEIGHBOURS, dist.shape[1])
        nearest = dist.topk(k, dim=1, largest=False).values
        finite = torch.isfinite(nearest)
        count = finite.sum(dim=1).clamp(min=1)
        total = torch.where(finite, nearest, torch.zeros_like(nearest)).sum(dim=1)
        out[begin:begin + 2048] = (total / count).double().numpy()
    return out


class WindowScoresMixin:
    """Window parts and step scores for ``TimeSeriesDetector``."""

    def _parts_of(self, values, starts, *, own_series: bool, positions: bool, keep: bool):
        """Per window: the reconstruction error per channel ``(n, C)`` and the kNN distance
        ``(n,)`` (or None); with ``keep``, the per-position errors ``(n, C, w)``; with
        ``positions``, each step's own error per channel ``(n_steps, C)``: the mean over the
        windows covering it of the error at its position (summed a block at a time)."""
        want_codes = self.anomaly_score == "knn"
        need_features = positions or keep or self.n_channels_ > 1
        outputs = ("feature_errors" if need_features else "error",) + (
            ("code",) if want_codes else ())
        n, C, w = len(values), self.n_channels_, self.window_
        channel_errors, knn, kept = [], [], []
        total, count = np.zeros((n, C)), np.zeros(n)
        for begin in range(0, len(starts), BLOCK):
            block = starts[begin:begin + BLOCK]
            found = self.estimator_.infer(self._windows(values, block), outputs)
            if need_features:
                errors = found.feature_errors.reshape(len(block), C, w).astype(np.float64)
                channel_errors.append(errors.mean(axis=2))
                if keep:
                    kept.append(errors)
                if positions:
                    for offset in range(w):
                        np.add.at(total, block + offset, errors[:, :, offset])
                        np.add.at(count, block + offset, 1)
            else:
                channel_errors.append(found.error.astype(np.float64)[:, None])
            if want_codes:
                exclude = (block, self._reference_starts, self.window_) if own_series else ()
                knn.append(knn_distance(found.code, self._reference_codes, *exclude))
        own = total / np.maximum(count, 1)[:, None] if positions else None
        return (np.concatenate(channel_errors), np.concatenate(knn) if knn else None,
                np.concatenate(kept) if keep else None, own)

    def _step_scores(self, values, starts, *, own_series: bool, positions: bool = False,
                     parts=None):
        """Per step (time order): the score's share by channel ``(n_steps, C)`` (the kNN part
        shared by the channels' reconstruction shares), and with ``positions`` each step's own
        reconstruction error, the mean over its windows of its position's error."""
        n, C = len(values), self.n_channels_
        quantile = self.aggregate not in ("mean", "position")
        channel_errors, knn, per_position, own = parts or self._parts_of(
            values, starts, own_series=own_series, positions=positions,
            keep=quantile or self.aggregate == "position")
        rec_median, knn_median = self._part_medians
        # Per window and channel: the channel's reconstruction part, and its share of kNN.
        rec = channel_errors / C / rec_median
        share = np.divide(channel_errors, channel_errors.sum(axis=1, keepdims=True),
                          out=np.full_like(channel_errors, 1.0 / C),
                          where=channel_errors.sum(axis=1, keepdims=True) > 0)
        extra = 0.0 if knn is None else share * (knn / knn_median)[:, None]
        by_channel = rec + extra  # (n_windows, C)
        if self.aggregate == "mean":
            wide = np.broadcast_to(by_channel[:, :, None], (len(starts), C, self.window_))
            steps = np.column_stack([to_steps(wide[:, c], starts, n, "mean") for c in range(C)])
        else:
            # Per position: its reconstruction part, plus the window's kNN part, by channel.
            knn_part = np.broadcast_to(np.asarray(extra)[..., None] if knn is not None else 0.0,
                                       per_position.shape)
            pos = per_position / C / rec_median + knn_part
            how = "mean" if self.aggregate == "position" else float(self.aggregate)
            if C == 1 or how == "mean":
                steps = np.column_stack([to_steps(pos[:, c], starts, n, how) for c in range(C)])
            else:  # the quantile of the total, split by the channels' mean shares
                total = to_steps(pos.sum(axis=1), starts, n, how)
                mean = np.column_stack([to_steps(pos[:, c], starts, n, "mean")
                                        for c in range(C)])
                steps = total[:, None] * np.divide(mean, mean.sum(axis=1, keepdims=True),
                                                   out=np.full_like(mean, 1.0 / C),
                                                   where=mean.sum(axis=1, keepdims=True) > 0)
        return steps, own

    def _fit_scores(self, values, starts):
        """The kNN reference and the medians, from the training windows; the training steps'
        scores (time order)."""
        self._reference_starts = reference_starts(starts)
        if self.anomaly_score == "knn":
            self._reference_codes = np.asarray(
                self.estimator_.transform(self._windows(values, self._reference_starts)),
                dtype=np.float32)
        else:
            self._reference_codes = np.zeros((0, self.estimator_.n_components_), np.float32)
        parts = self._parts_of(values, starts, own_series=True, positions=False,
                               keep=self.aggregate != "mean")
        channel_errors, knn, _, _ = parts
        rec = channel_errors.sum(axis=1) / self.n_channels_
        self._part_medians = (_positive(np.median(rec)),
                              1.0 if knn is None else _positive(np.median(knn)))
        steps, _ = self._step_scores(values, starts, own_series=True, parts=parts)
        self._median = _positive(np.median(steps.sum(axis=1)))
        self._fingerprint = fingerprint(values)
        return steps.sum(axis=1) / self._median


def _positive(value) -> float:
    value = float(value)
    return value if value > 1e-12 else 1e-12
