"""An isolation forest beside ``OutlierDetector``'s autoencoders (issue 19).

``IsolationTrees`` grows an isolation forest (Liu et al., 2008; 100 trees of 256 rows, the
algorithm and defaults of scikit-learn's ``IsolationForest``, with the same distribution of
trees: tested) as plain arrays, all trees one level at a time (13 ms on thyroid's 3,772 rows,
where scikit-learn's forest of tree objects takes 71 ms); a model file holds the arrays as
tensors (no pickle). Its score, as ``-IsolationForest.score_samples``,
is ``2 ** (-mean path length / c(256))`` in (0, 1], higher is more abnormal.

The detector's score with a forest (``isolation_forest=True``, and the default for tables in
memory) combines the two by Fisher's method: ``-log p(autoencoder score) - log p(forest
score)``, each ``p`` the share of training rows that score higher on that part (``surprise``),
so a row that either part finds extreme ranks high; the two rank rows differently (the
autoencoder by what it cannot rebuild, the forest by how few splits isolate a row). Their
combination ranked the 35 ADBench tables better out of sample than either, and Fisher's form
raised the average precision over the median/IQR sum (``benchmarks/bench_detector_design.py``,
benchmarks/README.md).
"""

from __future__ import annotations

import math

import numpy as np

N_TREES = 100
MAX_SAMPLES = 256
_CHUNK = 1024  # rows scored at a time (a (trees, rows) index array each, kept in cache)
_DEEPEST = 12  # levels of a tree that scoring accepts (trees of 256 rows have 8)
FISHER_TIE_BREAK = 1e-6  # weight of the z-sum in the blend (orders the rows past the knots)


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
        """Grow ``N_TREES`` isolation trees on ``min(256, len(X))`` rows each, drawn without
        replacement (Liu et al., 2008, as scikit-learn's ``IsolationForest``): a node splits on a
        feature drawn uniformly among those not constant on its rows, at a threshold drawn
        uniformly between their minimum and maximum (rows at or below it go left), until it
        holds one row, or only equal rows, or lies ``ceil(log2(max_samples))`` deep. All trees
        grow together, one level at a time (vectorized: about 5x faster than fitting
        scikit-learn's forest of separate tree objects on a small table, same distribution)."""
        X = np.asarray(X, dtype=np.float32)  # thresholds lie between float32 values
        rng = np.random.default_rng(random_state)
        n_rows = len(X)
        n_samples = min(MAX_SAMPLES, n_rows)
        max_depth = int(np.ceil(np.log2(max(n_samples, 2))))
        width = 2 ** (max_depth + 1) - 1  # a complete binary tree: node i has 2i+1 and 2i+2
        arrays = {k: np.zeros((N_TREES, width), dtype) for k, dtype in
                  (("feature", np.int64), ("threshold", np.float64), ("left", np.int64),
                   ("right", np.int64), ("leaf_value", np.float64))}
        arrays["left"][:] = arrays["right"][:] = -1
        rows = np.concatenate([rng.choice(n_rows, n_samples, replace=False)
                               for _ in range(N_TREES)])
        key = np.repeat(np.arange(N_TREES) * width, n_samples)  # tree * width + node
        for depth in range(max_depth + 1):
            order = np.argsort(key, kind="stable")
            rows, key = rows[order], key[order]
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            sizes = np.diff(np.r_[starts, len(key)])
            nodes = key[starts]
            feature, low, high = (_split_features(X, rows, starts, sizes, rng)
                                  if depth < max_depth else (np.full(len(nodes), -1),) * 3)
            leaf = feature < 0
            arrays["leaf_value"].flat[nodes[leaf]] = depth + average_path_length(sizes[leaf])
            inner = nodes[~leaf]
            threshold = low[~leaf] + rng.random(len(inner)) * (high[~leaf] - low[~leaf])
            threshold = np.where(threshold >= high[~leaf], low[~leaf], threshold)
            local = inner % width
            arrays["feature"].flat[inner] = feature[~leaf]
            arrays["threshold"].flat[inner] = threshold
            arrays["left"].flat[inner], arrays["right"].flat[inner] = 2 * local + 1, 2 * local + 2
            group = np.repeat(np.arange(len(nodes)), sizes)
            keep = ~leaf[group]  # the rows of nodes that split go on to a child
            rows, key, group = rows[keep], key[keep], group[keep]
            where = np.cumsum(~leaf) - 1  # a node's index among the inner nodes
            goes_right = X[rows, feature[group]] > threshold[where[group]]
            key = key + key % width + 1 + goes_right  # tree * width + 2 * node + 1 (+ 1)
            if not len(key):
                break
        used = int(np.flatnonzero((arrays["left"] >= 0).any(0)).max(initial=-1))
        used = max(2 * used + 3, 1)  # the children of the last inner node
        arrays = {k: v[:, :used] for k, v in arrays.items()}
        return cls(**arrays, normalizer=float(average_path_length([n_samples])[0]))

    def _perfect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The trees as perfect binary trees of ``max_depth`` levels, for a traversal without
        branches (node i's children are 2i+1 and 2i+2): a leaf above the last level becomes
        splits that always go left (threshold +inf) down to a last-level copy of it. Returns
        ``(feature, threshold)`` of the ``2**depth - 1`` splits and the ``2**depth`` leaf
        values, per tree."""
        if self.max_depth > _DEEPEST:
            raise ValueError(f"IsolationTrees are {self.max_depth} levels deep; at most "
                             f"{_DEEPEST} (trees of up to {2 ** _DEEPEST} rows) are scored.")
        n_trees = self.feature.shape[0]
        trees = np.arange(n_trees)[:, None]
        node = np.zeros((n_trees, 1), np.int64)  # the original node at each position
        features, thresholds = [], []
        for _ in range(self.max_depth):
            inner = self.left[trees, node] >= 0
            features.append(np.where(inner, self.feature[trees, node], 0))
            thresholds.append(np.where(inner, self.threshold[trees, node], np.inf))
            left = np.where(inner, self.left[trees, node], node)
            right = np.where(inner, self.right[trees, node], node)
            node = np.stack([left, right], axis=2).reshape(n_trees, -1)
        empty = np.zeros((n_trees, 0))
        feature = np.concatenate(features, axis=1) if features else empty.astype(np.int64)
        threshold = np.concatenate(thresholds, axis=1) if thresholds else empty
        return feature, threshold, self.leaf_value[trees, node]

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """``2 ** (-mean path length / c)`` per row of ``X`` (its columns as at fit)."""
        return 2.0 ** (-self.mean_depth(X) / self.normalizer)

    def mean_depth(self, X: np.ndarray) -> np.ndarray:
        """The mean over the trees of each row's path length (depth plus ``c`` of its leaf)."""
        X = np.ascontiguousarray(X, dtype=np.float32)  # the trees compare float32 values
        if X.ndim != 2 or X.shape[1] < self.n_features:
            raise ValueError(f"The forest needs rows of {self.n_features} features or more; got "
                             f"shape {X.shape}.")
        if getattr(self, "_layout", None) is None:
            self._layout = self._perfect()
        feature, threshold, leaf_value = self._layout
        n_trees, n_splits = feature.shape
        out = np.empty(len(X))
        for start in range(0, len(X), _CHUNK):
            rows = X[start:start + _CHUNK]  # float32 against float64 thresholds: exact
            n = len(rows)
            # flat: a split is tree * n_splits + i, a value of a row is row * features + f
            flat_rows = (np.arange(n) * rows.shape[1])[None, :]
            roots = (np.arange(n_trees) * n_splits)[:, None]
            values = rows.ravel()
            node = np.zeros((n_trees, n), np.int64)
            for _ in range(self.max_depth):
                at = node + roots
                goes_right = values.take(feature.take(at) + flat_rows) > threshold.take(at)
                node = 2 * node + 1 + goes_right
            leaves = node - n_splits + (np.arange(n_trees) * (n_splits + 1))[:, None]
            depth = np.zeros(n)
            for per_tree in leaf_value.take(leaves):  # trees summed in one order, any n
                depth += per_tree
            out[start:start + n] = depth / n_trees
        return out

    def tree_ensemble(self) -> dict[str, list]:
        """The trees as the attributes of ONNX's ``ai.onnx.ml.TreeEnsembleRegressor`` (nodes
        reachable from each root; ``BRANCH_LEQ`` on float32 inputs, so each threshold becomes
        the largest float32 at or below it, which keeps every comparison exact; each leaf's
        weight is its path length over the number of trees, summed: the mean path length)."""
        threshold32 = self.threshold.astype(np.float32)
        above = threshold32.astype(np.float64) > self.threshold
        threshold32[above] = np.nextafter(threshold32[above], np.float32(-np.inf))
        ensemble = TreeEnsembleAttributes()
        n_trees = self.feature.shape[0]
        for t in range(n_trees):
            stack = [0]
            while stack:
                node = stack.pop()
                if self.left[t, node] < 0:
                    ensemble.leaf(t, node, float(self.leaf_value[t, node]) / n_trees)
                    continue
                left, right = int(self.left[t, node]), int(self.right[t, node])
                ensemble.branch(t, node, int(self.feature[t, node]),
                                float(threshold32[t, node]), "BRANCH_LEQ", left, right)
                stack += [left, right]
        return ensemble.attributes

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left,
                "right": self.right, "leaf_value": self.leaf_value,
                "normalizer": np.array([self.normalizer])}


