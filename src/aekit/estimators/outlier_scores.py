"""``OutlierDetector``'s score: its members' reconstruction errors and code distances.

Per member, from one forward pass (``infer``), the parts that ``anomaly_score_`` names:

- ``reconstruction``: the row's reconstruction error (every score has it);
- ``mahalanobis`` ("combined", "all"): the squared Mahalanobis distance of the row's code to
  the training codes (their mean and Ledoit-Wolf precision);
- ``knn`` ("knn", "all"): the mean distance of the row's code to its ``N_NEIGHBOURS`` nearest
  training codes (a training row does not count as its own neighbour), against a reference of
  at most ``KNN_REFERENCE`` training codes;
- ``elbo`` / ``log_likelihood`` (members fitted with ``Variational``): the row's negative ELBO
  or negative importance-weighted log-likelihood, in nats (the score alone).

Each part is divided by its median over the training rows; a member's score is the sum of its
parts, and the autoencoders' score the mean over members. With an isolation forest
(``aekit.estimators.outlier_forest``) the row's anomaly score combines that score and the
forest's by Fisher's method (``ForestMixin._blend``).
"""

from __future__ import annotations

import numpy as np

from ..io import is_source

PARTS = {"reconstruction": ("reconstruction",), "combined": ("reconstruction", "mahalanobis"),
         "knn": ("reconstruction", "knn"), "all": ("reconstruction", "mahalanobis", "knn"),
         "elbo": ("elbo",), "log_likelihood": ("log_likelihood",)}
#: draws of z per row for the variational scores (the same draws for every row: see
#: ``aekit.estimators.variational``)
VARIATIONAL_SAMPLES = {"elbo": 8, "log_likelihood": 50}
N_NEIGHBOURS = 5
KNN_REFERENCE = 10_000


