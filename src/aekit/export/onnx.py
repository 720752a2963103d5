"""``export_onnx``: a fitted model or detector as one ONNX graph, checked in onnxruntime.

The graph is ``aekit.estimators.deploy.inference_module`` traced by torch's ``torch.export``
based exporter (``torch.onnx.export(..., dynamo=True)``, torch's default since 2.9; the older
TorchScript exporter is deprecated), with a dynamic batch dimension. Its input ``input`` takes
float32 rows (or images) in the estimator's own input units; its outputs are named as in
``deploy`` (``codes``/``reconstruction``/``error``, or ``score``/``flag``/``feature_errors``).
The model's metadata (``metadata_props``) carries ``aekit_version``, ``estimator``,
``threshold`` (detectors), ``feature_names`` (JSON), ``input_shape`` and ``outputs``.

Before the file is written, the graph runs in onnxruntime on check rows and its outputs are
compared with the estimator's own methods; a mismatch raises ``ExportError`` and writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import require
from ..estimators.deploy import ExportError, inference_module

TOLERANCE = 1e-4  # of each output's largest absolute value


@dataclass
class ExportResult:
    """What ``export_onnx`` wrote and how closely onnxruntime matched the estimator."""

    path: str
    outputs: tuple[str, ...]
    input_shape: tuple[int, ...]
    checked_rows: int
    max_difference: dict[str, float] = field(default_factory=dict)  # relative to the largest


def export_onnx(estimator, path: str | os.PathLike, *, X=None, check: bool = True,
                tolerance: float = TOLERANCE, feature_names=None) -> ExportResult:
    """Write ``estimator``'s whole inference (scaling, network, score, threshold) as ONNX.

    Parameters
    ----------
    estimator : fitted Autoencoder, ConvAutoencoder, SequenceAutoencoder or OutlierDetector
    path : file to write (``.onnx``); written atomically, only once the check passed
    X : array-like, optional
        Rows to check the graph on (in the estimator's input layout); by default 64 rows drawn
        around the training data's scale (its scaler's offset and spread).
    check : bool, default=True
        Run the graph in onnxruntime and compare with the estimator (``ExportError`` beyond
        ``tolerance`` of an output's largest absolute value; flags must equal ``predict``
        except for rows within that tolerance of the threshold).
    feature_names : list of str, optional
        The input columns' names for the metadata (default: the estimator's
        ``feature_names_in_``, when it was fit on a DataFrame).

    Returns
    -------
    ExportResult
    """
    for module in ("onnx", "onnxscript") + (("onnxruntime",) if check else ()):
        require(module, extra="onnx", purpose="Exporting to ONNX")
    import onnx
    import torch

    graph = inference_module(estimator)
    example = torch.zeros((2, *graph.input_shape), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1)
    with _quiet():
        program = torch.onnx.export(
            graph, (example,), dynamo=True, input_names=["input"],
            output_names=list(graph.output_names), dynamic_shapes={"x": {0: batch}},
            verbose=False, optimize=True,
            custom_translation_table=_translations(graph),
        )
    proto = program.model_proto
    metadata = _metadata(estimator, graph, feature_names)
    onnx.helper.set_model_props(proto, metadata)
    data = proto.SerializeToString()
    result = ExportResult(str(path), tuple(graph.output_names), tuple(graph.input_shape), 0)
    if check:
        rows = _check_rows(graph) if X is None else _as_input(X, graph)
        result.checked_rows = len(rows)
        result.max_difference = _compare(estimator, data, rows, tolerance)
    atomic_write_bytes(path, data)
    return result


def _translations(graph) -> dict:
    """aekit's own operators in ``graph`` and their ONNX forms (a forest's, when it has one)."""
    import torch

    if getattr(graph, "forest", None) is None:
        return {}
    return {torch.ops.aekit.isolation_depth.default: _tree_ensemble,
            torch.ops.aekit.knots_at_or_below.default: _knot_search}


def _tree_ensemble(rows, key: int):
    """``aekit::isolation_depth`` as onnxruntime's native tree walker: one
    ``ai.onnx.ml.TreeEnsembleRegressor`` whose leaves' weights sum to the mean path length."""
    import onnxscript
    from onnxscript import opset18 as op

    from ..estimators.forest_graph import registered_forest

    ml = onnxscript.values.Opset("ai.onnx.ml", 3)
    depth = ml.TreeEnsembleRegressor(rows, n_targets=1, aggregate_function="SUM",
                                     post_transform="NONE",
                                     **registered_forest(key).tree_ensemble())
    return op.Cast(op.Reshape(depth, op.Constant(value_ints=[-1])), to=11)  # float64


