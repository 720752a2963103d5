"""An isolation forest beside ``OutlierDetector``'s autoencoders (issue 19).

``IsolationTrees`` fits scikit-learn's ``IsolationForest`` (100 trees of 256 rows) and keeps
the trees as plain arrays, so a model file holds them as tensors (no pickle), and scores rows
by its own traversal: the same numbers as ``-IsolationForest.score_samples``, i.e.
``2 ** (-mean path length / c(256))`` in (0, 1], higher is more abnormal.

The detector's score with a forest (``isolation_forest=True``, and the default for tables in
memory) is ``z(autoencoder score) + z(forest score)``, where ``z`` subtracts the median over the
training rows and divides by their interquartile range: the two rank rows differently (the
autoencoder by what it cannot rebuild, the forest by how few splits isolate a row), and their
sum ranked the 35 ADBench tables better out of sample than either
(``benchmarks/bench_detector_design.py``, benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np

N_TREES = 100
MAX_SAMPLES = 256
_CHUNK = 8192  # rows scored at a time (a (trees, rows) index array each)


def average_path_length(n: np.ndarray) -> np.ndarray:
    """``c(n)``: the mean path length of an unsuccessful search in a binary search tree of n
    points (Liu et al., 2008), 0 for n <= 1 and 1 for n = 2."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class IsolationTrees:
    """Isolation trees as arrays, ``(n_trees, n_nodes)`` each (padded with leaves).

    ``feature``/``threshold``/``left``/``right`` describe the splits (``left == -1`` at a
    leaf); ``leaf_value`` is a leaf's depth plus ``c(rows that reached it)``; ``normalizer`` is
    ``c(max_samples)``.
    """

    def __init__(self, feature, threshold, left, right, leaf_value, normalizer: float):
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.left = np.asarray(left, dtype=np.int64)
        self.right = np.asarray(right, dtype=np.int64)
        self.leaf_value = np.asarray(leaf_value, dtype=np.float64)
        self.normalizer = float(normalizer)
        shapes = {a.shape for a in (self.feature, self.threshold, self.left, self.right,
                                    self.leaf_value)}
        if len(shapes) != 1 or len(self.feature.shape) != 2 or not self.normalizer > 0:
            raise ValueError("IsolationTrees needs five (n_trees, n_nodes) arrays and c > 0.")
        n_nodes = self.feature.shape[1]
        inner = self.left >= 0
        if ((self.left[inner] >= n_nodes).any() or (self.right[inner] < 0).any()
                or (self.right[inner] >= n_nodes).any() or (self.feature[inner] < 0).any()):
            raise ValueError("IsolationTrees has child or feature indices out of range.")
        self.max_depth = self._depth()
        self.n_features = int(self.feature[inner].max()) + 1 if inner.any() else 0

    def _depth(self) -> int:
        """The depth of the deepest leaf (walked level by level; duplicated or few distinct
        rows grow chains far deeper than log2 of the node count). A cycle is refused."""
        n_trees, width = self.feature.shape
        trees = np.arange(n_trees)
        nodes = np.stack([trees, np.zeros(n_trees, np.int64)], axis=1)  # (tree, node) at a level
        for depth in range(width + 1):
            inner = self.left[nodes[:, 0], nodes[:, 1]] >= 0
            if not inner.any():
                return depth
            parents = nodes[inner]
            nodes = np.concatenate([
                np.stack([parents[:, 0], self.left[parents[:, 0], parents[:, 1]]], axis=1),
                np.stack([parents[:, 0], self.right[parents[:, 0], parents[:, 1]]], axis=1)])
        raise ValueError("IsolationTrees has a cycle: a tree is deeper than its node count.")

    @classmethod
    def fit(cls, X: np.ndarray, random_state: int) -> IsolationTrees:
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(n_estimators=N_TREES, max_samples=min(MAX_SAMPLES, len(X)),
                                 random_state=random_state).fit(X)
        trees = [e.tree_ for e in forest.estimators_]
        width = max(t.node_count for t in trees)
        arrays = {k: np.zeros((len(trees), width), dtype) for k, dtype in
                  (("feature", np.int64), ("threshold", np.float64), ("left", np.int64),
                   ("right", np.int64), ("leaf_value", np.float64))}
        arrays["left"][:] = arrays["right"][:] = -1
        for t, tree in enumerate(trees):
            n = tree.node_count
            depth = np.zeros(n)
            for node in range(n):  # children come after their parent
                for child in (tree.children_left[node], tree.children_right[node]):
                    if child >= 0:
                        depth[child] = depth[node] + 1
            arrays["feature"][t, :n] = np.maximum(tree.feature, 0)
            arrays["threshold"][t, :n] = tree.threshold
            arrays["left"][t, :n] = tree.children_left
            arrays["right"][t, :n] = tree.children_right
            arrays["leaf_value"][t, :n] = depth + average_path_length(tree.n_node_samples)
        return cls(**arrays, normalizer=float(average_path_length([forest.max_samples_])[0]))

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """``2 ** (-mean path length / c)`` per row of ``X`` (its columns as at fit)."""
        X = np.asarray(X, dtype=np.float32)  # the trees compare float32 values, as sklearn's
        if X.ndim != 2 or X.shape[1] < self.n_features:
            raise ValueError(f"The forest needs rows of {self.n_features} features or more; got "
                             f"shape {X.shape}.")
        n_trees, width = self.feature.shape
        # flat arrays: a node is tree * width + index, a value of a row is feature * rows + row
        left, right = (np.where(a >= 0, a + np.arange(n_trees)[:, None] * width, -1).ravel()
                       for a in (self.left, self.right))
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        leaf_value = self.leaf_value.ravel()
        out = np.empty(len(X))
        for start in range(0, len(X), _CHUNK):
            rows = X[start:start + _CHUNK]
            n = len(rows)
            values = np.ascontiguousarray(rows.T, dtype=np.float64).ravel()
            node = np.repeat(np.arange(n_trees) * width, n)  # every row at every root
            column = np.tile(np.arange(n), n_trees)
            for _ in range(self.max_depth):
                child = left.take(node)
                inner = child >= 0
                if not inner.any():
                    break
                at = node[inner]
                goes_left = values.take(feature.take(at) * n + column[inner]) <= threshold.take(at)
                node[inner] = np.where(goes_left, child[inner], right.take(at))
            depth = np.zeros(n)
            for per_tree in leaf_value.take(node).reshape(n_trees, n):  # one order, any n
                depth += per_tree
            depth /= n_trees
            out[start:start + n] = 2.0 ** (-depth / self.normalizer)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left,
                "right": self.right, "leaf_value": self.leaf_value,
                "normalizer": np.array([self.normalizer])}


