"""Real tables (issue 13): mixed types, gaps, imputation; aekit against its peers in one run.

Three benchmarks (``--only mixed|gaps|impute``, default all):

* **mixed**: anomaly detection on tables with text categories. NSL-KDD's 20% file (41
  features, 3 categorical), semi-supervised (train on a seeded half of the normal rows, score the
  other half and every attack; attacks are the anomalies) and unsupervised (fit and score every
  row); the all-categorical bank-marketing (41,188 rows) and census (a seeded sample of 50,000
  of its 299,285 rows) tables, unsupervised, the minority class as the anomalies. aekit's
  ``OutlierDetector(random_state=seed)`` takes the raw table (a DataFrame with text);
  IsolationForest and PyOD's ``AutoEncoder`` (their defaults) take it one-hot encoded
  (``OneHotEncoder(handle_unknown="ignore")``, numeric columns as they are; PyOD standardizes).
* **gaps**: the 35 ADBench tables with 10% of the entries removed at random (seeded, MCAR):
  aekit's detector on the data with gaps against ``SimpleImputer()`` + ``IsolationForest()``,
  unsupervised (fit on all rows, score them); tables over 50,000 rows are subsampled to 50,000.
* **impute**: each ADBench table (subsampled to at most 3,000 rows, seeded) with 20% of its
  entries hidden at random; RMSE on the hidden entries in standardized units (each column
  divided by its standard deviation on the complete table), and the time, of
  ``AutoencoderImputer(random_state=seed)`` against ``SimpleImputer(strategy="mean")``,
  ``KNNImputer()`` and ``IterativeImputer(random_state=seed)``.

Example::

    python benchmarks/bench_tables.py --shared ../shared/datasets --seeds 0
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import format_table, print_machine_info
from sklearn.metrics import average_precision_score, roc_auc_score

NSL_COLUMNS = (
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
    "num_failed_logins logged_in num_compromised root_shell su_attempted num_root "
    "num_file_creations num_shells num_access_files num_outbound_cmds is_host_login "
    "is_guest_login count srv_count serror_rate srv_serror_rate rerror_rate srv_rerror_rate "
    "same_srv_rate diff_srv_rate srv_diff_host_rate dst_host_count dst_host_srv_count "
    "dst_host_same_srv_rate dst_host_diff_srv_rate dst_host_same_src_port_rate "
    "dst_host_srv_diff_host_rate dst_host_serror_rate dst_host_srv_serror_rate "
    "dst_host_rerror_rate dst_host_srv_rerror_rate label difficulty"
).split()


# ---------------------------------------------------------------------------- data
def nsl_kdd(shared: Path):
    frame = pd.read_csv(shared / "nsl-kdd" / "KDDTrain+_20Percent.txt", header=None,
                        names=NSL_COLUMNS)
    y = (frame.pop("label") != "normal").astype(int).to_numpy()
    frame.pop("difficulty")
    return frame, y


def _arff(handle):
    from scipy.io import arff

    data, _ = arff.loadarff(handle)
    frame = pd.DataFrame(data).apply(lambda c: c.str.decode("utf-8"))
    return frame


def bank(shared: Path):
    frame = _arff(shared / "categorical" / "bank-additional-ful-nominal.arff")
    y = (frame.pop(frame.columns[-1]) == "yes").astype(int).to_numpy()
    return frame, y


def census(shared: Path, rows: int = 50_000, seed: int = 0):
    import io

    with tarfile.open(shared / "categorical" / "census-income-full-nominal.tar.xz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".arff"))
        text = tar.extractfile(member).read().decode("utf-8")
    frame = _arff(io.StringIO(text))
    y = (frame.pop(frame.columns[-1]).str.strip() == "50000+.").astype(int).to_numpy()
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True), y[keep]


def one_hot(train: pd.DataFrame, test: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    text = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    encoder = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore",
                                                        sparse_output=False), text)],
                                remainder="passthrough")
    return encoder.fit_transform(train).astype(np.float32), \
        encoder.transform(test).astype(np.float32)


# ---------------------------------------------------------------------------- methods
def aekit_scores(train, test, seed):
    from aekit import OutlierDetector

    start = time.perf_counter()
    det = OutlierDetector(random_state=seed).fit(train)
    return -det.score_samples(test), time.perf_counter() - start


def iforest_scores(train, test, seed):
    from sklearn.ensemble import IsolationForest

    start = time.perf_counter()
    a, b = one_hot(train, test)
    forest = IsolationForest(random_state=seed).fit(a)
    return -forest.score_samples(b), time.perf_counter() - start


def pyod_scores(train, test, seed):
    from pyod.models.auto_encoder import AutoEncoder

    start = time.perf_counter()
    a, b = one_hot(train, test)
    model = AutoEncoder(verbose=0, random_state=seed).fit(a)
    return model.decision_function(b), time.perf_counter() - start


MIXED_METHODS = {"aekit": aekit_scores, "iforest": iforest_scores, "pyod_ae": pyod_scores}


def run_mixed(args) -> list[list[str]]:
    rows = []
    for seed in args.seeds:
        tasks = []
        frame, y = nsl_kdd(args.shared)
        normal = np.flatnonzero(y == 0)
        rng = np.random.default_rng(seed)
        train_rows = np.sort(rng.choice(normal, len(normal) // 2, replace=False))
        test_rows = np.setdiff1d(np.arange(len(y)), train_rows)
        tasks.append(("NSL-KDD, train on half the normal rows", frame.iloc[train_rows],
                      frame.iloc[test_rows], y[test_rows]))
        tasks.append(("NSL-KDD, unsupervised", frame, frame, y))
        for name, loader in (("bank marketing, unsupervised", bank),
                             ("census (50,000 rows), unsupervised", census)):
            table, labels = loader(args.shared)
            tasks.append((name, table, table, labels))
        for name, train, test, labels in tasks:
            for method, fn in MIXED_METHODS.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores, seconds = fn(train, test, seed)
                auc = roc_auc_score(labels, scores)
                ap = average_precision_score(labels, scores)
                rows.append([name, str(seed), method, f"{auc:.4f}", f"{ap:.4f}",
                             f"{seconds:.1f}"])
                print(" | ".join(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------------- gaps
def adbench(shared: Path, max_rows: int, seed: int = 0):
    for path in sorted((shared / "adbench").glob("*.npz"),
                       key=lambda p: p.stem.split("_", 1)[-1].lower()):
        with np.load(path) as data:
            X, y = data["X"].astype(np.float64), data["y"].astype(int).ravel()
        if len(X) > max_rows:
            keep = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
            X, y = X[keep], y[keep]
        yield path.stem.split("_", 1)[-1], X, y


def run_gaps(args) -> list[list[str]]:
    from sklearn.ensemble import IsolationForest
    from sklearn.impute import SimpleImputer

    from aekit import OutlierDetector

    rows = []
    for seed in args.seeds:
        for name, X, y in adbench(args.shared, 50_000):
            if args.datasets and name not in args.datasets:
                continue
            holes = np.random.default_rng(seed).random(X.shape) < 0.10
            gappy = np.where(holes, np.nan, X)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = -OutlierDetector(random_state=seed).fit(gappy).score_samples(gappy)
            t_ours = time.perf_counter() - start
            start = time.perf_counter()
            filled = SimpleImputer().fit_transform(gappy)
            theirs = -IsolationForest(random_state=seed).fit(filled).score_samples(filled)
            t_theirs = time.perf_counter() - start
            rows.append([name, str(seed), f"{roc_auc_score(y, ours):.4f}",
                         f"{roc_auc_score(y, theirs):.4f}",
                         f"{average_precision_score(y, ours):.4f}",
                         f"{average_precision_score(y, theirs):.4f}",
                         f"{t_ours:.1f}", f"{t_theirs:.1f}"])
            print(" | ".join(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------------- impute
def run_impute(args) -> list[list[str]]:
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    from aekit import AutoencoderImputer

    rows = []
    for seed in args.seeds:
        for name, X, _ in adbench(args.shared, 3_000, seed):
            if args.datasets and name not in args.datasets:
                continue
            std = X.std(axis=0)
            keep = std > 0
            X = (X[:, keep] - X[:, keep].mean(axis=0)) / std[keep]
            hidden = np.random.default_rng(seed + 1).random(X.shape) < 0.20
            gappy = np.where(hidden, np.nan, X)
            results = []
            for _method, imputer in (
                ("aekit", AutoencoderImputer(random_state=seed)),
                ("mean", SimpleImputer(strategy="mean")),
                ("knn", KNNImputer()),
                ("iterative", IterativeImputer(random_state=seed)),
            ):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    filled = np.asarray(imputer.fit_transform(gappy), dtype=np.float64)
                seconds = time.perf_counter() - start
                rmse = float(np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2)))
                results += [f"{rmse:.4f}", f"{seconds:.1f}"]
            rows.append([name, str(seed), *results])
            print(" | ".join(rows[-1]), flush=True)
    return rows


def mean_row(rows, first: int, label: str) -> list[str]:
    values = np.array([[float(v) for v in r[first:]] for r in rows])
    return [label, "", *[f"{v:.4f}" for v in values.mean(axis=0)]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared datasets folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", choices=["mixed", "gaps", "impute"], nargs="+",
                        default=["mixed", "gaps", "impute"])
    parser.add_argument("--datasets", nargs="*", help="ADBench names (default: all 35)")
    args = parser.parse_args(argv)
    print("Machine:")
    print_machine_info()
    if "mixed" in args.only:
        rows = run_mixed(args)
        print(format_table(["task", "seed", "method", "ROC-AUC", "AP", "fit + score s"], rows))
    if "gaps" in args.only:
        rows = run_gaps(args)
        rows.append(mean_row(rows, 2, "mean"))
        print(format_table(["table", "seed", "aekit ROC-AUC", "impute+IForest ROC-AUC",
                            "aekit AP", "impute+IForest AP", "aekit s", "impute+IForest s"],
                           rows))
    if "impute" in args.only:
        rows = run_impute(args)
        rows.append(mean_row(rows, 2, "mean"))
        print(format_table(["table", "seed", "aekit RMSE", "s", "mean RMSE", "s", "KNN RMSE",
                            "s", "iterative RMSE", "s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
