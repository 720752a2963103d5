"""The detector's isolation forest inside the inference graph (``deploy``'s ``ForestGraph``).

The trees' mean path length is one operator, ``torch.ops.aekit.isolation_depth(rows, key)``:
in Python it walks the trees registered under ``key`` (``IsolationTrees.mean_depth``); the ONNX
export (``aekit.export.onnx``) writes it as one ``ai.onnx.ml.TreeEnsembleRegressor`` node
(``IsolationTrees.tree_ensemble``), which onnxruntime walks natively, about 13x faster than
the same trees written as gathers, one per level (shuttle, one thread). The blend around it
(Fisher's combination, or the median/IQR sum of older model files) is plain torch
operations, as in ``outlier_forest``.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
from torch import Tensor, nn

from .outlier_forest import FISHER_TIE_BREAK, IsolationTrees, TreeEnsembleAttributes

FORESTS: weakref.WeakValueDictionary[int, IsolationTrees] = weakref.WeakValueDictionary()


@torch.library.custom_op("aekit::isolation_depth", mutates_args=())
def isolation_depth(rows: Tensor, key: int) -> Tensor:
    """The mean path length of each row (float64) in the forest registered under ``key``."""
    depth = FORESTS[key].mean_depth(rows.detach().cpu().numpy())
    return torch.from_numpy(depth).to(rows.device)


@isolation_depth.register_fake
def _(rows: Tensor, key: int) -> Tensor:
    return rows.new_empty(rows.shape[:1], dtype=torch.float64)


def registered_forest(key: int) -> IsolationTrees:
    """The trees that ``isolation_depth(rows, key)`` walks (for the ONNX translation)."""
    return FORESTS[key]


class Knots:
    """A part's training-score quantiles, registered for ``knots_at_or_below``."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64)

    def search_tree(self) -> dict[str, list]:
        """``TreeEnsembleRegressor`` attributes of one binary search tree whose leaf is the
        number of knots at or below the input: a node on knot j sends ``x < knot_j`` to the
        counts up to j and the rest to those above. It compares float32 values; a count off
        by one at a knot moves the interpolated rank by float32 rounding only (the
        interpolation is continuous there)."""
        values = self.values.astype(np.float32)
        tree = TreeEnsembleAttributes()
        pending, next_id = [(0, 0, len(values))], 1  # (node id, fewest, most knots below)
        while pending:
            node, low, high = pending.pop()
            if low == high:
                tree.leaf(0, node, float(low))
                continue
            j = (low + high) // 2
            tree.branch(0, node, 0, float(values[j]), "BRANCH_LT", next_id, next_id + 1)
            pending += [(next_id, low, j), (next_id + 1, j + 1, high)]
            next_id += 2
        return tree.attributes


KNOTS: weakref.WeakValueDictionary[int, Knots] = weakref.WeakValueDictionary()


@torch.library.custom_op("aekit::knots_at_or_below", mutates_args=())
def knots_at_or_below(scores: Tensor, key: int) -> Tensor:
    """How many of the knots registered under ``key`` lie at or below each score (float64)."""
    values = KNOTS[key].values
    found = np.searchsorted(values, scores.detach().cpu().numpy(), side="right")
    return torch.from_numpy(found.astype(np.float64)).to(scores.device)


@knots_at_or_below.register_fake
def _(scores: Tensor, key: int) -> Tensor:
    return scores.new_empty(scores.shape, dtype=torch.float64)


def registered_knots(key: int) -> Knots:
    """The knots that ``knots_at_or_below(scores, key)`` counts (for the ONNX translation)."""
    return KNOTS[key]


class ForestGraph(nn.Module):
    """``IsolationTrees`` and the blend of their score with the autoencoders'."""

    def __init__(self, trees: IsolationTrees, standardizers, knots=None) -> None:
        super().__init__()
        self.trees = trees  # registered while this module lives
        self.key = id(trees)
        FORESTS[self.key] = trees
        self.normalizer = trees.normalizer
        (self.ae_mid, self.ae_spread), (self.f_mid, self.f_spread) = standardizers
        self.fisher = knots is not None  # else the median/IQR sum (files from before it)
        if self.fisher:
            self.knots = tuple(Knots(k) for k in knots)  # registered while this module lives
            self.knot_keys = tuple(id(k) for k in self.knots)
            for key, k in zip(self.knot_keys, self.knots):
                KNOTS[key] = k
            self.register_buffer("ae_knots", torch.as_tensor(self.knots[0].values))
            self.register_buffer("tree_knots", torch.as_tensor(self.knots[1].values))

    def forward(self, rows: Tensor) -> Tensor:
        """The forest's anomaly score, ``2 ** (-mean path length / c)``, in float64."""
        depth = isolation_depth(rows.float().contiguous(), self.key)
        return torch.pow(2.0, -depth / self.normalizer)

    @staticmethod
    def surprise(scores: Tensor, knots: Tensor, key: int) -> Tensor:
        """``outlier_forest.surprise`` in torch operations (the same steps, float64)."""
        m = knots.shape[0]
        if m == 1:
            cdf = (scores >= knots[0]).double()
        else:
            at = knots_at_or_below(scores.contiguous(), key).long()
            low = (at - 1).clamp(0, m - 2)
            x0, x1 = knots[low], knots[low + 1]
            step = torch.where(x1 > x0, x1 - x0, torch.ones_like(x0))
            cdf = (low.double() + ((scores - x0) / step).clamp(0.0, 1.0)) / (m - 1)
            cdf = torch.where(at == 0, torch.zeros_like(cdf),
                              torch.where(at >= m, torch.ones_like(cdf), cdf))
        return -torch.log((1.0 + (m - 1) * (1.0 - cdf)) / (m + 1.0))

    def blend(self, autoencoder_score: Tensor, rows: Tensor) -> Tensor:
        forest = self(rows)
        ae = autoencoder_score.double()
        z = (ae - self.ae_mid) / self.ae_spread + (forest - self.f_mid) / self.f_spread
        if not self.fisher:
            return z.float()
        return (self.surprise(ae, self.ae_knots, self.knot_keys[0])
                + self.surprise(forest, self.tree_knots, self.knot_keys[1])
                + FISHER_TIE_BREAK * z).float()