def robust_standardizer(scores: np.ndarray) -> tuple[float, float]:
    """``(median, spread)`` of training scores: the interquartile range, else the standard
    deviation, else 1 (never 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    median = float(np.median(scores))
    q75, q25 = np.percentile(scores, [75, 25])
    spread = float(q75 - q25)
    if not spread > 1e-12:
        spread = float(scores.std())
    return median, spread if spread > 1e-12 else 1.0


class ForestMixin:
    """``OutlierDetector``'s forest part: fitted beside the members, blended into the score."""

    def _check_forest(self, streamed: bool) -> None:
        """Refuse, before any training, a forest that cannot be fit."""
        if self.isolation_forest is True and streamed:
            raise ValueError("isolation_forest=True needs the rows in memory; this fit streams "
                             "its data from disk. Use isolation_forest=False (or 'auto').")

    def _fit_forest(self, sample, *, image_like: bool, streamed: bool, rng) -> None:
        use = self.isolation_forest
        if use == "auto":  # where it was chosen: tables in memory, default members
            use = not (image_like or streamed or self.estimator is not None)
        self.forest_ = (IsolationTrees.fit(self._forest_rows(sample),
                                           int(rng.randint(2**31 - 1))) if use else None)

    def _forest_rows(self, Xs) -> np.ndarray:
        """What the trees split: the scaled rows, or a table's encoding (standardized numbers,
        missing indicators, one-hot categories) as the autoencoders' input."""
        if getattr(self, "table_mode_", False):
            return self.estimators_[0].table_.encode(Xs)
        return np.asarray(Xs, dtype=np.float32)

    def _standardize_forest(self, autoencoder_scores: np.ndarray, X, train: np.ndarray):
        """Training scores with the forest blended in (and the standardizers it needs)."""
        if getattr(self, "forest_", None) is None:
            return autoencoder_scores
        forest = self.forest_.anomaly_score(self._forest_rows(self._scale(X)))
        self._standardizers = (robust_standardizer(autoencoder_scores[train]),
                               robust_standardizer(forest[train]))
        return self._blend(autoencoder_scores, forest)

    def _with_forest(self, autoencoder_scores: np.ndarray, Xs) -> np.ndarray:
        if getattr(self, "forest_", None) is None:
            return autoencoder_scores
        return self._blend(autoencoder_scores, self.forest_.anomaly_score(self._forest_rows(Xs)))

    def _blend(self, autoencoder_scores, forest_scores) -> np.ndarray:
        (ae_mid, ae_spread), (f_mid, f_spread) = self._standardizers
        return (autoencoder_scores - ae_mid) / ae_spread + (forest_scores - f_mid) / f_spread
