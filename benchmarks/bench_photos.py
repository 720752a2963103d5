"""Denoising whole photos (issue 20): a spatial-code ConvAutoencoder against classical filters.

Protocol: scikit-learn's ``load_sample_images()``; train on 4,000 random 32x32 patches of
``china.jpg`` (``aekit.random_patches``, flips, seed 0), denoise ``flower.jpg`` whole (427x640
RGB) after adding Gaussian noise of std sigma (clipped to [0, 1], seed 1), for sigma 0.05, 0.1
and 0.2. PSNR and SSIM against the clean flower. Methods:

- aekit: ``ConvAutoencoder(code="spatial", conv_channels=(64,), loss=...,
  constraints=(GaussianNoise(sigma),), max_iter=60)`` trained per sigma and loss (``mse`` and
  ``mae`` by default), then
  ``reconstruct_image`` on the whole photo (fully convolutional: no tiles); the code map is
  the default, 6 x 16 x 16 = half of the 3 x 32 x 32 input;
- Gaussian blur at its best sigma for that image (an oracle: the best of 0.5 ... 2.0);
- the 3x3 median filter;
- PCA on 8x8 patches (fitted on 20,000 noisy patches of the photo itself, components keeping
  the signal: those whose variance exceeds the noise's), overlapping patches averaged.

Run::

    python benchmarks/bench_photos.py
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from _common import format_table, print_machine_info


def pca_patches(noisy: np.ndarray, sigma: float, size: int = 8) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view
    from sklearn.decomposition import PCA

    C, H, W = noisy.shape
    views = sliding_window_view(noisy, (C, size, size))[0]  # (H-s+1, W-s+1, C, s, s)
    rows = views.reshape(-1, C * size * size)
    rng = np.random.default_rng(0)
    pca = PCA().fit(rows[rng.choice(len(rows), min(20_000, len(rows)), replace=False)])
    keep = max(1, int((pca.explained_variance_ > sigma ** 2).sum()))
    pca = PCA(keep).fit(rows[rng.choice(len(rows), min(20_000, len(rows)), replace=False)])
    out, weight = np.zeros_like(noisy), np.zeros_like(noisy)
    ny, nx = views.shape[:2]
    for y0 in range(0, ny, 64):  # a band of rows of patch positions at a time
        band = views[y0:y0 + 64].reshape(-1, C * size * size)
        recon = pca.inverse_transform(pca.transform(band)).reshape(-1, nx, C, size, size)
        for dy in range(recon.shape[0]):
            y = y0 + dy
            for x in range(nx):
                out[:, y:y + size, x:x + size] += recon[dy, x]
                weight[:, y:y + size, x:x + size] += 1
    return out / weight


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigmas", default="0.05,0.1,0.2")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--losses", default="mse,mae",
                        help="training losses of the aekit model, one fit each")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from scipy.ndimage import gaussian_filter, median_filter
    from sklearn.datasets import load_sample_images

    import aekit
    from aekit.metrics import psnr, ssim

    print_machine_info()
    china, flower = (im.astype(np.float32).transpose(2, 0, 1) / 255
                     for im in load_sample_images().images)
    patches = aekit.random_patches([china], 32, 4000, random_state=0)

    def scores(image):
        image = np.clip(image, 0, 1)[None]
        return (float(psnr(flower[None], image)),
                float(ssim(flower[None], image)))

    rows = []
    for sigma in (float(s) for s in args.sigmas.split(",")):
        noisy = np.clip(flower + np.random.default_rng(1).normal(0, sigma, flower.shape), 0,
                        1).astype(np.float32)
        aekit_results = {}
        for loss in args.losses.split(","):
            model = aekit.ConvAutoencoder(code="spatial", conv_channels=(64,), loss=loss,
                                          constraints=(aekit.GaussianNoise(sigma),),
                                          max_iter=args.epochs, random_state=0)
            start = time.perf_counter()
            model.fit(patches)
            seconds = time.perf_counter() - start
            name = f"aekit spatial, loss={loss} ({seconds:.0f} s training)"
            aekit_results[name] = model.reconstruct_image(noisy)
        blur_sigma = max((0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0), key=lambda s: scores(
            gaussian_filter(noisy, (0, s, s)))[0])
        methods = {
            "noisy input": noisy,
            **aekit_results,
            f"Gaussian blur, best sigma {blur_sigma}": gaussian_filter(noisy,
                                                                       (0, blur_sigma, blur_sigma)),
            "median 3x3": median_filter(noisy, (1, 3, 3)),
            "PCA on 8x8 patches": pca_patches(noisy, sigma),
        }
        results = {name: scores(image) for name, image in methods.items()}
        classical = max(v[0] for k, v in results.items() if not k.startswith(("aekit", "noisy")))
        for name, (p, s) in results.items():
            rows.append([f"{sigma:g}", name, f"{p:.2f}", f"{s:.3f}",
                         f"{p - classical:+.2f}" if name.startswith("aekit") else ""])
    print(format_table(["sigma", "method", "PSNR dB", "SSIM", "vs best classical"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
