"""Choosing OutlierDetector's defaults honestly (issue 19): cross-validation over datasets.

The protocol, fixed before any result was looked at:

1. **Folds.** The 35 ADBench tables, sorted by name, are permuted with
   ``numpy.random.default_rng(2026)`` and cut into 5 folds of 7 (``FOLDS`` below prints them).
2. **Candidates.** ``CANDIDATES``: the current default and variants of it along the axes the
   issue names (the score: reconstruction, + Mahalanobis, + kNN of the code, all three;
   ensembles of 5 members, by seed and by seed and code size; a budget of 3,000 steps instead of
   1,000; trimming the 5% worst-reconstructed training rows for a second phase). Added
   later (issue 16): "vae elbo", a variational member scored by its negative ELBO; and more
   after each report, each commented where it is defined (``CANDIDATES``), as were the two
   constraints added to step 4 (``report``).
3. **Unsupervised runs.** Each candidate and each baseline is fit on all rows of a table and
   scores them; ROC-AUC and average precision against the labels; seeds 0, 1, 2; tables over
   50,000 rows are subsampled (seeded) to 50,000.
4. **Selection.** For each fold, the candidate with the best mean ROC-AUC over the other four
   folds' tables (and seeds) is chosen and scored on the fold's own tables: the mean of those
   held-out scores over the 35 tables is the out-of-sample estimate. The shipped default is the
   candidate the same rule chooses on all 35 tables.

Results are appended, one JSON line per (method, table, seed), to ``--results`` so that a run
can be resumed and ``--report`` can analyse it without refitting. ``--jobs 2`` runs two worker
processes of one torch thread each.

Run::

    python benchmarks/bench_detector_design.py ../shared/datasets/adbench --jobs 2
    python benchmarks/bench_detector_design.py ../shared/datasets/adbench --report
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SEEDS = (0, 1, 2)
MAX_ROWS = 50_000
CANDIDATES = {
    "combined": dict(anomaly_score="combined"),  # the default before this study
    "reconstruction": dict(anomaly_score="reconstruction"),
    "knn": dict(anomaly_score="knn"),
    "all": dict(anomaly_score="all"),
    "combined x5": dict(anomaly_score="combined", n_estimators=5),
    "knn x5": dict(anomaly_score="knn", n_estimators=5),
    "all x5 diverse": dict(anomaly_score="all", n_estimators=5, _diverse=True),
    "combined 3000 steps": dict(anomaly_score="combined", _step_budget=3000),
    "knn 3000 steps": dict(anomaly_score="knn", _step_budget=3000),
    "combined trim 5%": dict(anomaly_score="combined", trim=0.05),
    "knn trim 5%": dict(anomaly_score="knn", trim=0.05),
    "vae elbo": dict(anomaly_score="elbo"),  # issue 16: a variational member, -ELBO
    # added after trim 5% was chosen, to see whether more trimming or 2 members pay
    "combined trim 10%": dict(anomaly_score="combined", trim=0.10),
    "combined trim 5% x2": dict(anomaly_score="combined", trim=0.05, n_estimators=2),
    # added after bench_tables showed robust scaling failing on NSL-KDD (issue 13)
    "combined trim 10% standard": dict(anomaly_score="combined", trim=0.10, scaling="standard"),
    # added after an in-sample look at the 35 tables (seeds 0-2: the default's scores and
    # IsolationForest's, summed as ranks, z-scores or median/IQR-standardized scores): the
    # median/IQR sum, the one of the three that also scores new rows beyond the training range
    "combined trim 10% + forest": dict(anomaly_score="combined", trim=0.10,
                                       isolation_forest=True),
    # added for the per-table speed target (wide tables such as InternetAds): narrower members
    "trim 10% + forest, hidden <= 128": dict(anomaly_score="combined", trim=0.10,
                                             isolation_forest=True, _max_hidden=128),
    "trim 10% + forest, hidden <= 64": dict(anomaly_score="combined", trim=0.10,
                                            isolation_forest=True, _max_hidden=64),
    # added for the per-table speed target, after the forest grew its own trees (5x faster
    # than scikit-learn's): fewer steps on small tables, and a compute cap on wide ones
    "trim 10% + forest, 300 steps": dict(anomaly_score="combined", trim=0.10,
                                         isolation_forest=True, _step_budget=300),
    "trim 10% + forest, 300 steps, 3e9 MACs": dict(anomaly_score="combined", trim=0.10,
                                                   isolation_forest=True, _step_budget=300,
                                                   _compute_budget=3e9),
    "trim 10% + forest, 200 steps, 3e9 MACs": dict(anomaly_score="combined", trim=0.10,
                                                   isolation_forest=True, _step_budget=200,
                                                   _compute_budget=3e9),
    # the shipped rules exactly ("auto": a table in [0, 1] with >= 256 features, InternetAds
    # here, is taken for images: no trim, no forest, reconstruction error, 1,000 steps), with
    # the old budget and with the new one
    "auto rules, 1000 steps": dict(anomaly_score="auto", trim="auto", isolation_forest="auto",
                                   _step_budget=1000, _compute_budget=None),
    "auto rules, 200 steps, 3e9 MACs": dict(anomaly_score="auto", trim="auto",
                                            isolation_forest="auto", _step_budget=200,
                                            _compute_budget=3e9),
    # added after the AP deficit was traced to tables where the forest is near perfect and the
    # sum of standardized scores lets the autoencoder's heavy tail in: Fisher's combination
    "auto rules, 200 steps, 3e9 MACs, Fisher": dict(anomaly_score="auto", trim="auto",
                                                    isolation_forest="auto", _step_budget=200,
                                                    _compute_budget=3e9,
                                                    _forest_blend="fisher"),
    # added for the per-table speed target on InternetAds (PyOD 1.5 s, aekit 4 s on the image
    # path) and musk (2.9x): a table of 0/1 flags is a table (the image rule asks for grey
    # levels, as celeba and campaign, 0/1 tables under 256 columns, were always tables), and
    # smaller compute caps
    **{f"0/1 tables, {steps} steps, {macs:.2g} MACs, Fisher": dict(
        anomaly_score="auto", trim="auto", isolation_forest="auto", _step_budget=steps,
        _compute_budget=macs, _forest_blend="fisher", _binary_is_image=False)
       for steps, macs in ((200, 3e9), (200, 1.5e9), (200, 1e9), (100, 1e9))},
    # added (issue 13's table tests) after seeing Fisher's -log p capped at the training
    # maximum: the shipped rules with an exponential tail past it (peaks over the 90% knot)
    "0/1 tables, 100 steps, 1e+09 MACs, Fisher tail": dict(
        anomaly_score="auto", trim="auto", isolation_forest="auto", _step_budget=100,
        _compute_budget=1e9, _forest_blend="fisher tail", _binary_is_image=False),
}
BASELINES = ("iforest", "pyod_ae", "pyod_vae", "ecod", "pca")


def names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.npz"))


def folds(folder: Path) -> list[list[str]]:
    order = np.random.default_rng(2026).permutation(names(folder))
    return [sorted(order[i::5].tolist()) for i in range(5)]


def load(folder: Path, name: str, seed: int):
    with np.load(folder / f"{name}.npz") as data:
        X, y = data["X"].astype(np.float32), data["y"].astype(np.int64).ravel()
    if len(X) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X[keep], y[keep]
    return X, y


def scores_of(method: str, X: np.ndarray, seed: int) -> np.ndarray:
    if method in CANDIDATES:
        from aekit import OutlierDetector

        # as measured: before trim, the forest and the 200-step budget became defaults
        params = {"trim": 0.0, "isolation_forest": False, **CANDIDATES[method]}
        knobs = {"_step_budget": 1000, "_compute_budget": None,  # the budget before them
                 "_forest_blend": "z",  # and the median/IQR sum before Fisher's
                 "_binary_is_image": True,  # and 0/1 tables of >= 256 columns as images
                 **{k: params.pop(k) for k in list(params) if k.startswith("_")}}
        detector = OutlierDetector(random_state=seed, **params)
        for key, value in knobs.items():
            setattr(detector, key, value)
        return -detector.fit(X).score_samples(X)
    if method == "iforest":
        from sklearn.ensemble import IsolationForest

        return -IsolationForest(random_state=seed).fit(X).score_samples(X)
    if method == "pyod_ae":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(verbose=0, random_state=seed).fit(X).decision_scores_
    if method == "pyod_vae":
        from pyod.models.vae import VAE

        return VAE(verbose=0, random_state=seed).fit(X).decision_scores_
    if method == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD().fit(X).decision_scores_
    if method == "pca":
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        Z = StandardScaler().fit_transform(X)
        pca = PCA(0.9, random_state=seed).fit(Z)
        return ((pca.inverse_transform(pca.transform(Z)) - Z) ** 2).sum(axis=1)
    raise ValueError(method)


def warm_up() -> None:
    """Each worker pays torch's one-off start-up (oneDNN kernels, about 1 s) before its first
    timed run, so that the first table of a method is not charged for it."""
    import torch

    from aekit import OutlierDetector

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    OutlierDetector(random_state=0).fit(X).score_samples(X)


def run_one(task):
    folder, method, name, seed = task
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X, y = load(Path(folder), name, seed)
    start = time.perf_counter()
    scores = np.nan_to_num(np.asarray(scores_of(method, X, seed), dtype=np.float64),
                           nan=0.0, posinf=1e300)
    seconds = time.perf_counter() - start
    return {"method": method, "table": name, "seed": seed, "seconds": seconds,
            "auc": float(roc_auc_score(y, scores)), "ap": float(average_precision_score(y, scores))}


def load_results(path: Path) -> dict[tuple[str, str, int], dict]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            out[(row["method"], row["table"], row["seed"])] = row
    return out


def mean_of(results, method, tables, key="auc") -> float:
    values = [results[(method, t, s)][key] for t in tables for s in SEEDS
              if (method, t, s) in results]
    return float(np.mean(values)) if values else float("nan")


def speed_ratio(results, method, tables, baseline="pyod_ae") -> float:
    """PyOD AutoEncoder's total fit + score seconds over ``method``'s, on ``tables``."""
    ours = sum(results[(method, t, s)]["seconds"] for t in tables for s in SEEDS)
    theirs = sum(results[(baseline, t, s)]["seconds"] for t in tables for s in SEEDS)
    return theirs / ours


def taken_for_images(X: np.ndarray, binary_is_image: bool) -> bool:
    """OutlierDetector's rule for images: values in [0, 1] and at least 256 features (and,
    unless ``binary_is_image`` as before step 6 of the README, grey levels among them)."""
    from aekit.estimators.outlier_members import looks_like_images

    return looks_like_images(X, float(X.min()), float(X.max()), X.shape[1], binary_is_image)


def binary_is_image(method: str) -> bool:
    """Whether ``method`` ran the image rule that took 0/1 tables for images."""
    return CANDIDATES.get(method, {}).get("_binary_is_image", True)


def slow_tables(results, method, tables, baseline="pyod_ae") -> list[str]:
    """Tables where PyOD takes >= 1 s and ``method`` is less than 5x faster (seed means)."""
    out = []
    for t in tables:
        theirs = np.mean([results[(baseline, t, s)]["seconds"] for s in SEEDS])
        ours = np.mean([results[(method, t, s)]["seconds"] for s in SEEDS])
        if theirs >= 1.0 and theirs / ours < 5.0:
            out.append(t)
    return out


def report(folder: Path, results) -> None:
    """Selection by step 4, among the candidates that keep issue 19's speed target: fit + score
    at least 5x faster than PyOD's AutoEncoder in total on the tables the rule sees (added to
    the rule after the first report, which chose a 5-member ensemble 2x slower than PyOD) and
    on each of them where PyOD takes at least 1 s (the issue's per-table part, added later,
    when the first candidates that meet it were measured), tables the detector takes for images
    left out (``taken_for_images``: the image path, 1,000 steps, is outside this study); where no
    candidate meets the per-table part, those that miss it on the fewest tables (until PyOD was
    timed again in the same session as the ``0/1 tables`` candidates, and InternetAds was then
    under 5x for every candidate, even ECOD: the total alone), and where none meets the total,
    any.
    Among those, the issue's AP target is a constraint too (added with the Fisher candidate):
    mean AP at least IsolationForest's on the same tables, where any candidate has it."""
    from _common import format_table

    all_tables = names(folder)
    candidates = [m for m in CANDIDATES if all((m, t, s) in results
                                               for t in all_tables for s in SEEDS)]
    timed = all(("pyod_ae", t, s) in results for t in all_tables for s in SEEDS)
    rows, held_auc, held_ap, chosen = [], {}, {}, []
    images = {flag: set() for flag in (False, True)}  # tables taken for images, by rule
    for t in all_tables:
        X = load(folder, t, 0)[0]
        for flag in images:
            if taken_for_images(X, flag):
                images[flag].add(t)
    image_like = {m: images[binary_is_image(m)] for m in candidates}

    def pick(tables):
        fast = [m for m in candidates if not timed or speed_ratio(results, m, tables) >= 5.0]
        slow = {m: len(slow_tables(results, m, [t for t in tables if t not in image_like[m]]))
                if timed else 0 for m in fast}  # the image path is not studied
        pool = [m for m in fast if slow[m] == min(slow.values(), default=0)] or candidates
        forest_ap = mean_of(results, "iforest", tables, "ap")
        precise = [m for m in pool if mean_of(results, m, tables, "ap") >= forest_ap]
        return max(precise or pool,
                   key=lambda m: (mean_of(results, m, tables), mean_of(results, m, tables, "ap")))

    for k, fold in enumerate(folds(folder)):
        best = pick([t for t in all_tables if t not in fold])
        chosen.append(best)
        for t in fold:
            held_auc[t] = mean_of(results, best, [t])
            held_ap[t] = mean_of(results, best, [t], "ap")
        line = [f"fold {k + 1}", best, f"{np.mean([held_auc[t] for t in fold]):.4f}",
                f"{np.mean([held_ap[t] for t in fold]):.4f}"]
        for b in BASELINES:
            line += [f"{mean_of(results, b, fold):.4f}", f"{mean_of(results, b, fold, 'ap'):.4f}"]
        rows.append(line)
    total = ["all 35 (out of sample)", "", f"{np.mean(list(held_auc.values())):.4f}",
             f"{np.mean(list(held_ap.values())):.4f}"]
    for b in BASELINES:
        total += [f"{mean_of(results, b, all_tables):.4f}",
                  f"{mean_of(results, b, all_tables, 'ap'):.4f}"]
    rows.append(total)
    header = ["fold", "chosen on the other folds", "aekit AUC", "aekit AP"]
    for b in BASELINES:
        header += [f"{b} AUC", f"{b} AP"]
    print(format_table(header, rows))
    shipped = pick(all_tables)
    print(f"\nChosen per fold: {chosen}; on all 35 tables (the shipped default): {shipped}")
    print("\nEvery candidate on all 35 tables (in-sample, for reference):")
    table = []
    for m in candidates + list(BASELINES):
        line = [m, f"{mean_of(results, m, all_tables):.4f}",
                f"{mean_of(results, m, all_tables, 'ap'):.4f}",
                f"{mean_of(results, m, all_tables, 'seconds'):.2f}"]
        if timed and all((m, t, s) in results for t in all_tables for s in SEEDS):
            slow = slow_tables(results, m, all_tables)
            line += [f"{speed_ratio(results, m, all_tables):.1f}x",
                     ", ".join(slow) if slow else "none"]
        else:
            line += ["", ""]
        table.append(line)
    print(format_table(["candidate", "mean AUC", "mean AP", "mean seconds",
                        "PyOD AE time / this", "tables (PyOD >= 1 s) under 5x"], table))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--results", type=Path,
                        default=Path(__file__).parent / "results" / "detector_design.jsonl")
    parser.add_argument("--methods", nargs="*", default=[*CANDIDATES, *BASELINES])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="analyse the results only")
    args = parser.parse_args(argv)
    if args.report:
        report(args.folder, load_results(args.results))
        return 0
    print("Folds:", json.dumps(folds(args.folder)))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    done = load_results(args.results)
    tasks = [(str(args.folder), m, t, s) for m in args.methods for t in names(args.folder)
             for s in SEEDS if (m, t, s) not in done]
    print(f"{len(tasks)} runs to do ({len(done)} done)", flush=True)
    pool = ProcessPoolExecutor(args.jobs, initializer=warm_up)
    with open(args.results, "a") as out, pool:
        for row in pool.map(run_one, tasks):
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"{row['method']:22s} {row['table']:22s} seed {row['seed']} "
                  f"AUC {row['auc']:.4f} AP {row['ap']:.4f} {row['seconds']:.1f} s", flush=True)
    report(args.folder, load_results(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
