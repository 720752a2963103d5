"""One-class image benchmark: train on one class's images, find the other classes.

For each dataset (an MNIST-style folder: MNIST, Fashion-MNIST), the 10,000-image test split is
split at random (seed 0) into a training part and a held-out part of 5,000 images each. For each
class c: fit on the training part's images of class c (about 500), score the whole held-out part
(all classes), and report the ROC-AUC of the scores for "not class c". Methods:

- ``aekit``: ``aekit.OutlierDetector(random_state=seed)``, all defaults (on the flattened images).
- ``aekit_conv``: ``aekit.OutlierDetector(aekit.ConvAutoencoder(), random_state=seed)``.
- ``aekit_vae``: ``aekit.OutlierDetector(anomaly_score="elbo", random_state=seed)``: the
  default member with ``Variational()``, scored by the negative ELBO (issue 16).
- ``pca``: squared reconstruction error of a PCA keeping 90% of the variance of the class.
- ``pyod_ae``: PyOD's ``AutoEncoder`` with its defaults (only ``verbose=0`` and the seed set).

Run::

    python benchmarks/bench_one_class_images.py ../shared/datasets/mnist \
        ../shared/datasets/fashion-mnist
    python benchmarks/bench_one_class_images.py ../shared/datasets/mnist --methods aekit,pca \
        --classes 0,1 --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

METHODS = ("aekit", "aekit_conv", "aekit_vae", "pca", "pyod_ae")


def split_halves(X, y, seed: int = 0):
    order = np.random.default_rng(seed).permutation(len(X))
    half = len(X) // 2
    train, held_out = order[:half], order[half:]
    return X[train], y[train], X[held_out], y[held_out]


def fit_score_aekit(X_train, X_test, seed):
    from aekit import OutlierDetector

    t0 = time.perf_counter()
    det = OutlierDetector(random_state=seed).fit(X_train)
    fit_time = time.perf_counter() - t0
    return -det.score_samples(X_test), fit_time


def fit_score_aekit_conv(X_train, X_test, seed):
    from aekit import ConvAutoencoder, OutlierDetector

    t0 = time.perf_counter()
    det = OutlierDetector(ConvAutoencoder(), random_state=seed).fit(X_train)
    fit_time = time.perf_counter() - t0
    return -det.score_samples(X_test), fit_time


def fit_score_aekit_vae(X_train, X_test, seed):
    from aekit import OutlierDetector

    t0 = time.perf_counter()
    det = OutlierDetector(anomaly_score="elbo", random_state=seed).fit(X_train)
    fit_time = time.perf_counter() - t0
    return -det.score_samples(X_test), fit_time


def fit_score_pca(X_train, X_test, seed):
    from sklearn.decomposition import PCA

    t0 = time.perf_counter()
    pca = PCA(n_components=0.9, random_state=seed).fit(X_train)
    fit_time = time.perf_counter() - t0
    recon = pca.inverse_transform(pca.transform(X_test))
    return ((X_test - recon) ** 2).sum(axis=1), fit_time


def fit_score_pyod_ae(X_train, X_test, seed):
    from pyod.models.auto_encoder import AutoEncoder

    t0 = time.perf_counter()
    det = AutoEncoder(verbose=0, random_state=seed).fit(X_train)
    fit_time = time.perf_counter() - t0
    return det.decision_function(X_test), fit_time


SCORERS = {
    "aekit": fit_score_aekit,
    "aekit_conv": fit_score_aekit_conv,
    "aekit_vae": fit_score_aekit_vae,
    "pca": fit_score_pca,
    "pyod_ae": fit_score_pyod_ae,
}


def run_dataset(folder: Path, methods, classes, seeds) -> dict:
    from aekit.datasets import load_mnist_like

    X, y = load_mnist_like(folder)
    X_train, y_train, X_test, y_test = split_halves(X, y)
    results = {m: {"auc": {}, "fit_s": {}} for m in methods}
    for c in classes:
        outlier = (y_test != c).astype(int)
        X_c = X_train[y_train == c]
        for m in methods:
            aucs, times = [], []
            for seed in seeds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores, fit_time = SCORERS[m](X_c, X_test, seed)
                aucs.append(roc_auc_score(outlier, scores))
                times.append(fit_time)
            results[m]["auc"][c] = float(np.mean(aucs))
            results[m]["fit_s"][c] = float(np.mean(times))
        line = "  ".join(f"{m}: {results[m]['auc'][c]:.3f}" for m in methods)
        print(f"{folder.name} class {c} (n_train={len(X_c)}): {line}", file=sys.stderr)
    return results


def format_table(name: str, results: dict, methods, classes) -> str:
    lines = [f"**{name}** (ROC-AUC, class c = normal)", "",
             "| class | " + " | ".join(methods) + " |",
             "|---:|" + "---:|" * len(methods)]
    for c in classes:
        lines.append(f"| {c} | " + " | ".join(f"{results[m]['auc'][c]:.3f}" for m in methods)
                     + " |")
    means = [np.mean(list(results[m]["auc"].values())) for m in methods]
    lines.append("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in means) + " |")
    times = [np.sum(list(results[m]["fit_s"].values())) for m in methods]
    lines.append("| fit s (total) | " + " | ".join(f"{v:.1f}" for v in times) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+",
                        help="MNIST-style folders (t10k-images-idx3-ubyte.gz, ...)")
    parser.add_argument("--methods", default="aekit,pca,pyod_ae",
                        help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; AUCs are averaged")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every method (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"Unknown methods {sorted(unknown)}; choose from {METHODS}.")
    classes = [int(c) for c in args.classes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]

    all_results = {}
    for folder in args.folders:
        all_results[folder.name] = run_dataset(folder, methods, classes, seeds)
    print(f"\nOne-class images: train on one class of a random half of the test split, score the "
          f"other half; seeds {seeds}, torch threads {args.threads}\n")
    for name, results in all_results.items():
        print(format_table(name, results, methods, classes))
        print()
    if args.json is not None:
        args.json.write_text(json.dumps(all_results, indent=1))


if __name__ == "__main__":
    main()
