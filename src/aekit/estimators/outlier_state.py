"""``OutlierDetector``'s side of model files: its scaler, scores, threshold and members.

As for the autoencoders (``state.py``), what comes back from a file is checked before it is
used: known attributes of the right types, arrays of the right sizes, members rebuilt through
``aekit.saving`` (each checks its own weights); anything else is a ``ModelFileError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ModelFileError
from ..saving import build_estimator, param_to_json
from .outlier_forest import IsolationTrees
from .outlier_scores import PARTS
from .state import as_count, as_list, as_name, as_names, as_number, as_numbers


def _tensor(a) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


class DetectorFileMixin:
    """Model files for ``OutlierDetector``."""

    def save(self, path, *, metadata: dict[str, Any] | None = None) -> None:
        """Write the fitted detector to one safetensors file (weights + JSON config); no pickle.

        ``metadata``: JSON-able notes kept in the file, back as ``metadata_`` after loading.
        """
        from ..saving import save_model

        save_model(self, path, metadata)

    def __aekit_state__(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        members, tensors = [], {
            "scaler.center": _tensor(self._scale_center),
            "scaler.spread": _tensor(self._scale_spread),
            "scores.train": _tensor(self.train_scores_),
            "scores.calibration": _tensor(self._calibration_scores),
        }
        for i, member in enumerate(self.estimators_):
            fitted, own = member.__aekit_state__()
            members.append({
                "estimator": type(member).__name__,
                "params": {k: param_to_json(k, v)
                           for k, v in member.get_params(deep=False).items()},
                "fitted": fitted,
            })
            tensors.update({f"members.{i}.{k}": v for k, v in own.items()})
            if "mahalanobis" in self._parts:
                tensors[f"code.{i}.location"] = _tensor(self._code_location[i])
                tensors[f"code.{i}.precision"] = _tensor(self._code_precision[i])
            if "knn" in self._parts:
                tensors[f"code.{i}.reference"] = torch.from_numpy(
                    np.ascontiguousarray(self._knn_reference[i], dtype=np.float32))
        state: dict[str, Any] = {
            "n_features_in_": self.n_features_in_,
            "scaling_": self.scaling_,
            "anomaly_score_": self.anomaly_score_,
            "threshold_": self.threshold_,
            "offset_": self.offset_,
            "n_calibration_": self.n_calibration_,
            "medians": [[float(v) for v in row] for row in self._medians],
            "members": members,
            "table_mode_": bool(getattr(self, "table_mode_", False)),
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        if getattr(self, "forest_", None) is not None:
            state["forest"] = [[float(v) for v in pair] for pair in self._standardizers]
            tensors.update({f"forest.{k}": torch.from_numpy(np.ascontiguousarray(v))
                            for k, v in self.forest_.arrays().items()})
            knots = getattr(self, "_score_knots", None)
            if knots is not None:  # Fisher's blend: each part's training-score quantiles
                tensors.update({f"forest.{name}_knots": torch.from_numpy(np.ascontiguousarray(k))
                                for name, k in zip(("autoencoder", "trees"), knots)})
        return state, tensors

    def __aekit_restore__(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        known = {"n_features_in_", "scaling_", "anomaly_score_", "threshold_", "offset_",
                 "n_calibration_", "reconstruction_median", "code_median", "medians",
                 "members", "feature_names_in_", "table_mode_", "forest"}
        unknown = sorted(set(state) - known)
        if unknown:
            raise ModelFileError(f"has detector attributes aekit does not know: {unknown[:5]}.")

        def array(key: str, size: int | None = None) -> np.ndarray:
            value = tensors.pop(key, None)
            if value is None or value.dim() != 1 or (size is not None and len(value) != size):
                raise ModelFileError(f"has no valid {key!r} array.")
            return value.double().numpy()

        n = self.n_features_in_ = as_count(state["n_features_in_"])
        if "feature_names_in_" in state:
            self.feature_names_in_ = as_names(state["feature_names_in_"])
        self.scaling_ = as_name(state["scaling_"])
        self.table_mode_ = bool(state.get("table_mode_", False))
        self.anomaly_score_ = as_name(state["anomaly_score_"])
        if self.anomaly_score_ not in PARTS:
            raise ModelFileError(f"has an unknown anomaly score {self.anomaly_score_!r}.")
        self.threshold_ = as_number(state["threshold_"])
        self.offset_ = as_number(state["offset_"])
        self.n_calibration_ = as_count(state["n_calibration_"])
        if "medians" in state:
            medians = [as_numbers(row) for row in as_list(state["medians"])]
        else:  # files written before aekit 0.2: one or two parts per member
            pairs = [as_numbers(state["reconstruction_median"]), as_numbers(state["code_median"])]
            medians = [list(row) for row in zip(*pairs)] if pairs[1] else [[v] for v in pairs[0]]
        if any(len(row) != len(PARTS[self.anomaly_score_]) for row in medians):
            raise ModelFileError("has medians that do not match its anomaly score.")
        self._medians = np.asarray(medians, dtype=np.float64).reshape(len(medians), -1)
        self._scale_center, self._scale_spread = array("scaler.center", n), \
            array("scaler.spread", n)
        self.train_scores_ = array("scores.train")
        self._restore_forest(state, tensors)
        self._calibration_scores = array("scores.calibration", self.n_calibration_)
        members = as_list(state["members"])
        if not members or len(self._medians) != len(members):
            raise ModelFileError("has no members, or medians that do not match them.")
        self.estimators_, self._code_location, self._code_precision = [], [], []
        self._knn_reference = []
        for i, info in enumerate(members):
            if not isinstance(info, dict) or not isinstance(info.get("fitted"), dict):
                raise ModelFileError(f"has a corrupted member {i}.")
            prefix = f"members.{i}."
            own = {k.removeprefix(prefix): tensors.pop(k)
                   for k in [k for k in tensors if k.startswith(prefix)]}
            member = build_estimator(info.get("estimator"), info.get("params"))
            member.__aekit_restore__(info["fitted"], own)
            if member.n_features_in_ != n:
                raise ModelFileError(f"has a member {i} for {member.n_features_in_} features.")
            self.estimators_.append(member)
            k = member.n_components_
            if "mahalanobis" in PARTS[self.anomaly_score_]:
                self._code_location.append(array(f"code.{i}.location", k))
                precision = tensors.pop(f"code.{i}.precision", None)
                if precision is None or tuple(precision.shape) != (k, k):
                    raise ModelFileError(f"has no valid code statistics for member {i}.")
                self._code_precision.append(precision.double().numpy())
            if "knn" in PARTS[self.anomaly_score_]:
                reference = tensors.pop(f"code.{i}.reference", None)
                if reference is None or reference.dim() != 2 or reference.shape[1] != k:
                    raise ModelFileError(f"has no valid code reference for member {i}.")
                self._knn_reference.append(reference.float().numpy())
        self._check_forest_width()

    def _restore_forest(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """The isolation forest's arrays and standardizers (files before it: no forest)."""
        self.forest_ = None
        if "forest" not in state:
            return
        pairs = [as_numbers(pair) for pair in as_list(state["forest"])]
        names = ("feature", "threshold", "left", "right", "leaf_value", "normalizer")
        arrays = {k: tensors.pop(f"forest.{k}", None) for k in names}
        if len(pairs) != 2 or any(len(p) != 2 or not p[1] > 0 for p in pairs) or any(
                a is None for a in arrays.values()) or arrays["normalizer"].numel() != 1:
            raise ModelFileError("has an incomplete isolation forest.")
        try:
            self.forest_ = IsolationTrees(**{k: arrays[k].numpy() for k in names[:-1]},
                                          normalizer=float(arrays["normalizer"][0]))
        except ValueError as error:
            raise ModelFileError(f"has a corrupted isolation forest: {error}") from None
        self._standardizers = tuple(tuple(p) for p in pairs)
        knots = [tensors.pop(f"forest.{name}_knots", None) for name in ("autoencoder", "trees")]
        self._score_knots = None  # a file from before Fisher's blend: the median/IQR sum
        if any(k is not None for k in knots):
            if any(k is None or k.dim() != 1 or not k.numel() or not bool(torch.isfinite(k).all())
                   or bool((k[1:] < k[:-1]).any()) for k in knots):
                raise ModelFileError("has corrupted score quantiles for its isolation forest.")
            self._score_knots = tuple(k.double().numpy() for k in knots)

    def _check_forest_width(self) -> None:
        """The trees split the scaled rows, or a table's encoding: no wider than those."""
        if getattr(self, "forest_", None) is None:
            return
        width = (self.estimators_[0].table_.n_inputs if self.table_mode_
                 else self.n_features_in_)
        if self.forest_.n_features > width:
            raise ModelFileError(f"has an isolation forest for {self.forest_.n_features} "
                                 f"features; the detector's rows have {width}.")
