"""Dense and convolutional training throughput on the CPU and, where there is one, on CUDA in
float32 and bf16 mixed precision (issue 6's GPU check, prepared as one script).

Data: the MNIST-like images in ``--data-dir`` (flattened for the dense model, 1x28x28 for the
conv model), or random [0, 1] images with ``--synthetic``. Every configuration fits ``--epochs``
epochs after a one-epoch warm-up (CUDA kernels, autotuning) and reports images per second of
``fit`` and the final training loss (a bf16 run that diverges shows there):

* ``Autoencoder(n_components=32, hidden_layer_sizes=(256,), batch_size=--batch-size)``
* ``ConvAutoencoder(n_components=32, batch_size=--batch-size)``

on ``cpu`` (float32) and on ``cuda`` with ``precision="float32"`` and ``"bfloat16"``; the
"vs CPU" column divides by the CPU rate of the same model. Without CUDA the CUDA rows say so.

Example::

    python benchmarks/bench_devices.py --data-dir ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch
from _common import format_table, print_machine_info

from aekit import Autoencoder, ConvAutoencoder


def fit_rate(make, X, epochs: int) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(1).fit(X)  # warm-up
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        model = make(epochs).fit(X)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    return len(X) * epochs / (time.perf_counter() - start), model.loss_curve_[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with t10k-images-idx3-ubyte.gz")
    parser.add_argument("--synthetic", action="store_true", help="random images instead")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args(argv)
    if args.synthetic or not args.data_dir:
        X = np.random.RandomState(0).rand(args.rows, 784).astype(np.float32)
        source = "random [0, 1] images"
    else:
        from aekit.datasets import load_mnist_like

        X = load_mnist_like(args.data_dir)[0][: args.rows]
        source = args.data_dir
    images = X.reshape(-1, 1, 28, 28)
    print("Machine:")
    print_machine_info()
    cuda = torch.cuda.is_available()
    print(f"  cuda: {torch.cuda.get_device_name(0) if cuda else 'not available'}")
    print(f"Data: {len(X)} images from {source}; {args.epochs} epochs after a 1-epoch warm-up")

    models = {
        "dense 784-256-32": (lambda device, precision: lambda epochs: Autoencoder(
            32, hidden_layer_sizes=(256,), batch_size=args.batch_size, max_iter=epochs,
            tol=0.0, n_iter_no_change=10**6, device=device, precision=precision,
            random_state=0), X),
        "conv 1x28x28 -> 32": (lambda device, precision: lambda epochs: ConvAutoencoder(
            32, batch_size=args.batch_size, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
            device=device, precision=precision, random_state=0), images),
    }
    rows = []
    for name, (make, data) in models.items():
        cpu_rate, loss = fit_rate(make("cpu", "float32"), data, args.epochs)
        rows.append([name, "cpu", "float32", f"{cpu_rate:,.0f}", "1.00x", f"{loss:.4g}"])
        print(f"  {rows[-1]}", flush=True)
        for precision in ("float32", "bfloat16"):
            if not cuda:
                rows.append([name, "cuda", precision, "-", "-", "no CUDA device"])
                continue
            rate, loss = fit_rate(make("cuda", precision), data, args.epochs)
            rows.append([name, "cuda", precision, f"{rate:,.0f}", f"{rate / cpu_rate:.2f}x",
                         f"{loss:.4g}"])
            print(f"  {rows[-1]}", flush=True)
    print()
    print(format_table(["model", "device", "precision", "images/s", "vs CPU", "final loss"],
                       rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
