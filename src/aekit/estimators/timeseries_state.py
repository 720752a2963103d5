"""``TimeSeriesDetector``'s side of model files (checked on the way back, as the others)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ModelFileError
from ..saving import build_estimator, param_to_json
from .state import as_count, as_name, as_number


class TimeSeriesFileMixin:
    """Model files for ``TimeSeriesDetector``."""

    def save(self, path, *, metadata: dict[str, Any] | None = None) -> None:
        """Write the fitted detector to one safetensors file (weights + JSON config); no pickle."""
        from ..saving import save_model

        save_model(self, path, metadata)

    def __aekit_state__(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        fitted, own = self.estimator_.__aekit_state__()
        state = {
            "window_": self.window_, "n_channels_": self.n_channels_,
            "channels_": list(self.channels_), "time_column_": self.time_column_,
            "threshold_": self.threshold_, "offset_": self.offset_, "median": self._median,
            "part_medians": list(self._part_medians), "fingerprint": self._fingerprint,
            "member": {"estimator": type(self.estimator_).__name__, "fitted": fitted,
                       "params": {k: param_to_json(k, v)
                                  for k, v in self.estimator_.get_params(deep=False).items()}},
        }
        tensors = {f"member.{k}": v for k, v in own.items()}
        for key, value in (("center", self._center), ("spread", self._spread),
                           ("train_scores", self.train_scores_), ("tail", self._tail),
                           ("reference_codes", self._reference_codes),
                           ("reference_starts", self._reference_starts)):
            tensors[f"series.{key}"] = torch.from_numpy(np.ascontiguousarray(value, np.float64))
        return state, tensors

    def __aekit_restore__(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        known = {"window_", "n_channels_", "channels_", "time_column_", "threshold_", "offset_",
                 "median", "part_medians", "fingerprint", "member"}
        unknown = sorted(set(state) - known)
        if unknown:
            raise ModelFileError(f"has time-series attributes aekit does not know: "
                                 f"{unknown[:5]}.")
        self.window_, self.n_channels_ = as_count(state["window_"]), as_count(state["n_channels_"])
        channels = state["channels_"]
        if not isinstance(channels, list) or len(channels) != self.n_channels_:
            raise ModelFileError("has channel names that do not match its channel count.")
        self.channels_ = [as_name(c) for c in channels]
        column = state.get("time_column_")
        self.time_column_ = None if column is None else as_name(column)
        self.threshold_, self.offset_ = as_number(state["threshold_"]), as_number(state["offset_"])
        self._median = as_number(state["median"])
        medians = state.get("part_medians")
        if not isinstance(medians, list) or len(medians) != 2:
            raise ModelFileError("has no valid score medians.")
        self._part_medians = tuple(as_number(m) for m in medians)
        self._fingerprint = as_name(state.get("fingerprint"))

        def array(key, shape):
            value = tensors.pop(f"series.{key}", None)
            if value is None or (shape is not None and tuple(value.shape) != shape):
                raise ModelFileError(f"has no valid {key!r} of the series.")
            return value.double().numpy()

        self._center = array("center", (self.n_channels_,))
        self._spread = array("spread", (self.n_channels_,))
        self.train_scores_ = array("train_scores", None)
        self._tail = array("tail", None).reshape(-1, self.n_channels_)
        self._reference_starts = array("reference_starts", None).astype(np.int64)
        self._reference_codes = array("reference_codes", None).astype(np.float32)
        member = state["member"]
        if not isinstance(member, dict) or not isinstance(member.get("fitted"), dict):
            raise ModelFileError("has no valid window model.")
        self.estimator_ = build_estimator(member.get("estimator"), member.get("params"))
        own = {k.removeprefix("member."): v for k, v in tensors.items() if k.startswith("member.")}
        self.estimator_.__aekit_restore__(member["fitted"], own)
        if self.estimator_.n_features_in_ != self.n_channels_ * self.window_:
            raise ModelFileError("has a window model of another window size.")
        codes = self._reference_codes
        if codes.ndim != 2 or (len(codes) and codes.shape[1] != self.estimator_.n_components_) \
                or len(self._reference_starts) != len(codes) and len(codes):
            raise ModelFileError("has kNN reference codes that do not fit its window model.")