def _knot_search(scores, key: int):
    """``aekit::knots_at_or_below`` as one binary search tree (a ``TreeEnsembleRegressor``)."""
    import onnxscript
    from onnxscript import opset18 as op

    from ..estimators.forest_graph import registered_knots

    ml = onnxscript.values.Opset("ai.onnx.ml", 3)
    rows = op.Reshape(op.Cast(scores, to=1), op.Constant(value_ints=[-1, 1]))  # float32
    found = ml.TreeEnsembleRegressor(rows, n_targets=1, aggregate_function="SUM",
                                     post_transform="NONE", **registered_knots(key).search_tree())
    return op.Cast(op.Reshape(found, op.Constant(value_ints=[-1])), to=11)  # float64


@contextlib.contextmanager
def _quiet():
    """The exporter's progress lines and registry warnings are not the user's business."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _metadata(estimator, graph, names) -> dict[str, str]:
    from .. import __version__

    names = getattr(estimator, "feature_names_in_", None) if names is None else names
    out = {"aekit_version": __version__, "estimator": type(estimator).__name__,
           "input_shape": json.dumps(list(graph.input_shape)),
           "outputs": json.dumps(list(graph.output_names)),
           "feature_names": json.dumps(None if names is None else [str(n) for n in names])}
    if hasattr(estimator, "threshold_"):
        out["threshold"] = repr(float(estimator.threshold_))
    return out


def _as_input(X, graph) -> np.ndarray:
    rows = np.asarray(X, dtype=np.float32)
    if rows.ndim == 1 or rows.shape[1:] != tuple(graph.input_shape):
        try:
            rows = rows.reshape(rows.shape[0] if rows.ndim > 1 else 1, *graph.input_shape)
        except ValueError:
            raise ExportError(f"X has shape {np.shape(X)}; the graph takes samples of shape "
                              f"{tuple(graph.input_shape)}.") from None
    return rows


def _check_rows(graph, n: int = 64) -> np.ndarray:
    """Rows around the training data's scale: offset + spread * N(0, 1) per feature."""
    location, spread = np.asarray(graph.input_location), np.asarray(graph.input_spread)
    rows = location + spread * np.random.default_rng(0).standard_normal((n, len(location)))
    if graph.unit_input:  # images, data in [0, 1]
        rows = np.clip(rows, 0.0, 1.0)
    return rows.astype(np.float32).reshape(n, *graph.input_shape)


def _expected(estimator, rows: np.ndarray) -> dict[str, np.ndarray]:
    names = getattr(estimator, "feature_names_in_", None)
    if hasattr(estimator, "threshold_"):
        flat = rows.reshape(len(rows), -1)
        if names is not None:  # as fit saw it (no "X has no feature names" warning)
            import pandas as pd

            flat = pd.DataFrame(flat, columns=names)
        return {"score": -estimator.score_samples(flat),
                "flag": (estimator.predict(flat) == -1).astype(np.int64),
                "feature_errors": estimator.feature_errors(flat)}
    if names is not None and rows.ndim == 2:
        import pandas as pd

        rows = pd.DataFrame(rows, columns=names)
    found = estimator.infer(rows, ("code", "reconstruction", "error"))
    return {"codes": found.code, "reconstruction": found.reconstruction, "error": found.error}


def _compare(estimator, data: bytes, rows: np.ndarray, tolerance: float) -> dict[str, float]:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": rows})))
    want = _expected(estimator, rows)
    report = {}
    for name, expected in want.items():
        actual = got[name].reshape(expected.shape) if got[name].size == expected.size else None
        if actual is None:
            raise ExportError(f"The exported {name!r} has shape {got[name].shape}, the model's "
                              f"{expected.shape}; the export is wrong, nothing was written.")
        if name == "flag":
            near = np.abs(want["score"] - float(estimator.threshold_)) <= tolerance * max(
                1.0, float(np.abs(want["score"]).max()))
            report[name] = float(np.mean((actual != expected) & ~near))
            bad = report[name] > 0
        else:
            scale = max(float(np.abs(expected).max()), 1e-30)
            report[name] = float(np.abs(actual.astype(np.float64) - expected).max() / scale)
            bad = not report[name] <= tolerance
        if bad:
            raise ExportError(f"The exported {name!r} differs from the model's by "
                              f"{report[name]:.3g} (tolerance {tolerance:g}); nothing was "
                              "written. Please report this with the model file.")
    return report
