"""``aekit demo``: the seed's three autoencoders on scikit-learn's digits, against PCA."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class DemoRow:
    model: str
    code_size: int
    mse: float  # held-out reconstruction MSE (denoising: of noisy inputs against clean ones)
    pca_mse: float  # PCA with the same code size, same task
    accuracy: float  # logistic regression on the codes
    pca_accuracy: float
    fit_seconds: float
    note: str = ""


def _accuracy(train_codes, y_train, test_codes, y_test) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(clf.fit(train_codes, y_train).score(test_codes, y_test))


def run_demo(random_state: int = 0, max_iter: int = 200):
    """Train the undercomplete, sparse and denoising models; compare each with PCA.

    Returns the table rows, the undercomplete model, the held-out ``(X, y)`` and the training
    rows (the report fits its PCA on them, as this table does).
    """
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    from .. import Autoencoder, GaussianNoise, KLSparsity
    from ..datasets import load_digits

    X, y = load_digits(return_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=random_state, stratify=y
    )
    rng = np.random.default_rng(random_state)
    X_noisy = np.clip(X_test + rng.normal(0, 0.3, X_test.shape), 0, 1).astype(np.float32)
    common = dict(random_state=random_state, max_iter=max_iter, batch_size=64)
    models = [
        ("undercomplete", Autoencoder(n_components=12, **common), X_test, ""),
        ("sparse (KL, rho=0.05)", Autoencoder(
            n_components=128, hidden_layer_sizes=(),
            constraints=(KLSparsity(target=0.05, weight=0.5),), **common), X_test, ""),
        ("denoising (Gaussian 0.3)", Autoencoder(
            n_components=12, constraints=(GaussianNoise(0.3),), **common), X_noisy, ""),
    ]
    rows = []
    for name, model, X_in, note in models:
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        k = model.n_components_
        pca = PCA(n_components=min(k, X.shape[1]), random_state=random_state).fit(X_train)
        mse = float(np.mean((model.reconstruct(X_in) - X_test) ** 2))
        pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X_in)) - X_test) ** 2))
        if "sparse" in name:
            mean_act = float(model.transform(X_test).mean())
            note = (f"mean code activation {mean_act:.3f} (target 0.05); overcomplete, so "
                    "PCA keeps all 64 components")
        rows.append(DemoRow(
            name, k, mse, pca_mse,
            _accuracy(model.transform(X_train), y_train, model.transform(X_test), y_test),
            _accuracy(pca.transform(X_train), y_train, pca.transform(X_test), y_test),
            seconds, note,
        ))
    return rows, models[0][1], (X_test, y_test), X_train


def format_rows(rows: list[DemoRow]) -> str:
    head = (f"{'model':26} {'code':>4} {'MSE':>8} {'PCA MSE':>8} {'vs PCA':>7} "
            f"{'acc':>6} {'PCA acc':>7} {'fit s':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        # PCA cannot be wider than the input: an overcomplete code has no PCA counterpart
        change = (f"{100.0 * (r.mse - r.pca_mse) / r.pca_mse:+6.0f}%" if r.pca_mse > 1e-9
                  else "    n/a")
        lines.append(
            f"{r.model:26} {r.code_size:4d} {r.mse:8.4f} {r.pca_mse:8.4f} {change} "
            f"{r.accuracy:6.3f} {r.pca_accuracy:7.3f} {r.fit_seconds:6.1f}"
        )
        if r.note:
            lines.append(f"{'':26}   {r.note}")
    return "\n".join(lines)


def demo_command(args, progress: bool) -> str:
    """Print the comparison table, then write the report (the results come first)."""
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {args.epochs}.")
    if args.report:  # refused before training, not after it
        from .paths import check_output

        check_output(args.report, suffixes={".html"}, example="report.html")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    print("Training on scikit-learn's digits (1,797 8x8 images; 75% train, 25% held out)...")
    with warnings.catch_warnings():  # the demo trains for a fixed number of epochs
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows, model, (X_test, y_test), X_train = run_demo(random_state=args.seed,
                                                         max_iter=args.epochs)
    print("\n".join([
        format_rows(rows),
        "MSE: held-out reconstruction error in pixel units (denoising: noisy input vs clean).",
        "acc: logistic regression trained on the codes; PCA columns use the same code size.",
    ]), flush=True)
    if not args.report:
        return ""
    from ..reports import write_report

    write_report(args.report, model, X_test, y_test, image_shape=(1, 8, 8), pca_fit=X_train,
                 title="aekit demo: undercomplete autoencoder on digits (held-out part)")
    return f"Report written to {args.report}."
