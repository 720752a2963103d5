"""Autoencoder codes as features for a classifier, against PCA codes and the raw pixels.

Each contender is one scikit-learn ``Pipeline`` ending in the same ``LogisticRegression``:

* ``raw pixels``:        StandardScaler -> LogisticRegression
* ``PCA``:               PCA(k) -> StandardScaler -> LogisticRegression
* ``Autoencoder``:       Autoencoder(k, early_stopping=True) -> StandardScaler -> LogisticRegression
* ``denoising AE``:      Autoencoder(k, constraints=(GaussianNoise(0.2),), early_stopping=True)
  -> StandardScaler -> LogisticRegression

The autoencoders are unsupervised (the labels only train the logistic regression); the
pipeline fits them on the training part, so nothing leaks from the test part.

Run on scikit-learn's 8x8 digits (default), or on an MNIST-style folder::

    python examples/classify_on_codes.py
    python examples/classify_on_codes.py --mnist-dir ../shared/datasets/mnist --n-components 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aekit import Autoencoder, GaussianNoise
from aekit.datasets import load_digits, load_mnist_like


def contenders(k: int, seed: int, max_iter: int) -> dict:
    def classifier():
        return LogisticRegression(max_iter=2000)

    return {
        "raw pixels": make_pipeline(StandardScaler(), classifier()),
        f"PCA({k})": make_pipeline(PCA(k, random_state=seed), StandardScaler(), classifier()),
        f"Autoencoder({k})": make_pipeline(
            Autoencoder(k, max_iter=max_iter, early_stopping=True, random_state=seed),
            StandardScaler(), classifier(),
        ),
        f"Autoencoder({k}), GaussianNoise(0.2)": make_pipeline(
            Autoencoder(k, constraints=(GaussianNoise(0.2),), max_iter=max_iter,
                        early_stopping=True, random_state=seed),
            StandardScaler(), classifier(),
        ),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", default=None,
                        help="MNIST-style folder (t10k split); default: scikit-learn's digits")
    parser.add_argument("--n-components", type=int, default=None,
                        help="code size k (default: 16 for digits, 32 for MNIST)")
    parser.add_argument("--max-iter", type=int, default=200,
                        help="most autoencoder epochs (early stopping on 10%% held out)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.mnist_dir is None:
        X, y = load_digits(return_y=True)
        name, k = "digits (8x8)", args.n_components or 16
    else:
        X, y = load_mnist_like(args.mnist_dir)
        name, k = f"{args.mnist_dir} (t10k split)", args.n_components or 32
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    print(f"{name}: {len(X_train)} training and {len(X_test)} test images, "
          f"{X.shape[1]} pixels, code size k={k}")
    print(f"{'features':<40} {'test accuracy':>13} {'fit (s)':>8}")
    for label, pipeline in contenders(k, args.seed, args.max_iter).items():
        start = time.perf_counter()
        pipeline.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(pipeline.predict(X_test) == y_test))
        print(f"{label:<40} {accuracy:>13.4f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