class TreeEnsembleAttributes:
    """The attributes of one ``ai.onnx.ml.TreeEnsembleRegressor`` (one target, the leaves'
    weights summed over the trees), gathered a node at a time."""

    _NODE = ("treeids", "nodeids", "featureids", "values", "modes", "truenodeids",
             "falsenodeids")
    _TARGET = ("treeids", "nodeids", "ids", "weights")

    def __init__(self) -> None:
        self.attributes: dict[str, list] = {
            **{f"nodes_{k}": [] for k in self._NODE}, **{f"target_{k}": [] for k in self._TARGET}}

    def _add(self, prefix: str, names, values) -> None:
        for name, value in zip(names, values):
            self.attributes[f"{prefix}_{name}"].append(value)

    def branch(self, tree: int, node: int, feature: int, threshold: float, mode: str,
               true_node: int, false_node: int) -> None:
        self._add("nodes", self._NODE, (tree, node, feature, threshold, mode, true_node,
                                        false_node))

    def leaf(self, tree: int, node: int, weight: float) -> None:
        self._add("nodes", self._NODE, (tree, node, 0, 0.0, "LEAF", 0, 0))
        self._add("target", self._TARGET, (tree, node, 0, weight))


def _split_features(X, rows, starts, sizes, rng, tries: int = 4):
    """For each node (the rows ``rows[starts[j]:starts[j] + sizes[j]]``): a feature drawn
    uniformly among those not constant on its rows, with their minimum and maximum there; -1
    for a node of one row or of equal rows. A few vectorized draws with rejection first (same
    distribution), then an exact pass over all features for the nodes still undecided."""
    n_nodes, n_features = len(starts), X.shape[1]
    feature = np.full(n_nodes, -1)
    low, high = np.zeros(n_nodes), np.zeros(n_nodes)
    group = np.repeat(np.arange(n_nodes), sizes)
    pending = np.flatnonzero(sizes >= 2)
    for _ in range(tries):
        if not len(pending):
            return feature, low, high
        draw = np.full(n_nodes, -1)
        draw[pending] = rng.integers(n_features, size=len(pending))
        mine = draw[group] >= 0
        values = X[rows[mine], draw[group[mine]]]
        bounds = np.flatnonzero(np.r_[True, group[mine][1:] != group[mine][:-1]])
        lo, hi = np.minimum.reduceat(values, bounds), np.maximum.reduceat(values, bounds)
        found = hi > lo
        feature[pending[found]], low[pending[found]], high[pending[found]] = (
            draw[pending[found]], lo[found], hi[found])
        pending = pending[~found]
    for j in pending:  # few: rows in small nodes share most of their features
        block = X[rows[starts[j]:starts[j] + sizes[j]]]
        lo, hi = block.min(axis=0), block.max(axis=0)
        varying = np.flatnonzero(hi > lo)
        if len(varying):
            f = int(varying[rng.integers(len(varying))])
            feature[j], low[j], high[j] = f, lo[f], hi[f]
    return feature, low, high


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


