"""Whole-inference torch modules of fitted estimators, for export (``aekit.export``).

``inference_module(estimator)`` returns a ``torch.nn.Module`` in eval mode, float32 on the CPU,
that takes the raw features exactly as the estimator does (rows of ``n_features_in_``, or images
``(n, C, H, W)`` for a ``ConvAutoencoder`` fitted on images) and does everything the estimator
does around its network, so a deployed graph needs nothing else:

- an autoencoder (``Autoencoder``, ``ConvAutoencoder``, ``SequenceAutoencoder``): its scaling,
  the network, and the outputs ``codes`` (``transform``), ``reconstruction`` (``reconstruct``,
  in data units, in the input's layout) and ``error`` (``reconstruction_error``);
- an ``OutlierDetector``: its robust scaling, every member's scaling and network, the code
  distances (Mahalanobis, kNN) and training medians of its score, its isolation forest and the
  blend with it (``forest_graph``: one tree-ensemble operator), and the outputs ``score``
  (``-score_samples``), ``flag`` (int64, 1 where ``predict`` gives -1) and ``feature_errors``.

The estimators compute some of this in float64 (scaling, errors, distances); the module works
in float32, so its outputs agree to float32 rounding (the export tests check 1e-4 of each
output's largest value). What cannot be exported is refused with one line saying what to do.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from ..errors import AekitError
from ..training import elementwise_loss

AUTOENCODER_OUTPUTS = ("codes", "reconstruction", "error")
DETECTOR_OUTPUTS = ("score", "flag", "feature_errors")


class ExportError(AekitError, ValueError):
    """A model that cannot be exported as it is, or an export that does not match it."""


def _buffer(values) -> Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32))


class _Network(nn.Module):
    """One autoencoder after its input scaling: scaled rows -> (codes, x_hat rows, errors)."""

    def __init__(self, model) -> None:
        super().__init__()
        if getattr(model, "table_", None) is not None:
            raise ExportError(
                f"This {type(model).__name__} was fit on a table with text categories or gaps; "
                "its column encoding does not export to ONNX yet. Encode the table as numbers "
                "(one-hot categories, gaps filled, e.g. with aekit impute) and refit to export."
            )
        if model.loss not in ("mse", "mae", "bce"):
            raise ExportError(f"Loss {model.loss!r} does not export; refit with loss='mse'.")
        self.net = copy.deepcopy(model.module_).float().cpu().eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.loss = model.loss
        self.sample_shape = tuple(int(s) for s in model._network_input(
            np.zeros((1, model.n_features_in_), np.float32)).shape[1:])
        self.register_buffer("offset", _buffer(model.scaler_.offset))
        self.register_buffer("factor", _buffer(model.scaler_.factor))

    def forward(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``rows``: (n, n_features) in the estimator's input units."""
        n = rows.shape[0]
        scaled = (rows - self.offset) / self.factor
        x_hat, code = self.net(scaled.reshape(n, *self.sample_shape))
        flat = x_hat.reshape(n, -1)
        return code, flat, elementwise_loss(flat, scaled, self.loss)


