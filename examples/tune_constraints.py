"""Tuning the constraints (code size, noise, sparsity) with scikit-learn's search tools.

The seed says the combination of hidden size, sparsity and noise must be optimised. Because a
constraint tuple is an ordinary parameter, one ``GridSearchCV``/``RandomizedSearchCV`` call
searches over it; what changes is the score that judges the candidates:

1. **Reconstruction** (no labels): ``Autoencoder.score(X)`` is the negative mean reconstruction
   error on the held-out fold. Caveat: it is measured in the model's *scaled* space (after
   ``scaling``), so candidates with different scalings are not comparable: keep ``scaling``
   fixed in the search (here ``"none"``, since the pixels are already in [0, 1]). Also, clean
   reconstruction rewards capacity: noise and sparsity rarely win on it. Use it to size the
   code, or when reconstruction is the goal.
2. **Denoising**: a scorer that corrupts the held-out fold with the noise you expect and
   measures the error of ``reconstruct`` against the clean fold, in the data's own units (so it
   is comparable across scalings too).
3. **A downstream task**: put the autoencoder in a ``Pipeline`` with a classifier and search
   with the classifier's accuracy; the constraints that make the best features win.

Run it (about a minute or two on a laptop)::

    python examples/tune_constraints.py
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aekit import Autoencoder, GaussianNoise, KLSparsity, MaskingNoise
from aekit.datasets import load_digits

CONSTRAINTS = [
    (),
    (GaussianNoise(0.1),),
    (GaussianNoise(0.3),),
    (MaskingNoise(0.25),),
    (KLSparsity(0.05),),
    (KLSparsity(0.1), GaussianNoise(0.1)),
]


def show(search, top: int = 5) -> None:
    """The best ``top`` candidates of a fitted search, best first."""
    results = search.cv_results_
    order = np.argsort(results["rank_test_score"])[:top]
    for i in order:
        params = ", ".join(f"{k}={v!r}" for k, v in results["params"][i].items())
        print(f"  {results['mean_test_score'][i]:+.4f} (+/- {results['std_test_score'][i]:.4f})"
              f"  {params}")


def denoising_score(noise_std: float, seed: int = 0):
    """A scorer: minus the mean squared error of denoising ``X + noise`` (clipped to [0, 1])."""

    def score(estimator, X, y=None) -> float:
        X = np.asarray(X)
        rng = np.random.default_rng(seed)  # the same noise for every candidate
        noisy = np.clip(X + noise_std * rng.standard_normal(X.shape), 0, 1).astype(X.dtype)
        return -float(np.mean((estimator.reconstruct(noisy) - X) ** 2))

    return score


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--n-iter", type=int, default=10, help="candidates of the random search")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_y=True)
    base = Autoencoder(scaling="none", max_iter=args.max_iter, early_stopping=True,
                       random_state=args.seed)
    space = {"n_components": [8, 16, 32], "constraints": CONSTRAINTS}

    print("1. Reconstruction score (RandomizedSearchCV, 3-fold, scaling fixed to 'none'):")
    search = RandomizedSearchCV(base, space, n_iter=args.n_iter, cv=3, random_state=args.seed)
    show(search.fit(X))

    print("\n2. Denoising score (noise std 0.3, clipped), over the noise level at 32 units:")
    noise_grid = {"n_components": [32],
                  "constraints": [(), (GaussianNoise(0.1),), (GaussianNoise(0.3),),
                                  (GaussianNoise(0.5),)]}
    search = GridSearchCV(base, noise_grid, cv=3, scoring=denoising_score(0.3, args.seed))
    show(search.fit(X))

    print("\n3. Classification accuracy of Pipeline(Autoencoder, StandardScaler, "
          "LogisticRegression):")
    pipeline = make_pipeline(base, StandardScaler(), LogisticRegression(max_iter=2000))
    grid = {"autoencoder__n_components": [16, 32],
            "autoencoder__constraints": [(), (GaussianNoise(0.3),), (KLSparsity(0.1),)]}
    search = GridSearchCV(pipeline, grid, cv=3)
    show(search.fit(X, y))


if __name__ == "__main__":
    main()
