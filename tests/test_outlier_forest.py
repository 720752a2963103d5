"""OutlierDetector's isolation forest (issue 19): exact trees, the blended score, model files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest

import aekit
from aekit import Autoencoder, ModelFileError, OutlierDetector
from aekit.estimators.outlier_forest import (
    MAX_KNOTS,
    IsolationTrees,
    robust_standardizer,
    score_knots,
    surprise,
    tail_scale,
)


def _table(n=600, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    X[:12] += rng.normal(0, 6, size=(12, d))
    return X


def _walk(trees, row):
    """Reference scoring: each tree walked node by node in Python, by its left/right arrays."""
    total = 0.0
    for t in range(trees.feature.shape[0]):
        node = 0
        while trees.left[t, node] >= 0:
            goes_left = np.float32(row[trees.feature[t, node]]) <= trees.threshold[t, node]
            node = trees.left[t, node] if goes_left else trees.right[t, node]
        total += trees.leaf_value[t, node]
    return 2.0 ** (-(total / trees.feature.shape[0]) / trees.normalizer)


def _awkward_table():
    X = _table()
    X[:, 2] = 1.0  # a constant column
    X[50:80] = X[50]  # duplicated rows
    return X


def test_the_fast_traversal_scores_as_the_trees_say():
    X = _awkward_table()
    trees = IsolationTrees.fit(X, random_state=4)
    new = np.random.default_rng(1).normal(0, 3, size=(300, 6))  # rows it never saw
    for rows in (X[:200], new):
        np.testing.assert_allclose(trees.anomaly_score(rows), [_walk(trees, r) for r in rows],
                                   rtol=0, atol=1e-12)
    small = IsolationTrees.fit(X[:40], random_state=0)  # fewer rows than 256: 6 levels
    assert small.max_depth <= 6
    np.testing.assert_allclose(small.anomaly_score(X[:50]), [_walk(small, r) for r in X[:50]],
                               atol=1e-12)
    few = np.random.default_rng(2).normal(size=(10, 6))[np.random.default_rng(3).integers(
        0, 10, 1000)]  # 1,000 rows of 10 distinct points: leaves of equal rows
    trees = IsolationTrees.fit(few, random_state=0)
    assert trees.max_depth <= 8
    np.testing.assert_allclose(trees.anomaly_score(few[:100]),
                               [_walk(trees, r) for r in few[:100]], atol=1e-12)


def _from_scikit_learn(forest):
    """scikit-learn's trees in IsolationTrees' arrays (node ids in its own order, not the
    complete layout aekit grows): the form of model files saved before aekit grew its trees."""
    from aekit.estimators.outlier_forest import average_path_length

    trees = [e.tree_ for e in forest.estimators_]
    width = max(t.node_count for t in trees)
    arrays = {k: np.zeros((len(trees), width), dtype) for k, dtype in
              (("feature", np.int64), ("threshold", np.float64), ("left", np.int64),
               ("right", np.int64), ("leaf_value", np.float64))}
    arrays["left"][:] = arrays["right"][:] = -1
    for t, tree in enumerate(trees):
        n, depth = tree.node_count, np.zeros(tree.node_count)
        for node in range(n):  # children come after their parent
            for child in (tree.children_left[node], tree.children_right[node]):
                if child >= 0:
                    depth[child] = depth[node] + 1
        arrays["feature"][t, :n] = np.maximum(tree.feature, 0)
        arrays["threshold"][t, :n] = tree.threshold
        arrays["left"][t, :n], arrays["right"][t, :n] = tree.children_left, tree.children_right
        arrays["leaf_value"][t, :n] = depth + average_path_length(tree.n_node_samples)
    return IsolationTrees(**arrays,
                          normalizer=float(average_path_length([forest.max_samples_])[0]))


def test_scikit_learns_own_trees_score_exactly_as_scikit_learn():
    """Any tree layout (here scikit-learn's node order) scores as ``-score_samples``."""
    X = _awkward_table()
    forest = IsolationForest(random_state=4).fit(X)
    trees = _from_scikit_learn(forest)
    new = np.random.default_rng(1).normal(0, 3, size=(300, 6))
    for rows in (X, new):
        np.testing.assert_allclose(trees.anomaly_score(rows), -forest.score_samples(rows),
                                   rtol=0, atol=1e-12)


def test_the_trees_grow_as_scikit_learns_isolation_forest_in_distribution():
    """Per row, the mean score over 30 forests equals scikit-learn's within sampling noise
    (a forest that split constant features, drew thresholds outside the node's range, sampled
    rows with replacement or counted depths differently would be off by many standard
    errors on some rows)."""
    X = _awkward_table()
    probe = np.vstack([X[:150], np.random.default_rng(1).normal(0, 3, size=(100, 6))])
    ours = np.array([IsolationTrees.fit(X, s).anomaly_score(probe) for s in range(30)])
    theirs = np.array([-IsolationForest(random_state=s).fit(X).score_samples(probe)
                       for s in range(30)])
    z = (ours.mean(0) - theirs.mean(0)) / np.sqrt((ours.var(0) + theirs.var(0)) / 30)
    assert np.abs(z).max() < 5.0 and 0.7 < z.std() < 1.4, (np.abs(z).max(), z.std())
    trees = IsolationTrees.fit(X, 0)
    leaves = trees.left < 0
    assert not (trees.feature[~leaves] == 2).any()  # the constant column never splits


def test_surprise_is_minus_log_the_share_of_training_scores_above():
    train = np.array([1.0, 2.0, 3.0, 4.0])  # m = 4 knots, exactly the training scores
    knots = score_knots(train)
    # at the k-th smallest training score, 3 - k of the others lie above: p = (1 + 3 - k) / 5
    np.testing.assert_allclose(surprise(train, knots), -np.log([4 / 5, 3 / 5, 2 / 5, 1 / 5]))
    # between knots the ranks interpolate; below the minimum p = 4/5, past the maximum 1/5
    np.testing.assert_allclose(surprise(np.array([2.5, -10.0, 99.0]), knots),
                               -np.log([2.5 / 5, 4 / 5, 1 / 5]))
    # the design study's tail (``_forest_blend="fisher tail"``): past the maximum p keeps
    # falling with the mean excess over the 90% knot (here 4 - 3 = 1) as its scale
    assert tail_scale(knots) == 1.0
    np.testing.assert_allclose(surprise(np.array([4.0, 99.0, 2.5]), knots, tail=True),
                               [-np.log(1 / 5), -np.log(1 / 5) + 95.0, -np.log(2.5 / 5)])
    assert tail_scale(score_knots(np.array([0.0, 1.0, 1.0]))) == np.inf  # no spread: no tail
    ties = score_knots(np.array([0.0, 1.0, 1.0, 1.0, 2.0]))  # tied scores: none above the tie
    assert np.isclose(surprise(np.array([1.0]), ties)[0], -np.log((1 + 1) / 6))
    many = score_knots(np.random.default_rng(0).normal(size=100_000))
    assert len(many) == MAX_KNOTS and np.all(np.diff(many) >= 0)
    assert surprise(np.array([0.0]), many)[0] == pytest.approx(-np.log(0.5), abs=0.01)


def test_the_score_is_fishers_combination_of_the_two_parts():
    X = _table()
    on = OutlierDetector(random_state=0).fit(X)
    off = OutlierDetector(isolation_forest=False, random_state=0).fit(X)
    assert on.forest_ is not None and off.forest_ is None
    forest = on.forest_.anomaly_score(on.preprocess(X))
    train = np.ones(len(X), bool)
    train[np.isin(on.train_scores_, on._calibration_scores)] = False  # the held-out rows
    ae, trees = off.train_scores_, forest
    (a_mid, a_spread), (f_mid, f_spread) = (robust_standardizer(ae[train]),
                                            robust_standardizer(trees[train]))
    z = (ae - a_mid) / a_spread + (trees - f_mid) / f_spread
    expected = (surprise(ae, np.sort(ae[train])) + surprise(trees, np.sort(trees[train]))
                + 1e-6 * z)
    np.testing.assert_allclose(on.train_scores_, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(-on.score_samples(X), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(on.encode(X), off.encode(X))  # the same autoencoder
    assert (on.predict(X[:12]) == -1).mean() > 0.5
    # a row past both parts' training maxima outranks the most extreme training row
    far = X[:1] * 50
    assert -on.score_samples(far)[0] > on.train_scores_.max()


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
    unsorted = dict(tensors)
    unsorted["forest.trees_knots"] = unsorted["forest.trees_knots"].flip(0)
    with pytest.raises(ModelFileError, match="corrupted score quantiles"):
        OutlierDetector().__aekit_restore__(state, unsorted)
    # a file from before Fisher's blend (no quantiles) scores by the median/IQR sum
    older = {k: v for k, v in tensors.items() if not k.endswith("_knots")}
    old = OutlierDetector()
    old.__aekit_restore__(state, older)
    assert old._score_knots is None
    ae = -OutlierDetector(isolation_forest=False, random_state=0).fit(X).score_samples(X)
    trees = detector.forest_.anomaly_score(detector.preprocess(X))
    (a_mid, a_spread), (f_mid, f_spread) = detector._standardizers
    np.testing.assert_allclose(-old.score_samples(X),
                               (ae - a_mid) / a_spread + (trees - f_mid) / f_spread, rtol=1e-6)
