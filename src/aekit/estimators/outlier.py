"""``OutlierDetector``: outlier detection with any aekit autoencoder, as a scikit-learn detector.

The score of a row combines two things an autoencoder learns about normal data:

- the **reconstruction error** (how far the row is from what the decoder can produce; the
  "Q statistic" of process monitoring), and
- the **code distance** (how unusual the row's code is: its Mahalanobis distance to the codes of
  the training rows; the "Hotelling T^2" of process monitoring).

Each part is divided by its median over the training rows, so both are about 1 on typical rows,
and the anomaly score is their sum (``anomaly_score="reconstruction"`` keeps the first part only).
Thresholds come from the training scores (``contamination``), or from scores on held-out data
(``fpr``, conformal: the false-positive rate on fresh clean data is at most ``fpr``), and can be
changed after fitting without retraining (``set_threshold``, ``calibrate``).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..io import is_source
from ..saving import register_estimator
from ..training.distributed import init_from_env, launched_by_torchrun
from . import thresholds
from .base import BaseAutoencoder
from .data import check_source, held_out_mask, rows_of
from .explain import ExplanationMixin
from .outlier_data import StreamScan, TrainingRows
from .outlier_forest import ForestMixin
from .outlier_members import MembersMixin, looks_like_images
from .outlier_scores import ScoringMixin
from .outlier_state import DetectorFileMixin
from .outlier_thresholds import ThresholdMixin
from .runtime import make_generator, resolve_device, seed_from_random_state
from .table import TableEncoder
from .table_mode import has_gaps, has_text, table_frame

_SCALINGS = ("auto", "robust", "standard", "none")
_SCORES = ("auto", "combined", "reconstruction", "knn", "all", "elbo", "log_likelihood")


@register_estimator
class OutlierDetector(MembersMixin, ForestMixin, ScoringMixin, ExplanationMixin, ThresholdMixin,
                      DetectorFileMixin, OutlierMixin, BaseEstimator):
    """Outlier detection by an autoencoder: reconstruction error plus code distance.

    ``OutlierDetector(random_state=0).fit(X)`` is the one-line use, on tables and on flattened
    images alike: it trains a dense autoencoder sized from ``X``. Pass any aekit autoencoder
    (``Autoencoder(...)``, convolutional ones, with constraints) as ``estimator`` to use it
    instead; it is cloned at fit, so the object passed is never changed. ``X`` may also be
    data on disk (a ``.npy`` or Parquet path, an image folder, an ``aekit.io`` source, a
    ``np.memmap``): fitting and scoring then read it a chunk at a time (see ``fit``).

    Parameters
    ----------
    estimator : aekit autoencoder or None, default=None
        The model to train. None: an ``Autoencoder`` sized from the training rows: a code of
        ``k = max(1, min(32, n_features // 2))`` units, one hidden layer of
        ``min(256, max(2 * k, n_features))`` units, batches of 256 rows (of ``n_samples // 16``
        rows clipped to [32, 256] for images, see ``scaling``), 50 epochs but no more than about
        100 gradient steps on a numeric table (1,000 for images, tables with text or gaps
        and variational members; at least 5 epochs; longer training fits the outliers too),
        within 1e9 multiply-adds on a wide one (fewer epochs, at least 3, then narrower).
    contamination : "auto" or float in (0, 0.5], default="auto"
        A float: the fraction of the training rows to flag; the threshold is that quantile of
        their scores (as in scikit-learn's ``IsolationForest``). "auto": the threshold is set by
        ``fpr`` on the held-out rows.
    fpr : float in (0, 1) or None, default=None
        Target false-positive rate on clean data, certified on the held-out rows (see
        ``validation_fraction``): the threshold is the conformal quantile of their scores, so a
        clean row from the same distribution is flagged with probability at most ``fpr``. None
        means 0.01 when ``contamination="auto"`` (with ``validation_fraction=None``: flag 1% of
        the training rows). Give either ``fpr`` or a float ``contamination``, not both. If the
        held-out part has fewer than ``1 / fpr - 1`` rows, ``fpr`` cannot be certified and the
        threshold is the largest held-out score (a warning says so when ``fpr`` was given).
    validation_fraction : float in (0, 1) or None, default=0.1
        Fraction of the rows held out from training; their scores calibrate the ``fpr``
        threshold and ``p_values``. None trains on all rows; then ``fpr`` and ``p_values`` need
        clean data passed to ``calibrate`` first.
    anomaly_score : {"auto", "combined", "reconstruction", "knn", "all", "elbo", \
            "log_likelihood"}, default="auto"
        "combined": reconstruction error plus code distance, each divided by its median over the
        training rows. "reconstruction": the member's mean loss per feature (squared error, or
        its ``loss``: absolute error, cross-entropy) only, divided by its training median.
        "knn": reconstruction plus the mean distance to the 5 nearest training codes; "all":
        all three. "elbo" and "log_likelihood": the negative ELBO (8 draws) or negative
        importance-weighted log-likelihood (50 draws) of a variational member, in nats,
        divided by its training median; the default member is then fitted with
        ``Variational()``, and a given ``estimator`` must have it. "auto": "reconstruction"
        for images (at least 256 features in [0, 1], not all 0 or 1: the codes of other images
        often lie among the training codes, and the code distance hurts), else "combined".
    scaling : {"auto", "robust", "standard", "none"}, default="auto"
        Scaling applied before the autoencoder sees the data (its own ``scaling`` comes after):
        "robust" subtracts each feature's median and divides by its interquartile range / 1.349,
        so the outliers in the training data do not set the scale; "standard" subtracts the mean
        and divides by the standard deviation (on a table with text or gaps: each column's
        own). "auto": "none" for images (as for ``anomaly_score``), "robust" otherwise.
    n_estimators : int, default=1
        Number of autoencoders trained with different seeds; their scores are averaged.
    trim : "auto" or float in [0, 0.5), default="auto"
        The training rows hold the outliers: after training, each default member (``estimator``
        None) trains for half as many epochs again on the rows it reconstructs best, leaving
        out this share of the worst. "auto": 0.1, or 0 for images (as for ``anomaly_score``;
        not measured on them). Chosen by the held-out-datasets protocol
        of ``benchmarks/bench_detector_design.py``. In-memory data only: a fit streamed from
        disk does not trim.
    isolation_forest : "auto" or bool, default="auto"
        Also fit an isolation forest on the scaled rows and combine its score with the
        autoencoders' by Fisher's method (``aekit.estimators.outlier_forest``). "auto": on
        for tables in memory with the default members (a table with text or gaps: on its
        encoding); off for images, streams and a given ``estimator`` (not measured).
        ``explain`` stays the autoencoders'.
    random_state : int, RandomState or None, default=None
        Seeds the held-out split and the autoencoders (it replaces their ``random_state``).

    Attributes
    ----------
    estimators_ : list of aekit autoencoders
        The fitted models.
    threshold_ : float
        Rows whose anomaly score (``-score_samples``) exceeds it are outliers.
    offset_ : float
        ``-threshold_``: ``decision_function = score_samples - offset_``, as in scikit-learn.
    scaling_, anomaly_score_ : str
        What ``scaling="auto"`` and ``anomaly_score="auto"`` resolved to.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    n_calibration_ : int
        Number of held-out (or ``calibrate``) rows behind ``fpr`` thresholds and ``p_values``.
    forest_ : aekit.estimators.outlier_forest.IsolationTrees or None
        The isolation forest beside the autoencoders (see ``isolation_forest``), or None.
    train_scores_ : ndarray of shape (n_samples,)
        Anomaly scores (``-score_samples``) of the rows passed to ``fit``, held-out ones
        included; ``contamination`` thresholds are their quantiles.

    See Also
    --------
    sklearn.ensemble.IsolationForest : the same interface with trees.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import OutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 8))
    >>> det = OutlierDetector(random_state=0).fit(X)
    >>> det.predict([[0.0] * 8, [9.0] * 8])
    array([ 1, -1])
    >>> det.explain([[0, 0, 9, 0, 0, 0, 0, 0]], top_k=1).features
    array([['x2']], dtype=object)
    """

    _parameter_constraints: dict = {
        "estimator": [BaseAutoencoder, None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "fpr": [Interval(Real, 0, 1, closed="neither"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "anomaly_score": [StrOptions(set(_SCORES))],
        "scaling": [StrOptions(set(_SCALINGS))],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "trim": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="left")],
        "isolation_forest": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
    }


    def __init__(
        self,
        estimator=None,
        *,
        contamination="auto",
        fpr=None,
        validation_fraction=0.1,
        anomaly_score="auto",
        scaling="auto",
        n_estimators=1,
        trim="auto",
        isolation_forest="auto",
        random_state=None,
    ):
        self.estimator = estimator
        self.contamination = contamination
        self.fpr = fpr
        self.validation_fraction = validation_fraction
        self.anomaly_score = anomaly_score
        self.scaling = scaling
        self.n_estimators = n_estimators
        self.trim = trim
        self.isolation_forest = isolation_forest
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # gaps are learned around (table mode)
        return tags

    # ------------------------------------------------------------------ fit
    def _check_X(self, X, *, reset: bool):
        """A checked float array, or in table mode (text, booleans, dates or gaps) the table
        itself as a DataFrame: the members encode it (``aekit.estimators.table``)."""
        tabular = (has_text(X) or has_gaps(X)) if reset else getattr(self, "table_mode_", False)
        if reset:
            self.table_mode_ = bool(tabular)
        if not tabular:
            return validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
            )
        return table_frame(self, X, reset=reset)

    def _over_rows(self, X, compute) -> np.ndarray:
        """``compute`` on the rows of an array, or chunk by chunk on data on disk."""
        return rows_of(X, compute, check_array=lambda X: self._check_X(X, reset=False),
                       check_source=lambda X: check_source(self, X, reset=False))

    def _scale(self, X: np.ndarray) -> np.ndarray:
        if getattr(self, "table_mode_", False):  # a table: its members scale each column
            return X
        return thresholds.scale_rows(X, self._scale_center, self._scale_spread)

    def _scale_chunk(self, rows: np.ndarray) -> np.ndarray:
        """``_scale`` for a fresh chunk read from disk: in place, in float32 (training only;
        scores go through ``_scale``, so a file and an array score the same)."""
        rows = rows.astype(np.float32, copy=False)
        rows -= self._scale_center.astype(np.float32)
        rows /= self._scale_spread.astype(np.float32)
        return rows

    def fit(self, X, y=None):
        """Train the autoencoder(s) on ``X`` and set the threshold (``y`` is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk
            Training data; it may contain some outliers. Data on disk (a path to a ``.npy``
            file, a Parquet file or folder, a folder of images, an ``aekit.io`` source or a
            ``np.memmap``) is streamed a chunk at a time: the rows are held out with
            probability ``validation_fraction`` each, the robust scaler and the code statistics
            come from a random sample of the training rows (all of them when they fit in
            2^18 values), and memory holds a few chunks plus, per row, the held-out mark and
            the scores: ``8 * (2 * n_estimators + 3) + 1`` bytes at the peak (41 with one
            autoencoder), of which ``train_scores_`` keeps 8.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        if self.contamination != "auto" and self.fpr is not None:
            raise ValueError(
                f"Give either contamination or fpr, not both; got contamination="
                f"{self.contamination!r} and fpr={self.fpr!r}. Set contamination='auto' to use fpr."
            )
        if self.fpr is not None and self.validation_fraction is None:
            raise ValueError(
                f"fpr={self.fpr!r} needs held-out rows, but validation_fraction=None; set "
                "validation_fraction (e.g. 0.1), or fit and then call calibrate(X_clean, fpr=...)."
            )
        self._check_forest(streamed=is_source(X))
        rng = self._random_state()
        self.table_mode_ = False
        if is_source(X):
            source = check_source(self, X, reset=True)
            scan = StreamScan(source, self.validation_fraction, rng)
            held_out, sample, low, high = scan.held_out, scan.sample, scan.low, scan.high
            n_train, sample_rows = scan.n_train, scan.sample_rows
            del scan
        else:
            X = self._check_X(X, reset=True)
            held_out = held_out_mask(len(X), self.validation_fraction,
                                     make_generator(int(rng.randint(2**31 - 1))), min_train=2)
            if self.table_mode_:
                sample = X.iloc[np.flatnonzero(~held_out)]
                low, high = -np.inf, np.inf  # not images
            else:
                sample = X[~held_out]
                low, high = float(sample.min()), float(sample.max())
            n_train, sample_rows = len(sample), np.flatnonzero(~held_out)
        n_features = self.n_features_in_
        if n_features == 1:
            warnings.warn(
                "OutlierDetector got one feature: its autoencoder can only learn that value back "
                "(a code of 1 for 1 input), so it scores how far each value is from the typical "
                "ones. For a time series, use TimeSeriesDetector, which learns windows of it.",
                UserWarning, stacklevel=2)

        # Images keep their pixel scale and are scored by their reconstruction; tables are
        # scaled robustly and scored by both parts.
        image_like = looks_like_images(sample, low, high, n_features, self._binary_is_image)
        self.scaling_ = self.scaling
        if self.scaling == "auto":
            self.scaling_ = "none" if image_like else "robust"
        self.anomaly_score_ = self.anomaly_score
        if self.anomaly_score == "auto":
            self.anomaly_score_ = "reconstruction" if image_like else "combined"
        self._scale_center, self._scale_spread = thresholds.detector_scaler(
            sample, "none" if self.table_mode_ else self.scaling_, n_features)
        sample = self._scale(sample)
        training_rows = (TrainingRows(source, held_out, self._scale_chunk) if is_source(X)
                         else sample)

        if self.estimator is not None:
            template = self.estimator
        elif self.table_mode_:  # sized from the table's encoding, robustly scaled inside
            width = TableEncoder().fit(sample).n_inputs
            template = self._default_estimator(n_train, n_features, False, width).set_params(
                scaling="robust" if self.scaling_ == "robust" else "standard")
        else:
            template = self._default_estimator(n_train, n_features, image_like)
        template = self._variational_template(template)
        trim = (0.0 if image_like else 0.1) if self.trim == "auto" else float(self.trim)
        self.estimators_ = []
        for m in range(self.n_estimators):
            member = self._member(template, m, rng)
            with warnings.catch_warnings():
                if self.estimator is None:  # its short training is deliberate, not a failure
                    warnings.simplefilter("ignore", ConvergenceWarning)
                member.fit(training_rows)
                if trim and self.estimator is None and not is_source(X):
                    self._refit_trimmed(member, training_rows, trim)
            self.estimators_.append(member)
            if getattr(member, "interrupted_", False):  # Ctrl-C: keep what was trained
                break
        del training_rows
        self.interrupted_ = any(getattr(m, "interrupted_", False) for m in self.estimators_)

        self._fit_forest(sample, image_like=image_like, streamed=is_source(X), rng=rng)
        scaled = None if is_source(X) or self.table_mode_ else self._scale(X)  # once for both
        self._fit_code_statistics(sample, X, held_out, sample_rows, scaled)
        self._calibration_scores = self.train_scores_[held_out]
        self.n_calibration_ = int(held_out.sum())
        if self.contamination != "auto":
            self._set_threshold_contamination(float(self.contamination))
        elif self.n_calibration_ == 0:  # nothing held out: flag 1% of the training rows
            self._set_threshold_contamination(0.01)
        else:
            self._set_threshold_fpr(0.01 if self.fpr is None else float(self.fpr),
                                    warn=self.fpr is not None)
        return self

    # ------------------------------------------------------------------ its autoencoder
    def preprocess(self, X):
        """``X`` as the autoencoders see it: after this detector's scaling (``scaling_``)."""
        check_is_fitted(self)
        return self._over_rows(X, self._scale)

    def encode(self, X):
        """The codes of ``X`` by the first autoencoder (after this detector's scaling). Not
        named ``transform``: a detector is no scikit-learn transformer."""
        check_is_fitted(self)
        return self._over_rows(X, lambda rows: self.estimators_[0].transform(self._scale(rows)))

    def reconstruct(self, X):
        """The first autoencoder's reconstruction of ``X``, in X's units (a table comes back as
        a DataFrame with its columns and dtypes)."""
        check_is_fitted(self)

        def back(rows):
            recon = self.estimators_[0].reconstruct(self._scale(rows))
            if self.table_mode_:
                return recon
            recon = recon.reshape(len(recon), -1) * self._scale_spread + self._scale_center
            return recon.astype(rows.dtype, copy=False)

        return self._over_rows(X, back)

    def _random_state(self) -> np.random.RandomState:
        """``check_random_state(random_state)``; under torchrun the process group is joined
        first and ``None`` draws one seed on process 0 for all, so that every process holds
        out the same rows and trains its members on the same split."""
        if not launched_by_torchrun() or self.random_state is not None:
            return check_random_state(self.random_state)
        device = getattr(self.estimator, "device", "auto")
        init_from_env(resolve_device(device, "OutlierDetector"))
        return np.random.RandomState(seed_from_random_state(None))

    def score_samples(self, X):
        """Normality of each row: the negative anomaly score (higher is more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk as for ``fit``
            (scored a chunk at a time)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._over_rows(X, lambda rows: -self._anomaly_scores(self._scale(rows)))