MAX_KNOTS = 4097  # quantiles kept of each part's training scores (all of them, fewer rows)


def score_knots(scores: np.ndarray) -> np.ndarray:
    """The training scores' distribution: all of them sorted, or ``MAX_KNOTS`` quantiles."""
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    return scores if len(scores) <= MAX_KNOTS else np.quantile(
        scores, np.linspace(0.0, 1.0, MAX_KNOTS))


def tail_scale(knots: np.ndarray) -> float:
    """The mean excess of the training scores over their 90% quantile (the scale of an
    exponential tail past the maximum: peaks over a threshold); inf when it has no spread."""
    threshold = knots[int(0.9 * (len(knots) - 1))]
    excess = knots[knots > threshold] - threshold
    return float(excess.mean()) if excess.size and excess.mean() > 0 else math.inf


def surprise(scores: np.ndarray, knots: np.ndarray, tail: bool = False) -> np.ndarray:
    """``-log p``, ``p`` the share of training scores above each score: with ``m`` knots and
    ``F`` the linear interpolation of their ranks (0 at the first, 1 at the last),
    ``p = (1 + (m - 1) * (1 - F)) / (m + 1)``, in [1/(m+1), m/(m+1)], so a score at or past the
    training maximum is as surprising as the maximum (the blend's z tie-breaker orders those).
    The ONNX export computes the same steps (``forest_graph.ForestGraph.surprise``).
    ``tail`` (a design-study option, not exported): past the maximum ``p`` keeps falling as
    ``p_max * exp(-(s - max) / tail_scale)``."""
    scores = np.asarray(scores, dtype=np.float64)
    m = len(knots)
    if m == 1:
        cdf = (scores >= knots[0]).astype(np.float64)
    else:
        at = np.searchsorted(knots, scores, side="right")  # knots at or below each score
        low = np.clip(at - 1, 0, m - 2)
        x0, x1 = knots[low], knots[low + 1]
        step = np.where(x1 > x0, x1 - x0, 1.0)
        cdf = (low + np.clip((scores - x0) / step, 0.0, 1.0)) / (m - 1)
        cdf = np.where(at == 0, 0.0, np.where(at >= m, 1.0, cdf))
    beyond = np.maximum(scores - knots[-1], 0.0) / tail_scale(knots) if tail else 0.0
    return -np.log((1.0 + (m - 1) * (1.0 - cdf)) / (m + 1.0)) + beyond


