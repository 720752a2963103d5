"""Choosing how the detector learns text categories on tables that are not issue 13's report.

Issue 13's report tasks (NSL-KDD, bank marketing, census: ``bench_tables.py --only mixed``) must
not choose the detector's categorical encoding. This script builds other categorical tables with
real labels, and the choice is made here. The protocol, fixed before any result was looked at:

1. **Tables.** Each of the 35 ADBench tables (sorted by name; over 10,000 rows: a seeded sample
   of 10,000; over 60 columns: a seeded choice of 60; constant columns dropped) in two versions:

   * **categorical**: every column becomes text. A column with at most 10 distinct values
     keeps them as categories (``"v<value>"``); any other is cut into 5 quantile bins
     (``pandas.qcut``, duplicate edges merged), ``"bin0"`` .. ``"bin4"``. Bank marketing and
     census in the report are tables of this kind (their numbers binned into ranges).
   * **mixed**: the same, for every third column only (index 0, 3, 6, ...); the others stay
     numbers, as NSL-KDD's numbers sit beside its three text columns.

2. **Methods**, fit on all rows and scoring them (unsupervised), ROC-AUC and average precision
   against ADBench's labels, seed 0:

   * ``table``: ``OutlierDetector(random_state=0)`` on the DataFrame (today's table encoding:
     one-hot inputs, a softmax block per column, cross-entropy divided by the column's entropy);
   * ``onehot``: ``OutlierDetector(random_state=0)`` on the one-hot float array (the numeric
     path: each 0/1 slot scaled by its standard deviation, squared error), as the peers see it;
   * ``iforest``, ``pyod_ae``: ``IsolationForest()`` and PyOD's ``AutoEncoder()`` at their
     defaults on the one-hot array (what the report compares against).

   Added after those four were run (the table encoding came first, above ``onehot`` and both
   peers), each a variant of ``table`` along one axis, to choose the table path's own settings
   on these tasks rather than on the report's:

   * ``table no forest``: ``isolation_forest=False``;
   * ``table 100 steps``: the numeric tables' budget of about 100 gradient steps (at least 5
     epochs) instead of 1,000 (``table`` was 15x slower than ``onehot`` in the first run);
   * ``table unweighted``: each categorical column's cross-entropy not divided by its entropy.

3. **Decision.** The encoding with the higher mean ROC-AUC over the 70 tasks is the one the
   detector should use; the report tasks are then run once, as a check it was not chosen on.

Results are appended, one JSON line per (method, table, version), to ``--results``, so a run
resumes; ``--report`` prints the means without refitting.

Run::

    python benchmarks/bench_categorical_design.py ../shared/datasets/adbench
    python benchmarks/bench_categorical_design.py ../shared/datasets/adbench --report
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import format_table, print_machine_info
from sklearn.metrics import average_precision_score, roc_auc_score

MAX_ROWS, MAX_COLUMNS, SEED = 10_000, 60, 0
VERSIONS = ("categorical", "mixed")


def tables(folder: Path):
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stem.split("_", 1)[-1].lower()):
        with np.load(path) as data:
            X, y = data["X"].astype(np.float64), data["y"].astype(int).ravel()
        rng = np.random.default_rng(SEED)
        if len(X) > MAX_ROWS:
            keep = np.sort(rng.choice(len(X), MAX_ROWS, replace=False))
            X, y = X[keep], y[keep]
        X = X[:, X.std(axis=0) > 0]
        if X.shape[1] > MAX_COLUMNS:
            X = X[:, np.sort(rng.choice(X.shape[1], MAX_COLUMNS, replace=False))]
        yield path.stem.split("_", 1)[-1], X, y


def as_text(column: np.ndarray) -> pd.Series:
    values = pd.Series(column)
    if values.nunique() <= 10:
        return values.map(lambda v: f"v{v:g}")
    bins = pd.qcut(values, q=5, labels=False, duplicates="drop")
    return bins.map(lambda b: f"bin{int(b)}")


def version(X: np.ndarray, kind: str) -> pd.DataFrame:
    frame = {}
    for j in range(X.shape[1]):
        name = f"c{j}"
        frame[name] = as_text(X[:, j]) if kind == "categorical" or j % 3 == 0 else X[:, j]
    return pd.DataFrame(frame)


def one_hot(frame: pd.DataFrame) -> np.ndarray:
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return pd.get_dummies(frame, columns=text, dtype=np.float32).to_numpy(np.float32)


def table_scores(frame: pd.DataFrame, variant: str) -> np.ndarray:
    from aekit import OutlierDetector
    from aekit.estimators import table

    class Detector(OutlierDetector):
        if variant == "100 steps":
            _unstudied_step_budget = 100

    init = table.TableLoss.__init__

    def unweighted(self, encoder):
        init(self, encoder)
        self.blocks = [(a, b, 1.0) for a, b, _ in self.blocks]

    params = {"isolation_forest": False} if variant == "no forest" else {}
    if variant == "unweighted":
        table.TableLoss.__init__ = unweighted
    try:
        detector = Detector(random_state=SEED, **params).fit(frame)
        return -detector.score_samples(frame)
    finally:
        table.TableLoss.__init__ = init


def scores_of(method: str, frame: pd.DataFrame) -> np.ndarray:
    if method.startswith("table"):
        return table_scores(frame, method[len("table "):])
    X = one_hot(frame)
    if method == "onehot":
        from aekit import OutlierDetector

        return -OutlierDetector(random_state=SEED).fit(X).score_samples(X)
    if method == "iforest":
        from sklearn.ensemble import IsolationForest

        return -IsolationForest(random_state=SEED).fit(X).score_samples(X)
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(verbose=0, random_state=SEED).fit(X).decision_function(X)


def run(folder: Path, results: Path, methods: list[str]) -> None:
    done = set()
    if results.exists():
        for line in results.read_text().splitlines():
            row = json.loads(line)
            done.add((row["method"], row["table"], row["version"]))
    for name, X, y in tables(folder):
        for kind in VERSIONS:
            frame = version(X, kind)
            for method in methods:
                if (method, name, kind) in done:
                    continue
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores = scores_of(method, frame)
                row = {"method": method, "table": name, "version": kind,
                       "roc_auc": float(roc_auc_score(y, scores)),
                       "ap": float(average_precision_score(y, scores)),
                       "seconds": time.perf_counter() - start}
                with results.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name} | {kind} | {method} | {row['roc_auc']:.4f} | {row['ap']:.4f} | "
                      f"{row['seconds']:.1f}", flush=True)


def report(results: Path) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    methods = sorted({r["method"] for r in rows})
    out = []
    for kind in (*VERSIONS, "all"):
        for method in methods:
            mine = [r for r in rows if r["method"] == method and kind in ("all", r["version"])]
            out.append([kind, method, str(len(mine)),
                        f"{np.mean([r['roc_auc'] for r in mine]):.4f}",
                        f"{np.mean([r['ap'] for r in mine]):.4f}",
                        f"{np.mean([r['seconds'] for r in mine]):.1f}"])
    print(format_table(["version", "method", "tasks", "mean ROC-AUC", "mean AP", "s"], out))
    by = {(r["method"], r["table"], r["version"]): r["roc_auc"] for r in rows}
    if {"table", "onehot"} <= set(methods):
        pairs = [(by[("table", t, v)], by[("onehot", t, v)]) for (m, t, v) in by
                 if m == "table" and ("onehot", t, v) in by]
        better = sum(b > a for a, b in pairs)
        print(f"onehot above table on {better} of {len(pairs)} tasks")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adbench", type=Path, help="the ADBench folder (*.npz)")
    parser.add_argument("--results", type=Path,
                        default=Path(__file__).parent / "results" / "categorical_design.jsonl")
    parser.add_argument("--methods", nargs="+", default=["table", "onehot", "iforest",
                                                         "pyod_ae"])
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if not args.report:
        print("Machine:")
        print_machine_info()
        args.results.parent.mkdir(parents=True, exist_ok=True)
        run(args.adbench, args.results, args.methods)
    report(args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