class AutoencoderGraph(nn.Module):
    """Raw input -> ``codes``, ``reconstruction`` (data units, the input's layout), ``error``."""

    output_names = AUTOENCODER_OUTPUTS

    def __init__(self, model) -> None:
        super().__init__()
        self.network = _Network(model)
        self.input_shape = _input_shape(model)
        # typical inputs (check rows): the scaler's location and spread, and the unit range
        self.input_location, self.input_spread = model.scaler_.offset, model.scaler_.factor
        self.unit_input = getattr(model, "input_range_", None) == (0.0, 1.0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n = x.shape[0]
        code, flat, entries = self.network(x.reshape(n, -1))
        recon = flat * self.network.factor + self.network.offset
        return code, recon.reshape(n, *self.input_shape), entries.mean(dim=1)


class DetectorGraph(nn.Module):
    """Raw rows -> ``score`` (higher is more abnormal), ``flag`` (int64), ``feature_errors``."""

    output_names = DETECTOR_OUTPUTS

    def __init__(self, detector) -> None:
        super().__init__()
        if getattr(detector, "table_mode_", False):
            raise ExportError(
                "This OutlierDetector was fit on a table with text categories or gaps; its "
                "column encoding does not export to ONNX yet. Encode the table as numbers "
                "(one-hot categories, gaps filled, e.g. with aekit impute) and refit to export."
            )
        if set(detector._parts) - {"reconstruction", "mahalanobis", "knn"}:
            raise ExportError(
                f"anomaly_score={detector.anomaly_score_!r} averages codes drawn at random; "
                "the graph exports deterministic scores only. Export the member itself "
                "(detector.estimators_[0]) or refit with anomaly_score='combined'."
            )
        self.input_shape = (int(detector.n_features_in_),)
        self.input_location, self.input_spread = detector._scale_center, detector._scale_spread
        self.unit_input = False
        self.parts = tuple(detector._parts)
        self.members = nn.ModuleList(_Network(m) for m in detector.estimators_)
        self.register_buffer("center", _buffer(detector._scale_center))
        self.register_buffer("spread", _buffer(detector._scale_spread))
        self.register_buffer("medians", _buffer(detector._medians))
        self.register_buffer("threshold", torch.tensor(float(detector.threshold_),
                                                       dtype=torch.float32))
        for i in range(len(self.members)):
            if "mahalanobis" in self.parts:
                self.register_buffer(f"location_{i}", _buffer(detector._code_location[i]))
                self.register_buffer(f"precision_{i}", _buffer(detector._code_precision[i]))
            if "knn" in self.parts:
                self.register_buffer(f"reference_{i}", _buffer(detector._knn_reference[i]))
        from .outlier_scores import N_NEIGHBOURS

        self.k = N_NEIGHBOURS
        forest = getattr(detector, "forest_", None)
        if forest is not None and not hasattr(torch.library, "custom_op"):
            raise ExportError(f"Exporting a detector with an isolation forest needs a newer torch "
                              f"(this torch {torch.__version__} lacks torch.library.custom_op); "
                              "upgrade torch, or refit with isolation_forest=False.")
        if forest is not None:
            from .forest_graph import ForestGraph  # registers the forest's operators

            forest = ForestGraph(forest, detector._standardizers,
                                 getattr(detector, "_score_knots", None))
        self.forest = forest
        self.register_buffer("center64", torch.as_tensor(np.asarray(detector._scale_center,
                                                                    dtype=np.float64)))
        self.register_buffer("spread64", torch.as_tensor(np.asarray(detector._scale_spread,
                                                                    dtype=np.float64)))

    def _part(self, name: str, i: int, code: Tensor, entries: Tensor) -> Tensor:
        if name == "reconstruction":
            return entries.mean(dim=1)
        if name == "mahalanobis":
            centered = code - getattr(self, f"location_{i}")
            return ((centered @ getattr(self, f"precision_{i}")) * centered).sum(dim=1)
        reference = getattr(self, f"reference_{i}")
        distances = torch.cdist(code, reference).clamp(min=0)
        k = max(1, min(self.k, reference.shape[0]))
        return distances.topk(k, dim=1, largest=False).values.mean(dim=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        rows = (x - self.center) / self.spread
        score = torch.zeros_like(rows[:, 0])
        errors = torch.zeros_like(rows)
        for i, member in enumerate(self.members):
            code, _, entries = member(rows)
            errors = errors + entries
            for j, name in enumerate(self.parts):
                score = score + self._part(name, i, code, entries) / self.medians[i, j]
        score = score / len(self.members)
        if self.forest is not None:  # the trees see the rows scaled in float64, as in Python
            scaled = ((x.double() - self.center64) / self.spread64).float()
            score = self.forest.blend(score, scaled)
        return score, (score > self.threshold).to(torch.int64), errors / len(self.members)


def _input_shape(model) -> tuple[int, ...]:
    """The layout of one sample as the estimator takes it (images stay images)."""
    if getattr(model, "input_ndim_", 2) == 4:
        return tuple(int(s) for s in model.image_shape_)
    if getattr(model, "input_ndim_", 2) == 3:
        return tuple(int(s) for s in model.sample_shape_)
    return (int(model.n_features_in_),)


def inference_module(estimator) -> nn.Module:
    """The estimator's whole inference as a float32 torch module (see the module docstring).

    ``module.input_shape`` is one sample's shape and ``module.output_names`` names its outputs.
    """
    check_is_fitted(estimator)
    if hasattr(estimator, "window_"):
        raise ExportError(
            "A TimeSeriesDetector scores windows of a series and maps them back to steps in "
            "Python; export its window model instead: aekit.export_onnx(detector.estimator_, "
            "path) (its inputs are flattened windows, channels first)."
        )
    if hasattr(estimator, "estimators_") and hasattr(estimator, "threshold_"):
        return DetectorGraph(estimator).eval()
    if hasattr(estimator, "module_") and hasattr(estimator, "scaler_"):
        return AutoencoderGraph(estimator).eval()
    raise ExportError(f"{type(estimator).__name__} cannot be exported; export a fitted "
                      "Autoencoder, ConvAutoencoder, SequenceAutoencoder or OutlierDetector.")
