"""OutlierDetector's isolation forest (issue 19): exact trees, the blended score, model files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest

import aekit
from aekit import Autoencoder, ModelFileError, OutlierDetector
from aekit.estimators.outlier_forest import IsolationTrees, robust_standardizer


def _table(n=600, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    X[:12] += rng.normal(0, 6, size=(12, d))
    return X


def test_trees_as_arrays_score_exactly_as_scikit_learn():
    X = _table()
    X[:, 2] = 1.0  # a constant column
    X[50:80] = X[50]  # duplicated rows
    trees = IsolationTrees.fit(X, random_state=4)
    reference = IsolationForest(n_estimators=100, max_samples=256, random_state=4).fit(X)
    new = np.random.default_rng(1).normal(0, 3, size=(300, 6))  # rows it never saw
    for rows in (X, new):
        np.testing.assert_allclose(trees.anomaly_score(rows), -reference.score_samples(rows),
                                   rtol=0, atol=1e-12)
    few = np.random.default_rng(2).normal(size=(10, 6))[np.random.default_rng(3).integers(
        0, 10, 1000)]  # 1,000 rows of 10 distinct points: chains deeper than log2(nodes)
    trees = IsolationTrees.fit(few, random_state=0)
    assert trees.max_depth > np.ceil(np.log2(trees.feature.shape[1])) + 1
    np.testing.assert_allclose(trees.anomaly_score(few), -IsolationForest(
        max_samples=256, random_state=0).fit(few).score_samples(few), atol=1e-12)
    small = IsolationTrees.fit(X[:40], random_state=0)  # fewer rows than 256
    np.testing.assert_allclose(small.anomaly_score(X), -IsolationForest(
        max_samples=40, random_state=0).fit(X[:40]).score_samples(X), atol=1e-12)


def test_the_score_is_the_sum_of_the_standardized_autoencoder_and_forest_scores():
    X = _table()
    on = OutlierDetector(random_state=0).fit(X)
    off = OutlierDetector(isolation_forest=False, random_state=0).fit(X)
    assert on.forest_ is not None and off.forest_ is None
    forest = on.forest_.anomaly_score(on.preprocess(X))
    train = np.ones(len(X), bool)
    train[np.isin(on.train_scores_, on._calibration_scores)] = False  # the held-out rows
    (a_mid, a_spread), (f_mid, f_spread) = (robust_standardizer(off.train_scores_[train]),
                                            robust_standardizer(forest[train]))
    expected = (off.train_scores_ - a_mid) / a_spread + (forest - f_mid) / f_spread
    np.testing.assert_allclose(on.train_scores_, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(-on.score_samples(X), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(on.encode(X), off.encode(X))  # the same autoencoder
    assert (on.predict(X[:12]) == -1).mean() > 0.5


def test_auto_is_on_for_tables_only_and_true_is_refused_for_streams(tmp_path):
    import pandas as pd

    X = _table()
    assert OutlierDetector(random_state=0).fit(X).forest_ is not None
    images = np.random.default_rng(0).random((300, 256))
    assert OutlierDetector(random_state=0).fit(images).forest_ is None
    fast = Autoencoder(n_components=2, max_iter=2)
    assert OutlierDetector(fast, random_state=0).fit(X).forest_ is None
    assert OutlierDetector(fast, isolation_forest=True, random_state=0).fit(X).forest_ is not None
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(kind=["u", "v", "w"] * 200)
    frame.loc[5, "a"] = np.nan
    frame.loc[:3, "kind"] = "rare"  # the forest splits the table's encoding (one-hot, gaps)
    on = OutlierDetector(random_state=0).fit(frame)
    off = OutlierDetector(isolation_forest=False, random_state=0).fit(frame)
    assert on.forest_ is not None and np.isfinite(on.score_samples(frame)).all()
    forest = on.forest_.anomaly_score(on.estimators_[0].table_.encode(frame))
    assert forest[:4].mean() > np.median(forest)  # rows with the rare category isolate early
    np.testing.assert_array_equal(on.encode(frame), off.encode(frame))
    on.save(tmp_path / "table.aekit")  # the trees split the encoding, wider than the table
    np.testing.assert_array_equal(aekit.load(tmp_path / "table.aekit").score_samples(frame),
                                  on.score_samples(frame))
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    assert OutlierDetector(random_state=0).fit(tmp_path / "x.npy").forest_ is None
    with pytest.raises(ValueError, match="needs the rows in memory; this fit streams"):
        OutlierDetector(isolation_forest=True, random_state=0).fit(tmp_path / "x.npy")


def test_the_forest_survives_a_model_file_and_a_damaged_one_is_refused(tmp_path):
    X = _table()
    detector = OutlierDetector(random_state=0).fit(X)
    detector.save(tmp_path / "d.aekit")
    loaded = aekit.load(tmp_path / "d.aekit")
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
    np.testing.assert_array_equal(loaded.predict(X), detector.predict(X))
    state, tensors = detector.__aekit_state__()
    assert tensors["forest.feature"].dtype == torch.int64
    broken = dict(tensors)
    broken["forest.left"] = broken["forest.left"].clone()
    broken["forest.left"][0, 0] = 10**6  # a child beyond the tree
    with pytest.raises(ModelFileError, match="corrupted isolation forest"):
        OutlierDetector().__aekit_restore__(state, broken)
    missing = {k: v for k, v in tensors.items() if k != "forest.threshold"}
    with pytest.raises(ModelFileError, match="incomplete isolation forest"):
        OutlierDetector().__aekit_restore__(state, missing)
