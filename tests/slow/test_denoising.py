"""Issue 4's denoising target on real images (slow lane): a denoising autoencoder at its defaults
beats PCA projection and a median filter by at least 3 dB PSNR on Fashion-MNIST with Gaussian
noise (std 0.5, clipped to [0, 1]). ``benchmarks/bench_denoising.py`` is the full benchmark
(with SSIM, timings and diagnostics); this is its protocol with a smaller PCA grid (k=32 was the
best of 8-256 there; here the best of 16, 32 and 64 counts).
"""

import numpy as np
import pytest
from scipy.ndimage import median_filter
from sklearn.decomposition import PCA

from aekit import Autoencoder, GaussianNoise
from aekit.datasets import load_mnist_like
from aekit.metrics import psnr

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def test_denoising_autoencoder_beats_pca_and_a_median_filter_by_3_db(shared_datasets):
    folder = shared_datasets / "fashion-mnist"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    X, _ = load_mnist_like(folder, split="t10k", flatten=True)
    order = np.random.RandomState(0).permutation(len(X))
    train, test = X[order[:8000]], X[order[8000:]]
    rng = np.random.default_rng(0)
    noisy = np.clip(test + 0.5 * rng.standard_normal(test.shape), 0, 1).astype(np.float32)

    pca_scores = {}
    for k in (16, 32, 64):
        pca = PCA(k, random_state=0).fit(train)
        pca_scores[k] = psnr(test, np.clip(pca.inverse_transform(pca.transform(noisy)), 0, 1))
    median = psnr(test, median_filter(noisy.reshape(-1, 28, 28), size=(1, 3, 3)).reshape(
        len(test), -1))
    best_other = max(*pca_scores.values(), median, psnr(test, noisy))

    dae = Autoencoder(n_components=64, constraints=(GaussianNoise(0.5),), random_state=0)
    denoised = psnr(test, dae.fit(train).reconstruct(noisy))
    assert denoised >= best_other + 3.0, (denoised, pca_scores, median)


def test_salt_and_pepper_denoising_at_defaults_cleans_salt_and_pepper_images(shared_datasets):
    """Issue 12: ``SaltAndPepperNoise`` corrupts [0, 1] images with 0 and 1 (the data's domain),
    so a model trained with its defaults removes real salt-and-pepper noise: on held-out MNIST
    images whose pixels are set to 0 and to 1 with probability 0.1 each, its MSE against the
    clean images is at least 15% below that of the same model trained without noise."""
    from aekit import SaltAndPepperNoise

    folder = shared_datasets / "mnist"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    X, _ = load_mnist_like(folder, split="t10k", flatten=True)
    order = np.random.RandomState(0).permutation(len(X))
    train, test = X[order[:8000]], X[order[8000:]]
    u = np.random.default_rng(0).random(test.shape)
    noisy = np.where(u < 0.1, 0.0, np.where(u < 0.2, 1.0, test)).astype(np.float32)

    def mse(constraints) -> float:
        model = Autoencoder(n_components=64, max_iter=30, constraints=constraints,
                            random_state=0).fit(train)
        return float(np.mean((model.reconstruct(noisy) - test) ** 2))

    plain, denoising = mse(()), mse((SaltAndPepperNoise(0.2),))
    assert denoising <= 0.85 * plain, (denoising, plain)