class ScoringMixin:
    """The anomaly score of ``OutlierDetector`` (higher is more abnormal)."""

    @property
    def _parts(self) -> tuple[str, ...]:
        return PARTS[self.anomaly_score_]

    def _fit_code_statistics(self, sample, X, held_out: np.ndarray,
                             sample_rows: np.ndarray, scaled=None) -> None:
        """Per member: the statistics of the training codes (from the scaled training
        ``sample``, rows ``sample_rows`` of X), then the parts of every row of ``X`` (one pass)
        and their medians over the training rows, which normalize them. ``scaled``: X once
        scaled, where the fit has it (an array in memory)."""
        from sklearn.covariance import LedoitWolf

        self._code_location, self._code_precision, self._knn_reference = [], [], []
        picked = np.arange(len(sample_rows))
        if len(picked) > KNN_REFERENCE:
            picked = np.sort(np.random.default_rng(0).choice(len(picked), KNN_REFERENCE, False))
        coded = bool({"mahalanobis", "knn"} & set(self._parts))
        found = None  # in memory: one forward pass over X gives the codes and the parts
        if scaled is None and not is_source(X):
            scaled = self._scale(X)
        if coded and scaled is not None:
            found = [m.infer(scaled, ("error", "code")) for m in self.estimators_]
        for i, member in enumerate(self.estimators_ if coded else ()):
            codes = (found[i].code[sample_rows] if found else member.transform(sample)
                     ).astype(np.float64)
            if "mahalanobis" in self._parts:
                cov = LedoitWolf().fit(codes)
                self._code_location.append(cov.location_)
                self._code_precision.append(cov.get_precision())
            if "knn" in self._parts:
                self._knn_reference.append(codes[picked].astype(np.float32))
        del sample
        n_members, n_parts = len(self.estimators_), len(self._parts)

        def parts_of(scaled, found=None):
            return np.column_stack([p for i in range(n_members) for p in self._member_parts(
                i, scaled, found[i] if found else None)])

        parts = (self._over_rows(X, lambda rows: parts_of(self._scale(rows))) if is_source(X)
                 else parts_of(scaled, found))  # X: checked
        del found
        if "knn" in self._parts:  # a reference row is not its own neighbour
            column = self._parts.index("knn")
            for i, reference in enumerate(self._knn_reference):
                parts[sample_rows[picked], n_parts * i + column] = _knn_distance(
                    reference, reference, exclude_self=True)
        train = ~held_out
        medians = np.array([_positive(np.median(c[train])) for c in parts.T]).reshape(
            n_members, n_parts)
        self._medians = medians
        self.train_scores_ = np.zeros(len(parts))
        for i in range(n_members):
            self.train_scores_ += self._member_score(list(parts.T[n_parts * i:n_parts * (i + 1)]),
                                                     i)
        self.train_scores_ /= n_members
        self.train_scores_ = self._standardize_forest(self.train_scores_, X, train, scaled)

    # ------------------------------------------------------------------ scores
    def _member_parts(self, i: int, Xs, found=None) -> list[np.ndarray]:
        """Member ``i``'s parts of each row, from one forward pass (or from ``found``, its
        ``infer`` of the error and the code of the rows ``Xs``)."""
        wanted = self._parts
        if wanted[0] in VARIATIONAL_SAMPLES:  # -ELBO or -IWAE log-likelihood, in nats
            member, name = self.estimators_[i], wanted[0]
            bound = member.elbo if name == "elbo" else member.log_likelihood
            return [-bound(Xs, n_samples=VARIATIONAL_SAMPLES[name], random_state=0)]
        if wanted == ("reconstruction",):
            return [self.estimators_[i].infer(Xs, ("error",)).error]
        if found is None:
            found = self.estimators_[i].infer(Xs, ("error", "code"))
        codes, out = found.code.astype(np.float64), [found.error]
        if "mahalanobis" in wanted:
            out.append(_mahalanobis(codes, self._code_location[i], self._code_precision[i]))
        if "knn" in wanted:
            out.append(_knn_distance(codes, self._knn_reference[i]))
        return out

    def _anomaly_scores(self, Xs) -> np.ndarray:
        """Higher is more abnormal: the mean over members of the normalized parts."""
        total = np.zeros(Xs.shape[0])
        for i in range(len(self.estimators_)):
            total += self._member_score(self._member_parts(i, Xs), i)
        return self._with_forest(total / len(self.estimators_), Xs)

    def _member_score(self, parts, i: int) -> np.ndarray:
        """Member ``i``'s parts, each divided by its training median, summed."""
        return sum(part / median for part, median in zip(parts, self._medians[i]))


def _positive(value: float) -> float:
    """A normalizer that is never zero (a perfectly reconstructed training set has median 0)."""
    value = float(value)
    return value if value > 1e-12 else 1e-12


def _mahalanobis(codes: np.ndarray, location: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of each code to ``location``."""
    centered = codes - location
    return np.einsum("ij,jk,ik->i", centered, precision, centered)


def _knn_distance(codes: np.ndarray, reference: np.ndarray,
                  exclude_self: bool = False) -> np.ndarray:
    """Mean Euclidean distance of each code to its ``N_NEIGHBOURS`` nearest reference codes;
    ``exclude_self``: ``codes`` is the reference itself, and row j is not its own neighbour."""
    import torch

    query = torch.from_numpy(np.ascontiguousarray(codes, dtype=np.float32))
    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    k = min(N_NEIGHBOURS, len(ref) - int(exclude_self))
    out = np.empty(len(query))
    for start in range(0, len(query), 2048):  # (block, n_ref) distances, a block at a time
        dist = torch.cdist(query[start:start + 2048], ref).clamp_(min=0)
        if exclude_self:
            rows = torch.arange(start, min(start + 2048, len(query)))
            dist[rows - start, rows] = float("inf")
        nearest = dist.topk(max(k, 1), dim=1, largest=False).values
        out[start:start + 2048] = nearest.double().mean(dim=1).numpy()
    return out
