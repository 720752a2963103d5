"""The thread and precision policy (``aekit.training.runtime``) against every fixed choice.

For tiny, table-size and MNIST-size models, each training step is timed with 1 and 2 torch
threads, in float32 and (on CPUs with native bf16) in bf16 autocast, on an idle machine and with
one other CPU-bound process running. The table gives ms per step and, for ``auto`` (what
``n_threads=None, precision="auto"`` picks for that model), its time as a ratio of the fastest
fixed choice in the same run and condition: 1.00 means the policy picked the fastest.
``--accuracy`` adds the held-out MSE of float32 and bf16 training on MNIST (8,000 / 2,000 of the
test split) for the models where bf16 is a candidate.

Example::

    python benchmarks/bench_policy.py --data-dir ../shared/datasets/mnist --accuracy
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from _common import format_table, print_machine_info

from aekit import Autoencoder, ConvAutoencoder
from aekit.training import runtime

# name, rows per epoch, features, estimator class, parameters
MODELS = [
    ("digits 64-64-12, batch 64 (the demo)", 1344, 64, Autoencoder,
     dict(n_components=12, batch_size=64)),
    ("table 20-20-10, batch 256", 7680, 20, Autoencoder, dict(batch_size=256)),
    ("table 100-100-32, batch 256", 7680, 100, Autoencoder, dict(batch_size=256)),
    ("table 300-256-32, batch 256", 7680, 300, Autoencoder, dict(batch_size=256)),
    ("MNIST 784-256-32, batch 64", 1920, 784, Autoencoder,
     dict(n_components=32, hidden_layer_sizes=(256,), batch_size=64)),
    ("MNIST 784-256-32, batch 256", 7680, 784, Autoencoder,
     dict(n_components=32, hidden_layer_sizes=(256,), batch_size=256)),
    ("MNIST 784-512-256-32, batch 256", 7680, 784, Autoencoder,
     dict(n_components=32, hidden_layer_sizes=(512, 256), batch_size=256)),
    ("digits conv 8x8, batch 64", 1344, 64, ConvAutoencoder,
     dict(image_shape=(1, 8, 8), batch_size=64)),
    ("MNIST conv 28x28 (32, 64), batch 64", 1920, 784, ConvAutoencoder,
     dict(image_shape=(1, 28, 28), batch_size=64)),
]


def make(cls, params, **extra):
    return cls(**params, scaling="none", random_state=0, tol=0, n_iter_no_change=10_000, **extra)


def ms_per_step(cls, params, X, threads, precision, epochs) -> float:
    model = make(cls, params, max_iter=1, n_threads=threads, precision=precision).fit(X[:256])
    model = make(cls, params, max_iter=epochs, n_threads=threads, precision=precision)
    start = time.perf_counter()
    model.fit(X)
    steps = epochs * -(-len(X) // params["batch_size"])
    return 1e3 * (time.perf_counter() - start) / steps


def auto_choice(cls, params, X) -> tuple[int, str, float]:
    model = make(cls, params, max_iter=1).fit(X[:512])
    flops = model._workload.flops(params["batch_size"])
    return runtime.choose_threads(None, flops), model.precision_, flops


def run_condition(label: str, args, rng) -> list[list[str]]:
    rows = []
    bf16 = runtime.cpu_has_fast_bf16() or args.force_bf16
    for name, n_rows, n_features, cls, params in MODELS:
        X = rng.rand(n_rows, n_features).astype(np.float32)
        times = {}
        for precision in ("float32", "bfloat16") if bf16 else ("float32",):
            for threads in (1, 2):
                times[(threads, precision)] = min(
                    ms_per_step(cls, params, X, threads, precision, args.epochs)
                    for _ in range(args.repeats))
        threads, precision, flops = auto_choice(cls, params, X)
        best = min(times.values())
        auto = times[(min(threads, 2), precision)]
        cells = [f"{times[(t, p)]:.2f}" if (t, p) in times else "-"
                 for p in ("float32", "bfloat16") for t in (1, 2)]
        rows.append([name, label, f"{flops / 1e6:.1f}", *cells,
                     f"{threads} / {precision}", f"{auto / best:.2f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def accuracy(args) -> list[list[str]]:
    """Held-out MSE of float32 and bf16 training, in pixel units, on MNIST."""
    from aekit.datasets import load_mnist_like

    images = load_mnist_like(args.data_dir)[0]
    order = np.random.RandomState(0).permutation(len(images))
    train, test = images[order[:8000]], images[order[8000:10000]]
    rows = []
    for name, cls, params, epochs in [
        ("MNIST 784-256-32, batch 256", Autoencoder,
         dict(n_components=32, hidden_layer_sizes=(256,), batch_size=256), 20),
        ("MNIST 784-512-256-32, batch 256", Autoencoder,
         dict(n_components=32, hidden_layer_sizes=(512, 256), batch_size=256), 20),
        ("MNIST conv 28x28 (32, 64), batch 64", ConvAutoencoder,
         dict(image_shape=(1, 28, 28), batch_size=64), 5),
    ]:
        mse = {}
        for precision in ("float32", "bfloat16"):
            model = make(cls, params, max_iter=epochs, precision=precision).fit(train)
            mse[precision] = float(np.mean((model.reconstruct(test) - test) ** 2))
        change = 100 * (mse["bfloat16"] - mse["float32"]) / mse["float32"]
        rows.append([name, str(epochs), f"{mse['float32']:.5f}", f"{mse['bfloat16']:.5f}",
                     f"{change:+.1f}%"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", help="MNIST-style IDX folder, for --accuracy")
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--force-bf16", action="store_true",
                        help="time bf16 also on CPUs without native bf16 (emulated, slow)")
    parser.add_argument("--skip-busy", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    print("Machine:")
    print_machine_info()
    print(f"  THREADS_MIN_FLOPS={runtime.THREADS_MIN_FLOPS:.3g}, "
          f"BF16_MIN_FLOPS={runtime.BF16_MIN_FLOPS:.3g}")
    rng = np.random.RandomState(0)
    rows = run_condition("idle", args, rng)
    if not args.skip_busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            rows += run_condition("1 core busy", args, rng)
        finally:
            busy.kill()
    print()
    print(format_table(
        ["model", "machine", "MFLOP/step", "fp32 1 thr", "fp32 2 thr", "bf16 1 thr",
         "bf16 2 thr", "auto picks", "auto / fastest"], rows))
    if args.accuracy:
        print()
        print(format_table(["model", "epochs", "held-out MSE fp32", "held-out MSE bf16",
                            "bf16 vs fp32"], accuracy(args)))


if __name__ == "__main__":
    main()
