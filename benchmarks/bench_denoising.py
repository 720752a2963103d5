"""Denoising Fashion-MNIST: PSNR/SSIM of a denoising autoencoder against PCA and a median filter.

The 10,000 images of an MNIST-style test split are shuffled with ``--seed``; the first
``--n-train`` (8,000) are the training part and the next ``--n-test`` (2,000) are held out.
The held-out images get Gaussian noise of standard deviation ``--noise`` (0.5), clipped to
[0, 1]; every method sees only those noisy images and is scored against the clean ones:

* ``noisy input``: the noisy images themselves;
* ``median 3x3``: ``scipy.ndimage.median_filter`` over each image's 3x3 neighbourhoods;
* ``PCA projection``: ``PCA(k)`` fitted on the CLEAN training images, the noisy images
  projected on it and back, clipped to [0, 1]. ``k`` is chosen fairly: the best PSNR over
  ``--pca-grid`` on a validation part (the last 20% of the training part, noised the same way),
  with PCA fitted on the other 80%; the chosen ``k`` is then refitted on all training images;
* ``aekit DAE``: ``Autoencoder(n_components=64, constraints=(GaussianNoise(0.5),))``, every other
  setting at its default (784-256-64-256-784, 200 epochs), ``random_state=--seed``, trained on
  the clean training images; the denoised output is ``model.reconstruct(noisy)``.

``GaussianNoise`` clips its corruption to [0, 1] on data in [0, 1] (``clip="auto"``, the
default), as the test noise is. ``--diagnostics`` adds rows that explain why that matters: the
same model trained on UNclipped zero-mean noise (``clip=None``, whose corruption differs from the
test corruption: clipped noise has mean ``0.5 * E[max(z, 0)] = 0.2`` on black pixels), a plain
``Autoencoder(64)`` without noise, and the default model (and the noisy input) on unclipped test
noise.

PSNR is the mean over images of ``10 log10(1 / MSE)``; SSIM the mean over images of the mean
SSIM map (uniform 7x7 window, as scikit-image's default): ``aekit.metrics.psnr``/``ssim``.

Example::

    python benchmarks/bench_denoising.py --data-dir ../shared/datasets/fashion-mnist --threads 1
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch
from _common import format_table, print_machine_info, timed
from scipy.ndimage import median_filter
from sklearn.decomposition import PCA

from aekit import Autoencoder, GaussianNoise
from aekit.metrics import psnr, ssim


def add_noise(X: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of standard deviation ``std``, clipped to [0, 1]."""
    return np.clip(X + std * rng.standard_normal(X.shape), 0.0, 1.0).astype(np.float32)


def pca_denoise(pca: PCA, noisy: np.ndarray) -> np.ndarray:
    return np.clip(pca.inverse_transform(pca.transform(noisy)), 0.0, 1.0)


def choose_pca_components(X_train, grid, std, seed) -> tuple[int, dict[int, float]]:
    """The ``k`` of the grid with the best validation PSNR (fit on 80%, score the last 20%)."""
    n_fit = int(0.8 * len(X_train))
    fit_part, val_part = X_train[:n_fit], X_train[n_fit:]
    val_noisy = add_noise(val_part, std, np.random.default_rng(seed + 1))
    scores = {}
    for k in grid:
        pca = PCA(k, random_state=seed).fit(fit_part)
        scores[k] = psnr(val_part, pca_denoise(pca, val_noisy))
    return max(scores, key=scores.get), scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True,
                        help="folder with t10k-images-idx3-ubyte.gz (Fashion-MNIST or MNIST)")
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.5, help="noise standard deviation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pca-grid", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--max-iter", type=int, default=None,
                        help="epochs of the autoencoders (default: the estimator's default)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--diagnostics", action="store_true",
                        help="also train with unclipped training noise, and without noise")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="save clean/noisy/denoised images of the aekit DAE to this file")
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
    noisy = add_noise(X_test, args.noise, np.random.default_rng(args.seed))

    print("Machine:")
    print_machine_info()
    print(f"Data: {args.data_dir}, train {len(X_train)} clean images, {len(X_test)} held-out "
          f"images with noise std {args.noise} clipped to [0, 1], seed {args.seed}")

    rows: list[list[str]] = []

    def report(name: str, denoised: np.ndarray, seconds: tuple | None, note: str) -> float:
        value = psnr(X_test, denoised)
        times = ["-", "-"] if seconds is None else [f"{seconds[0]:.1f}", f"{seconds[1]:.1f}"]
        rows.append([name, f"{value:.2f}", f"{ssim(X_test, denoised):.3f}", *times, note])
        print(f"  {name}: PSNR {value:.2f} dB", flush=True)
        return value

    baselines = {"noisy input": report("noisy input", noisy, None, "")}
    *seconds, filtered = timed(lambda: median_filter(noisy.reshape(-1, 28, 28), size=(1, 3, 3)))
    baselines["median 3x3"] = report("median 3x3", filtered.reshape(len(X_test), -1), seconds, "")

    k, val_scores = choose_pca_components(X_train, args.pca_grid, args.noise, args.seed)
    print("  PCA validation PSNR by k: "
          + ", ".join(f"{kk}: {v:.2f}" for kk, v in val_scores.items()), flush=True)
    *seconds, pca = timed(lambda: PCA(k, random_state=args.seed).fit(X_train))
    baselines[f"PCA-{k}"] = report(f"PCA-{k} projection", pca_denoise(pca, noisy), seconds,
                                   f"k={k}: best validation PSNR of {args.pca_grid}")
    best_name = max(baselines, key=baselines.get)

    common = {"random_state": args.seed}
    if args.max_iter is not None:
        common["max_iter"] = args.max_iter
    models = {"aekit DAE": Autoencoder(64, constraints=(GaussianNoise(args.noise),), **common)}
    if args.diagnostics:
        models["aekit DAE, unclipped training noise (clip=None)"] = Autoencoder(
            64, constraints=(GaussianNoise(args.noise, clip=None),), **common
        )
        models["aekit Autoencoder(64), no noise"] = Autoencoder(64, **common)
    results = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at a fixed epoch budget
            *seconds, _ = timed(lambda model=model: model.fit(X_train))
        results[name] = report(name, model.reconstruct(noisy), seconds,
                               f"{model.n_iter_} epochs")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from aekit.plotting import ReconstructionDisplay

        display = ReconstructionDisplay.from_estimator(models["aekit DAE"], X_test, X_noisy=noisy,
                                                       n_images=10)
        display.figure_.savefig(args.plot, dpi=100, bbox_inches="tight")
        print(f"  saved {args.plot}")
    if args.diagnostics:  # the same noise draw, without the clipping
        rng = np.random.default_rng(args.seed)
        unclipped = (X_test + args.noise * rng.standard_normal(X_test.shape)).astype(np.float32)
        note = "diagnostic: unclipped test noise"
        report("noisy input, unclipped", unclipped, None, note)
        report("aekit DAE, unclipped", models["aekit DAE"].reconstruct(unclipped), None, note)
    print()
    print(format_table(
        ["method", "PSNR (dB)", "SSIM", "fit wall (s)", "fit CPU (s)", "note"], rows
    ))
    print()
    best = baselines[best_name]
    for name, value in results.items():
        print(f"{name}: {value - best:+.2f} dB against the best baseline ({best_name}, "
              f"{best:.2f} dB); target +3.00 dB: {'met' if value - best >= 3 else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
