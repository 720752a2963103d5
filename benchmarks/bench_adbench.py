"""ADBench, unsupervised protocol: aekit's default OutlierDetector against its peers.

For each dataset: fit on all of X (labels unused), score all of X, and report the ROC-AUC and the
average precision of the outlier scores against y, with the time to fit and score. Methods:

- ``aekit``: ``aekit.OutlierDetector(random_state=seed)``, all defaults.
- ``pyod_ae``: PyOD's ``AutoEncoder`` with its defaults (only ``verbose=0`` and the seed set).
- ``iforest``: scikit-learn's ``IsolationForest`` with its defaults.
- ``pca``: squared reconstruction error of a PCA keeping 90% of the variance of the
  standardized data.

Run::

    python benchmarks/bench_adbench.py ../shared/datasets/adbench
    python benchmarks/bench_adbench.py ../shared/datasets/adbench --max-samples 0   # full size
    python benchmarks/bench_adbench.py ../shared/datasets/adbench --methods aekit,iforest \
        --datasets cardio,thyroid --seeds 0,1,2

Datasets with more than ``--max-samples`` rows (default 50,000: celeba, cover, donors, http,
skin, smtp) are subsampled at random (seed 0) to that many rows; the output says which.
``--skip-large`` drops them instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

METHODS = ("aekit", "pyod_ae", "iforest", "pca")


# ---------------------------------------------------------------------------- data
def dataset_name(path: Path) -> str:
    """``6_cardio.npz`` -> ``cardio``."""
    stem = path.stem
    return stem.split("_", 1)[1] if "_" in stem and stem.split("_", 1)[0].isdigit() else stem


def dataset_paths(folder: Path) -> list[Path]:
    paths = sorted(folder.glob("*.npz"), key=lambda p: dataset_name(p).lower())
    if not paths:
        raise SystemExit(f"No .npz files in {folder}; pass the ADBench folder.")
    return paths


def load_dataset(path: Path, max_samples: int, seed: int = 0):
    """X (float32), y (0/1) and the original row count; subsampled to ``max_samples`` rows."""
    with np.load(path) as d:
        X, y = d["X"].astype(np.float32), d["y"].astype(np.int64).ravel()
    n = X.shape[0]
    if max_samples and n > max_samples:
        keep = np.sort(np.random.default_rng(seed).choice(n, max_samples, replace=False))
        X, y = X[keep], y[keep]
    return X, y, n


# ---------------------------------------------------------------------------- methods
def score_aekit(X, seed):
    from aekit import OutlierDetector

    t0 = time.perf_counter()
    scores = -OutlierDetector(random_state=seed).fit(X).score_samples(X)
    return scores, time.perf_counter() - t0


def score_pyod_ae(X, seed):
    from pyod.models.auto_encoder import AutoEncoder

    t0 = time.perf_counter()
    det = AutoEncoder(verbose=0, random_state=seed).fit(X)
    return det.decision_scores_, time.perf_counter() - t0  # fit scores the training rows


def score_iforest(X, seed):
    from sklearn.ensemble import IsolationForest

    t0 = time.perf_counter()
    scores = -IsolationForest(random_state=seed).fit(X).score_samples(X)
    return scores, time.perf_counter() - t0


def score_pca(X, seed):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    model = make_pipeline(StandardScaler(), PCA(n_components=0.9, random_state=seed)).fit(X)
    Z = model[0].transform(X)
    recon = model[1].inverse_transform(model[1].transform(Z))
    return ((Z - recon) ** 2).sum(axis=1), time.perf_counter() - t0


SCORERS = {
    "aekit": score_aekit,
    "pyod_ae": score_pyod_ae,
    "iforest": score_iforest,
    "pca": score_pca,
}


# ---------------------------------------------------------------------------- run
def evaluate(method: str, X, y, seeds) -> dict:
    aucs, aps, times = [], [], []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores, fit_time = SCORERS[method](X, seed)
        scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0, posinf=1e300)
        aucs.append(roc_auc_score(y, scores))
        aps.append(average_precision_score(y, scores))
        times.append(fit_time)
    return {"auc": float(np.mean(aucs)), "ap": float(np.mean(aps)), "fit_s": float(np.mean(times))}


def format_table(rows: list[dict], methods: list[str]) -> str:
    head = "| dataset | n | d | " + " | ".join(
        f"{m} AUC | {m} AP | {m} fit + score s" for m in methods
    ) + " |"
    sep = "|---|---:|---:|" + "---:|---:|---:|" * len(methods)
    lines = [head, sep]
    for r in rows:
        n = f"{r['n']}" + (f" (of {r['n_full']})" if r["n"] != r["n_full"] else "")
        cells = []
        for m in methods:
            res = r[m]
            cells += [f"{res['auc']:.3f}", f"{res['ap']:.3f}", f"{res['fit_s']:.2f}"]
        lines.append(f"| {r['dataset']} | {n} | {r['d']} | " + " | ".join(cells) + " |")
    means = []
    for m in methods:
        means += [
            f"**{np.mean([r[m]['auc'] for r in rows]):.3f}**",
            f"**{np.mean([r[m]['ap'] for r in rows]):.3f}**",
            f"{np.sum([r[m]['fit_s'] for r in rows]):.1f} (total)",
        ]
    lines.append(f"| **mean** ({len(rows)} datasets) | | | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder with the ADBench .npz files")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--datasets", default="",
                        help="comma-separated dataset names (e.g. cardio,thyroid); default all")
    parser.add_argument("--max-samples", type=int, default=50_000,
                        help="subsample larger datasets to this many rows (0: no limit)")
    parser.add_argument("--skip-large", action="store_true",
                        help="skip datasets larger than --max-samples instead of subsampling")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; scores are averaged")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every method (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)

    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"Unknown methods {sorted(unknown)}; choose from {METHODS}.")
    wanted = {d.lower() for d in args.datasets.split(",") if d}
    seeds = [int(s) for s in args.seeds.split(",")]
    paths = [p for p in dataset_paths(args.folder)
             if not wanted or dataset_name(p).lower() in wanted]

    rows, notes = [], []
    for path in paths:
        name = dataset_name(path)
        X, y, n_full = load_dataset(path, args.max_samples)
        if X.shape[0] < n_full:
            if args.skip_large:
                notes.append(f"skipped {name} ({n_full} rows > --max-samples {args.max_samples})")
                continue
            notes.append(f"subsampled {name}: {X.shape[0]} of {n_full} rows (seed 0)")
        row = {"dataset": name, "n": int(X.shape[0]), "n_full": int(n_full), "d": int(X.shape[1])}
        for m in methods:
            row[m] = evaluate(m, X, y, seeds)
        rows.append(row)
        summary = "  ".join(f"{m}: {row[m]['auc']:.3f} ({row[m]['fit_s']:.1f}s)" for m in methods)
        print(f"{name:18s} n={X.shape[0]:6d} d={X.shape[1]:5d}  {summary}", file=sys.stderr)

    print(f"\nADBench unsupervised protocol, seeds {seeds}, methods {methods}, "
          f"torch threads {args.threads}")
    for note in notes:
        print(f"note: {note}")
    print()
    print(format_table(rows, methods))
    if args.json is not None:
        args.json.write_text(json.dumps({"seeds": seeds, "notes": notes, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
