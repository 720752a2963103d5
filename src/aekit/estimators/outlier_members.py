"""``OutlierDetector``'s members: the default autoencoder, and how each member differs."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import clone

from .autoencoder import Autoencoder


def looks_like_images(sample, low: float, high: float, n_features: int,
                      binary_is_image: bool = False) -> bool:
    """``OutlierDetector``'s rule for images: at least 256 features, all in [0, 1], and grey
    levels among them (a table of 0/1 flags, such as ADBench's InternetAds, is a table)."""
    if not (low >= 0.0 and high <= 1.0 and n_features >= 256):
        return False
    if binary_is_image:
        return True
    step = max(1, (1 << 16) // n_features)  # a block of rows at a time: images stop at once
    return any(bool(np.any((block > 0.0) & (block < 1.0)))
               for block in (sample[i:i + step] for i in range(0, len(sample), step)))


class MembersMixin:
    """Building and training ``OutlierDetector``'s autoencoders."""

    # Numeric tables: about 100 gradient steps (more on large data: 5 epochs at least) and at
    # most 1e9 multiply-adds of forward passes, chosen by benchmarks/bench_detector_design.py
    # under issue 19's speed limit (5x below PyOD's AutoEncoder on every table); longer
    # training fits the training outliers too. Images, encoded tables (text categories,
    # gaps) and variational members, which that study did not cover, keep the 1,000 steps
    # they were measured with.
    _step_budget = 100
    _compute_budget = 1e9
    _unstudied_step_budget = 1000
    _binary_is_image = False  # before issue 19's last study: 0/1 tables took the image path
    _max_hidden = 256  # the default autoencoder's hidden width at most
    _diverse = False  # default members differ in code size, not only in seed
    _DIVERSITY = (1.0, 0.5, 1.5, 0.75, 1.25)

    def _default_estimator(self, n_samples: int, n_features: int, image_like: bool,
                           width: int | None = None) -> Autoencoder:
        """``width``: the network's input width when it differs from ``n_features`` (tables)."""
        n_components = max(1, min(32, n_features // 2))
        hidden = min(self._max_hidden, max(2 * n_components, width or n_features))
        # Images: small batches on a few hundred images give the wide network enough steps.
        batch_size = int(min(256, max(32, n_samples // 16))) if image_like else 256
        steps_per_epoch = math.ceil(n_samples / batch_size)
        # (a variational member, scored by its ELBO, was measured with 1,000 steps too)
        studied = not (image_like or width or self.anomaly_score in ("elbo", "log_likelihood"))
        budget = self._step_budget if studied else self._unstudied_step_budget
        max_iter = int(min(50, max(5, math.ceil(budget / steps_per_epoch))))
        if self._compute_budget is not None and studied:  # wide tables: fewer steps
            rows_per_epoch = batch_size * steps_per_epoch
            inputs = n_features + n_components
            affordable = self._compute_budget / (rows_per_epoch * 2 * hidden * inputs)
            max_iter = int(max(3, min(max_iter, math.floor(affordable))))
            if affordable < 3:  # at least 3 epochs (after 1 the error can rank rows backwards)
                hidden = max(2 * n_components,
                             int(self._compute_budget / (3 * rows_per_epoch * 2 * inputs)))
        return Autoencoder(
            n_components, hidden_layer_sizes=(hidden,), scaling="none", max_iter=max_iter,
            batch_size=batch_size,
        )

    def _variational_template(self, template):
        """For the variational scores: the default member gets ``Variational()`` (with a
        learned decoder variance for squared error); a given estimator must have it."""
        if self.anomaly_score not in ("elbo", "log_likelihood"):
            return template
        from ..constraints import Variational, resolve_constraints

        constraints = resolve_constraints(template.constraints)
        if any(isinstance(c, Variational) for c in constraints):
            return template
        if self.estimator is not None:
            raise ValueError(
                f"anomaly_score={self.anomaly_score!r} needs a variational autoencoder; give "
                "estimator=Autoencoder(constraints=(aekit.Variational(),)) or leave "
                "estimator=None."
            )
        # A squared-error member on data in its own units (images: scaling "none") learns its
        # decoder's variance: with the fixed 1/2 the KL term outweighs errors of a few
        # hundredths on grey levels, and the ELBO ranks rows by their code (one-class MNIST
        # 0.949 -> 0.964). On scaled tables 1/2 is of the errors' order and did better
        # (ADBench: 0.789 against 0.784 learned; bench_detector_design.py, "vae elbo").
        unscaled = self.scaling_ == "none" and not self.table_mode_
        variational = Variational(
            variance="learned" if unscaled and template.loss == "mse" else 0.5)
        return clone(template).set_params(constraints=(*constraints, variational))

    def _member(self, template, m: int, rng):
        """Member ``m``: the template with its own seed (and code size, with ``_diverse``)."""
        member = clone(template).set_params(random_state=int(rng.randint(2**31 - 1)))
        if self._diverse and self.estimator is None and m:
            k = template.n_components
            factor = self._DIVERSITY[m % len(self._DIVERSITY)]
            member.set_params(n_components=max(1, round(k * factor)))
        return member

    def _refit_trimmed(self, member, rows, trim: float) -> None:
        """Train on, for half as many epochs again, the rows that the member reconstructs
        best, leaving out the worst ``trim`` of them (the training data holds outliers)."""
        errors = member.reconstruction_error(rows)
        keep = np.flatnonzero(errors <= np.quantile(errors, 1.0 - trim))
        kept = rows.iloc[keep] if hasattr(rows, "iloc") else rows[keep]
        for _ in range(max(1, member.max_iter // 2)):
            member.partial_fit(kept)

