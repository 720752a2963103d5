"""Held-out reconstruction of Fashion-MNIST at 32 components: PCA, dense, conv and stacked models.

The 10,000 images of an MNIST-style test split are shuffled with ``--seed``; the first
``--n-train`` (8,000) train every model and the next ``--n-test`` (2,000) are held out. Every
model codes an image in ``n_components=32`` numbers:

* ``PCA-32``: ``sklearn.decomposition.PCA(32)``, the linear reference;
* ``Autoencoder``: ``aekit.Autoencoder(32)`` (784-256-32-256-784, the defaults);
* ``ConvAutoencoder``: ``aekit.ConvAutoencoder(32)`` (two stride-2 convolutions, 32 and 64
  channels, then a dense code; the defaults);
* ``stacked dense``: ``Autoencoder(32, hidden_layer_sizes=(256, 128), pretraining="greedy")``,
  784-256-128-32, each level pretrained as a shallow autoencoder, then fine-tuned;
* ``stacked conv``: ``ConvAutoencoder(32, pretraining="greedy")``, the stacked convolutional
  autoencoder.

Neural models use their default settings, with ``random_state=--seed``; ``--max-iter`` overrides
the epochs of all of them (of every level with greedy pretraining). Held-out MSE is
``mean((reconstruction - X_test) ** 2)`` over every pixel, in [0, 1] pixel units. Fit times are
the wall clock and the CPU time of this process during ``fit``; on a shared machine (see the load
average printed first) the CPU time with ``--threads 1`` is the steadier measure of cost.

Example::

    python benchmarks/bench_images.py --data-dir ../shared/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch
from _common import format_table, print_machine_info, timed
from sklearn.decomposition import PCA

N_COMPONENTS = 32


def heldout_mse(reconstruction: np.ndarray, X: np.ndarray) -> float:
    """Mean squared error over every entry, in the units of X ([0, 1] pixels)."""
    diff = reconstruction.reshape(len(X), -1).astype(np.float64) - X.reshape(len(X), -1)
    return float(np.mean(diff**2))


def contenders(args) -> dict:
    from aekit import Autoencoder, ConvAutoencoder

    common = {"random_state": args.seed}
    if args.max_iter is not None:
        common["max_iter"] = args.max_iter
    return {
        "PCA-32": lambda: PCA(N_COMPONENTS, random_state=args.seed),
        "Autoencoder": lambda: Autoencoder(N_COMPONENTS, **common),
        "ConvAutoencoder": lambda: ConvAutoencoder(N_COMPONENTS, **common),
        "stacked dense": lambda: Autoencoder(
            N_COMPONENTS, hidden_layer_sizes=(256, 128), pretraining="greedy", **common
        ),
        "stacked conv": lambda: ConvAutoencoder(N_COMPONENTS, pretraining="greedy", **common),
    }


def describe(model) -> str:
    if isinstance(model, PCA):
        return "-"
    epochs = str(model.n_iter_)
    curves = getattr(model, "pretraining_loss_curves_", None)
    if curves:
        epochs = "+".join(str(len(c)) for c in curves) + f" + {model.n_iter_}"
    return epochs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True,
                        help="folder with t10k-images-idx3-ubyte.gz (Fashion-MNIST or MNIST)")
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="epochs of every neural model (default: each model's default)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--models", nargs="*", default=None,
                        help="a subset of: PCA-32, Autoencoder, ConvAutoencoder, "
                             "'stacked dense', 'stacked conv'")
    args = parser.parse_args(argv)

    from aekit.datasets import load_mnist_like

    if args.threads:
        torch.set_num_threads(args.threads)
    X, _ = load_mnist_like(args.data_dir, split="t10k", flatten=True)
    if args.n_train + args.n_test > len(X):
        parser.error(f"--n-train + --n-test must be at most {len(X)}.")
    order = np.random.RandomState(args.seed).permutation(len(X))
    X_train = X[order[: args.n_train]]
    X_test = X[order[args.n_train : args.n_train + args.n_test]]
    images_train = X_train.reshape(-1, 1, 28, 28)
    images_test = X_test.reshape(-1, 1, 28, 28)

    print("Machine:")
    print_machine_info()
    print(f"Data: {args.data_dir}, train {len(X_train)}, held out {len(X_test)}, seed {args.seed}")

    makers = contenders(args)
    names = args.models or list(makers)
    unknown = set(names) - set(makers)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}; choose from {list(makers)}.")
    rows, pca_mse = [], None
    for name in names:
        model = makers[name]()
        conv = "conv" in name.lower()
        train, test = (images_train, images_test) if conv else (X_train, X_test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at a fixed epoch budget
            wall, cpu, _ = timed(model.fit, train)
        if isinstance(model, PCA):
            recon = model.inverse_transform(model.transform(test))
        else:
            recon = model.reconstruct(test)
        assert recon.shape == test.shape
        mse = heldout_mse(recon, X_test)
        if name == "PCA-32":
            pca_mse = mse
        vs_pca = "-"
        if pca_mse is not None and name != "PCA-32":
            vs_pca = f"{100 * (1 - mse / pca_mse):.1f}%"
        rows.append([name, f"{mse:.5f}", vs_pca, f"{wall:.0f}", f"{cpu:.0f}", describe(model)])
        print(f"  {name}: held-out MSE {mse:.5f}, fit {wall:.1f} s wall, {cpu:.1f} s CPU",
              flush=True)
    print()
    print(format_table(
        ["model", "held-out MSE", "MSE below PCA-32", "fit wall (s)", "fit CPU (s)", "epochs"],
        rows,
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
