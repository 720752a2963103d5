"""Fit + score time of ``aekit.Autoencoder`` against PyOD's ``AutoEncoder`` on tabular data.

Both train the same layers (``n_features-64-32-64-n_features`` by default) for the same number
of epochs with Adam (lr 1e-3) and the same batch size on standardized data, then score every
row by its reconstruction error; the timer covers ``fit`` plus scoring the same rows, which is
what an anomaly-detection user runs:

* ``aekit``: ``Autoencoder(n_components=32, hidden_layer_sizes=(64,), scaling="standard")``,
  ``fit(X)`` then ``reconstruction_error(X)``; ``tol=0`` and ``n_iter_no_change=max_iter`` so
  it runs every epoch;
* ``pyod``: ``AutoEncoder(hidden_neuron_list=[64, 32], batch_norm=False, dropout_rate=0,
  weight_decay=0)``, ``fit(X)``, whose ``decision_scores_`` are the scores of X;
* ``pyod defaults`` (``--pyod-defaults``): PyOD's own defaults apart from the epochs (batch 32,
  batch norm, dropout 0.2, weight decay 1e-5), for context: what a PyOD user gets.

What PyOD cannot match: its code layer has a ReLU (aekit's code is linear), and its loader
drops the last incomplete batch. ROC-AUC of each score against the labels ``y`` is printed for
context only (both models train on all rows, anomalies included, as in ADBench's
unsupervised setting).

Example::

    python benchmarks/bench_tabular_pyod.py --adbench-dir ../shared/datasets/adbench \\
        --dataset 1_ALOI --repeats 2
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import format_table, median, print_machine_info, timed
from sklearn.metrics import roc_auc_score


def fit_score_aekit(X: np.ndarray, args, seed: int) -> np.ndarray:
    from aekit import Autoencoder

    est = Autoencoder(
        n_components=args.n_components,
        hidden_layer_sizes=tuple(args.hidden),
        activation="relu",
        scaling="standard",
        output_activation="linear",
        loss="mse",
        max_iter=args.epochs,
        batch_size=args.batch_size,
        learning_rate_init=args.lr,
        tol=0.0,
        n_iter_no_change=args.epochs,
        precision="float32",
        device="cpu",
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: every epoch runs by design
        est.fit(X)
    if est.n_iter_ != args.epochs:
        raise RuntimeError(f"aekit ran {est.n_iter_} epochs instead of {args.epochs}.")
    return est.reconstruction_error(X)


def fit_score_pyod(X: np.ndarray, args, seed: int) -> np.ndarray:
    from pyod.models.auto_encoder import AutoEncoder

    det = AutoEncoder(
        hidden_neuron_list=[*args.hidden, args.n_components],
        hidden_activation_name="relu",
        batch_norm=False,
        dropout_rate=0.0,
        optimizer_params={"weight_decay": 0.0},
        preprocessing=True,
        epoch_num=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device="cpu",
        random_state=seed,
        verbose=0,
    )
    det.fit(X)
    return det.decision_scores_


def fit_score_pyod_defaults(X: np.ndarray, args, seed: int) -> np.ndarray:
    from pyod.models.auto_encoder import AutoEncoder

    det = AutoEncoder(epoch_num=args.epochs, device="cpu", random_state=seed, verbose=0)
    det.fit(X)
    return det.decision_scores_


CONTENDERS = {
    "aekit": fit_score_aekit,
    "pyod": fit_score_pyod,
    "pyod defaults": fit_score_pyod_defaults,
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adbench-dir", required=True, help="folder with ADBench .npz files (X, y)")
    p.add_argument("--dataset", default="1_ALOI", help="file name without .npz (default 1_ALOI)")
    p.add_argument("--epochs", type=int, default=10, help="default: PyOD's default, 10")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=[64],
        help="encoder layers before the code (default: 64, as PyOD's [64, 32])",
    )
    p.add_argument("--n-components", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument(
        "--pyod-defaults",
        action="store_true",
        help="add a row for PyOD's AutoEncoder at its default settings",
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    path = Path(args.adbench_dir) / f"{args.dataset}.npz"
    if not path.exists():
        raise SystemExit(
            f"{path} does not exist; pass the --adbench-dir and --dataset of a file there."
        )
    with np.load(path) as d:
        X, y = d["X"].astype(np.float32), d["y"].astype(np.int64)

    names = [n for n in CONTENDERS if n != "pyod defaults" or args.pyod_defaults]
    print("Machine:")
    print_machine_info()
    print(
        f"Data: {path.name}, {X.shape[0]} rows x {X.shape[1]} columns, {int(y.sum())} "
        f"anomalies; layers {X.shape[1]}-{'-'.join(map(str, args.hidden))}-"
        f"{args.n_components}-...; batch {args.batch_size}, {args.epochs} epochs, "
        f"{args.repeats} repeat(s)"
    )

    warm = argparse.Namespace(**{**vars(args), "epochs": 1})
    for name in names:  # one-off costs (imports, BLAS/oneDNN set-up) out of the timings
        CONTENDERS[name](X[:1024], warm, args.seed)

    times: dict[str, list[float]] = {n: [] for n in names}
    cpu_times: dict[str, list[float]] = {n: [] for n in names}
    aucs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.repeats):
        for name in names:  # interleaved, so load from other processes hits all alike
            seconds, cpu, scores = timed(CONTENDERS[name], X, args, args.seed + r)
            cpu_times[name].append(cpu)
            if not np.all(np.isfinite(scores)):
                raise RuntimeError(f"{name} returned non-finite scores.")
            times[name].append(seconds)
            aucs[name].append(roc_auc_score(y, scores))
            print(
                f"  repeat {r + 1}: {name:<13} {seconds:7.2f} s (CPU {cpu:6.2f} s)  "
                f"ROC-AUC {aucs[name][-1]:.4f}  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

    best, med = min(times["aekit"]), median(times["aekit"])
    rows = [
        [
            name,
            " / ".join(f"{t:.2f}" for t in times[name]),
            f"{min(times[name]) / best:.2f}x",
            f"{median(times[name]) / med:.2f}x",
            " / ".join(f"{t:.2f}" for t in cpu_times[name]),
            f"{min(cpu_times[name]) / min(cpu_times['aekit']):.2f}x",
            f"{np.mean(aucs[name]):.4f}",
        ]
        for name in names
    ]
    print()
    print(
        format_table(
            [
                "method",
                "fit + score s (each repeat)",
                "time / aekit's (best)",
                "time / aekit's (median)",
                "CPU s (each repeat)",
                "CPU s / aekit's (best)",
                "ROC-AUC (mean)",
            ],
            rows,
        )
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if "pyod" in names:
        ratio = min(times["pyod"]) / best
        verdict = "met" if ratio >= 5 else "NOT met"
        print(
            f"\nTarget (aekit fit + score >= 5x faster than PyOD at the same epochs): {verdict} "
            f"({ratio:.2f}x on best times, against PyOD with matched layers and batch size)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
