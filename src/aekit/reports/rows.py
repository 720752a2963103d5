"""The report of a model of rows (tables, images) (images embedded as PNG URIs).

Sections: the configuration, loss curves, reconstructions of telling examples (the best, the
median and the worst reconstructed rows, not the first files; with a clean reference, clean /
noisy / denoised with PSNR against the clean images), the code map (t-SNE, coloured by labels),
the histogram of anomaly scores with the threshold, the top outliers with their IDs and the
columns that made them unusual, each code unit's mean activation (sparse models), each unit's
KL to the prior and samples from it (variational models, ``reports.variational``), and the
comparison with PCA at the same code size: both measured in the model's own scaled space on
rows the PCA was not fitted on (``pca_fit``: the rows to fit it on, e.g. the training rows;
otherwise half of the report's rows, chosen at random, and the other half to measure).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .markup import figure, page, png, section, table


def _pca_comparison(autoencoder, X_eval, X_fit, scale) -> list[tuple[str, Any]]:
    """Held-out MSE of the autoencoder and of PCA with as many components, both in the
    autoencoder's scaled space (``scale``: the detector's own scaling, or the identity)."""
    from sklearn.decomposition import PCA

    scaled_fit = autoencoder.scaler_.apply(scale(X_fit).reshape(len(X_fit), -1))
    scaled_eval = autoencoder.scaler_.apply(scale(X_eval).reshape(len(X_eval), -1))
    k = min(autoencoder.n_components_, scaled_fit.shape[1], scaled_fit.shape[0])
    pca = PCA(n_components=k, random_state=0).fit(scaled_fit)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(scaled_eval)) - scaled_eval) ** 2))
    mse = float(np.mean(autoencoder.reconstruction_error(scale(X_eval))))
    change = f"{100 * (mse - pca_mse) / pca_mse:+.1f}%" if pca_mse > 1e-12 else "n/a"
    return [("autoencoder reconstruction MSE (scaled units, held-out rows)", f"{mse:.5g}"),
            (f"PCA ({k} components) reconstruction MSE (same rows, same units)",
             f"{pca_mse:.5g}"), ("autoencoder vs PCA", change),
            ("rows measured / rows PCA was fitted on", f"{len(X_eval)} / {len(X_fit)}")]


def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def build_report(model, X=None, y=None, *, ids=None, clean=None, pca_fit=None,
                 image_shape=None, title: str = "aekit model report",
                 max_map_samples: int = 1000, top_outliers: int = 10) -> str:
    """The report as an HTML string. ``X`` (the model's input layout) enables the data plots;
    ``ids`` (a DataFrame, one row per row of X) names the top outliers; ``clean`` is the clean
    reference of a noisy ``X``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from ..plotting import (
        CodeActivationDisplay,
        CodeMapDisplay,
        LossCurveDisplay,
        ReconstructionDisplay,
        ScoreHistogramDisplay,
    )

    detector = hasattr(model, "estimators_")
    ae = model.estimators_[0] if detector else model
    meta = getattr(model, "metadata_", {}) or {}
    threshold = model.threshold_ if detector else meta.get("threshold")
    config = [("model", type(model).__name__ + (f" of {type(ae).__name__}" if detector else "")),
              ("code size", ae.n_components_), ("epochs run", ae.n_iter_),
              ("final training loss", f"{ae.loss_curve_[-1]:.5g}"), ("scaling used", ae.scaling_),
              ("output activation used", ae.output_activation_), ("precision used", ae.precision_)]
    if detector:
        score = model.anomaly_score_ + (" + isolation forest" if getattr(
            model, "forest_", None) is not None else "")
        config += [("anomaly score", score), ("threshold", f"{threshold:.5g}")]
    config += [(k, v) for k, v in ae.get_params(deep=False).items() if k != "verbose"]
    parts = [section("Configuration", table(config))]
    parts.append(section("Loss curves", figure(png(LossCurveDisplay.from_estimator(ae)
                                                       .figure_), "loss curves")))
    if X is not None:
        parts += _data_sections(model, ae, X, y, ids, clean, pca_fit, image_shape, threshold,
                                max_map_samples, top_outliers, detector,
                                (CodeActivationDisplay, CodeMapDisplay, ReconstructionDisplay,
                                 ScoreHistogramDisplay))
    return page(title, parts)


def _data_sections(model, ae, X, y, ids, clean, pca_fit, image_shape, threshold,
                   max_map_samples, top_outliers, detector, displays) -> list[str]:
    CodeActivationDisplay, CodeMapDisplay, ReconstructionDisplay, ScoreHistogramDisplay = \
        displays
    parts = []
    scores = -model.score_samples(X) if detector else ae.reconstruction_error(X)
    order = np.argsort(scores, kind="stable")
    shape = image_shape or (getattr(model, "metadata_", {}) or {}).get("image_shape")
    if shape or getattr(X, "ndim", 2) == 4:
        picks = order[np.unique(np.linspace(0, len(order) - 1, 8).round().astype(int))]
        if clean is not None:
            grid = ReconstructionDisplay(
                originals=np.asarray(_take(clean, picks)).reshape(len(picks), *shape),
                reconstructions=np.asarray(model.reconstruct(_take(X, picks))).reshape(
                    len(picks), *shape),
                noisy=np.asarray(_take(X, picks)).reshape(len(picks), *shape),
                estimator_name=type(ae).__name__).plot()
            caption = "Clean / noisy / denoised, from the best to the worst reconstructed; " \
                      "PSNR against the clean images."
        else:
            grid = ReconstructionDisplay.from_estimator(
                model, X, indices=picks, image_shape=tuple(shape) if shape else None)
            caption = "From the best (left) to the worst (right) reconstructed rows."
        parts.append(section("Reconstructions", figure(png(grid.figure_), caption) +
                              f"<p>{html.escape(caption)}</p>"))
    labelled = None if y is None else np.asarray(y)
    code_map = CodeMapDisplay.from_estimator(ae, model.preprocess(X) if detector else X,
                                             labelled, max_samples=max_map_samples,
                                             random_state=0)
    parts.append(section("Code map", figure(png(code_map.figure_), "code map")))
    hist = ScoreHistogramDisplay(scores=scores, threshold=threshold,
                                 estimator_name=type(model).__name__).plot()
    flagged = "" if threshold is None else (
        f"<p>Threshold {threshold:.4g}: {int((scores > threshold).sum())} of {len(scores)} "
        "rows above it.</p>")
    parts.append(section("Anomaly scores", figure(png(hist.figure_), "score histogram") +
                          flagged))
    if detector:
        parts.append(section("Top outliers", _top_outliers(model, X, ids, scores, order,
                                                           top_outliers)))
    if ae.code_activation_ == "sigmoid":
        act = CodeActivationDisplay.from_estimator(ae, model.preprocess(X) if detector else X)
        parts.append(section("Sparsity per unit", figure(png(act.figure_),
                                                           "mean activation per unit")))
    if hasattr(ae, "elbo"):  # a variational code
        from .variational import variational_section

        parts.append(variational_section(ae, model.preprocess(X) if detector else X, shape))
    if getattr(ae, "table_", None) is None:
        if pca_fit is None:
            half = np.random.RandomState(0).permutation(len(X))
            fit_rows, eval_rows = half[: len(X) // 2], half[len(X) // 2:]
            X_fit, X_eval = _take(X, fit_rows), _take(X, eval_rows)
        else:
            X_fit, X_eval = pca_fit, X
        scale = model.preprocess if detector else (lambda rows: np.asarray(rows))
        parts.append(section("Comparison with PCA (same code size, same units, held-out rows)",
                              table(_pca_comparison(ae, X_eval, X_fit, scale))))
    return parts


def _top_outliers(model, X, ids, scores, order, top: int) -> str:
    from ..estimators.explain import describe_rows

    rows = order[::-1][:top]
    explained = describe_rows(model.explain(_take(X, rows), top_k=3))
    id_columns = [] if ids is None else list(ids.columns)
    lines = []
    for r, why in zip(rows, explained):
        ident = [str(ids.iloc[r][c]) for c in id_columns] if id_columns else [str(int(r) + 1)]
        lines.append((*ident, f"{scores[r]:.4g}", why))
    header = (*(id_columns or ["row"]), "anomaly score", "columns that made it unusual")
    return table(lines, header)
