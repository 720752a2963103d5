"""One self-contained HTML report of a fitted autoencoder (images embedded as PNG data URIs).

Sections: the configuration, loss curves, reconstructions (images), the code map (t-SNE), the
reconstruction-error histogram with the outlier threshold, the code units' mean activation
against a sparsity target, and the comparison with PCA at the same code size.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _figure(src: str, alt: str) -> str:
    return f'<img src="{src}" alt="{html.escape(alt)}">'


def _pca_comparison(model, X2d: np.ndarray, recon2d: np.ndarray) -> list[tuple[str, Any]]:
    from sklearn.decomposition import PCA

    k = min(model.n_components_, X2d.shape[1], X2d.shape[0])
    pca = PCA(n_components=k, random_state=0).fit(X2d)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X2d)) - X2d) ** 2))
    mse = float(np.mean((recon2d - X2d) ** 2))
    change = f"{100 * (mse - pca_mse) / pca_mse:+.1f}%" if pca_mse > 1e-12 else "n/a"
    return [("autoencoder reconstruction MSE", f"{mse:.5g}"),
            (f"PCA ({k} components) reconstruction MSE", f"{pca_mse:.5g}"),
            ("autoencoder vs PCA", change)]


def build_report(model, X=None, y=None, *, threshold: float | None = None,
                 image_shape=None, title: str = "aekit model report",
                 max_map_samples: int = 1000) -> str:
    """The report as an HTML string. ``X`` (the model's input layout) enables the data plots."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from .plotting import (
        CodeActivationDisplay,
        CodeMapDisplay,
        LossCurveDisplay,
        ReconstructionDisplay,
        ScoreHistogramDisplay,
    )

    meta = getattr(model, "metadata_", {}) or {}
    threshold = meta.get("threshold") if threshold is None else threshold
    params = model.get_params(deep=False)
    config = [("model", type(model).__name__), ("code size", model.n_components_),
              ("epochs run", model.n_iter_),
              ("final training loss", f"{model.loss_curve_[-1]:.5g}"),
              ("scaling used", model.scaling_),
              ("output activation used", model.output_activation_),
              ("precision used", model.precision_)]
    config += [(k, v) for k, v in params.items() if k not in ("verbose",)]
    parts = [_section("Configuration", _table(config))]
    loss = LossCurveDisplay.from_estimator(model)
    parts.append(_section("Loss curves", _figure(_png(loss.figure_), "loss curves")))
    if X is not None:
        X = np.asarray(X)
        recon = model.reconstruct(X)
        X2d, recon2d = X.reshape(len(X), -1), recon.reshape(len(X), -1)
        shape = image_shape or (meta.get("image_shape") or None)
        if shape or X.ndim == 4:
            grid = ReconstructionDisplay.from_estimator(
                model, X, image_shape=tuple(shape) if shape else None)
            parts.append(_section("Reconstructions", _figure(_png(grid.figure_),
                                                             "originals and reconstructions")))
        code_map = CodeMapDisplay.from_estimator(model, X, y, max_samples=max_map_samples,
                                                 random_state=0)
        parts.append(_section("Code map (t-SNE)", _figure(_png(code_map.figure_), "code map")))
        errors = model.reconstruction_error(X)
        hist = ScoreHistogramDisplay(scores=errors, threshold=threshold,
                                     estimator_name=type(model).__name__)
        hist.plot()
        flagged = "" if threshold is None else (
            f"<p>Threshold {threshold:.4g}: {int((errors > threshold).sum())} of {len(errors)} "
            "rows above it.</p>")
        parts.append(_section("Reconstruction error", _figure(_png(hist.figure_),
                                                              "error histogram") + flagged))
        if model.code_activation_ == "sigmoid":
            act = CodeActivationDisplay.from_estimator(model, X)
            parts.append(_section("Sparsity per unit", _figure(_png(act.figure_),
                                                               "mean activation per unit")))
        parts.append(_section("Comparison with PCA (same code size, same data)",
                              _table(_pca_comparison(model, X2d, recon2d))))
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;"
             "text-align:left;font-size:90%}img{max-width:100%}h2{border-bottom:1px solid #ddd}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title><style>{style}</style></head><body><h1>"
            f"{html.escape(title)}</h1>{''.join(parts)}</body></html>")


def write_report(path, model, X=None, y=None, **kwargs) -> None:
    """Write ``build_report(...)`` to ``path`` atomically."""
    from .atomic import atomic_write_bytes

    atomic_write_bytes(path, build_report(model, X, y, **kwargs).encode("utf-8"))
