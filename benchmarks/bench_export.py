"""Scoring throughput of an exported detector in onnxruntime vs ``OutlierDetector.score_samples``.

Issue 17's target: the ONNX graph scores at least as fast as the estimator, on one CPU thread,
for a table and for images. Both score the same rows in the same run (best of ``--repeats``,
after one warm-up); the outputs are checked to agree first.

- table: ADBench ``32_shuttle`` (49,097 rows x 9), the default ``OutlierDetector``;
- images: the Fashion-MNIST test split (10,000 x 784), ``OutlierDetector(ConvAutoencoder())``.

Run::

    python benchmarks/bench_export.py --adbench ../shared/datasets/adbench \\
        --images ../shared/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import format_table, print_machine_info


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name: str, detector, X: np.ndarray, repeats: int, batch: int) -> list:
    import onnxruntime

    import aekit

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        aekit.export_onnx(detector, path, X=X[:1000])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
    rows = X.astype(np.float32)

    def onnx_scores():
        return np.concatenate([session.run(["score"], {"input": rows[i:i + batch]})[0]
                               for i in range(0, len(rows), batch)])

    def aekit_scores():
        return -detector.score_samples(X)

    gap = np.abs(onnx_scores() - aekit_scores()).max() / np.abs(aekit_scores()).max()
    t_onnx, t_aekit = best_seconds(onnx_scores, repeats), best_seconds(aekit_scores, repeats)
    return [name, f"{len(X):,}", f"{len(X) / t_aekit:,.0f}", f"{len(X) / t_onnx:,.0f}",
            f"{t_aekit / t_onnx:.2f}x", f"{gap:.1e}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adbench", type=Path, required=True, help="folder of ADBench .npz")
    parser.add_argument("--images", type=Path, required=True,
                        help="MNIST-style folder (t10k-images-idx3-ubyte.gz)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4096, help="rows per onnxruntime call")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch

    from aekit import ConvAutoencoder, OutlierDetector
    from aekit.datasets import load_mnist_like

    torch.set_num_threads(1)  # aekit uses at most torch's threads; onnxruntime: 1 below
    print_machine_info()
    rows = []
    with np.load(args.adbench / "32_shuttle.npz") as data:
        table = data["X"].astype(np.float64)
    detector = OutlierDetector(random_state=0).fit(table)
    rows.append(measure("table: shuttle, default detector", detector, table, args.repeats,
                        args.batch))
    images, _ = load_mnist_like(args.images)
    conv = OutlierDetector(ConvAutoencoder(max_iter=3), random_state=0).fit(images)
    rows.append(measure("images: Fashion-MNIST, conv detector", conv, images, args.repeats,
                        args.batch))
    print(format_table(["data", "rows", "aekit rows/s", "onnxruntime rows/s",
                        "onnxruntime / aekit", "max score gap"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