class ForestMixin:
    """``OutlierDetector``'s forest part: fitted beside the members, blended into the score."""

    _forest_blend = "fisher"  # "z" (the blend before Fisher's) or "fisher tail" (design study)

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

    def _standardize_forest(self, autoencoder_scores: np.ndarray, X, train: np.ndarray,
                            scaled=None):
        """Training scores with the forest blended in (and the standardizers it needs);
        ``scaled``: X once scaled, where the fit has it."""
        if getattr(self, "forest_", None) is None:
            return autoencoder_scores
        rows = self._scale(X) if scaled is None else scaled
        forest = self.forest_.anomaly_score(self._forest_rows(rows))
        self._standardizers = (robust_standardizer(autoencoder_scores[train]),
                               robust_standardizer(forest[train]))
        self._score_knots = (score_knots(autoencoder_scores[train]), score_knots(forest[train]))
        return self._blend(autoencoder_scores, forest)

    def _with_forest(self, autoencoder_scores: np.ndarray, Xs) -> np.ndarray:
        if getattr(self, "forest_", None) is None:
            return autoencoder_scores
        return self._blend(autoencoder_scores, self.forest_.anomaly_score(self._forest_rows(Xs)))

    def _blend(self, autoencoder_scores, forest_scores) -> np.ndarray:
        """Fisher's combination of the two: ``surprise(autoencoder) + surprise(forest)`` (each
        ``-log p`` under its own training scores), plus ``1e-6 * z`` (``z`` the sum of the two
        median/IQR-standardized scores) to order rows that both parts place at or past their
        training maxima. A model file from before the knots were kept blends by ``z`` alone."""
        (ae_mid, ae_spread), (f_mid, f_spread) = self._standardizers
        z = (autoencoder_scores - ae_mid) / ae_spread + (forest_scores - f_mid) / f_spread
        knots = getattr(self, "_score_knots", None)
        if knots is None or self._forest_blend == "z":
            return z
        tail = self._forest_blend == "fisher tail"
        return (surprise(autoencoder_scores, knots[0], tail)
                + surprise(forest_scores, knots[1], tail) + FISHER_TIE_BREAK * z)
