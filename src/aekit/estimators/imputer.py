"""``AutoencoderImputer``: fill the gaps of a table from an autoencoder's reconstruction."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..constraints import MaskingNoise
from ..saving import register_estimator
from .autoencoder import Autoencoder
from .table_mode import as_frame


@register_estimator
class AutoencoderImputer(TransformerMixin, BaseEstimator):
    """Impute missing values with a denoising autoencoder of the table, like ``IterativeImputer``.

    ``fit`` trains an ``Autoencoder`` in table mode on ``X`` (gaps allowed; numeric, boolean,
    categorical and date columns) with ``MaskingNoise``: a fraction of the observed entries is
    hidden in every batch and the loss is taken on them, so the network learns to predict an
    entry from the rest of its row. ``transform`` fills each missing entry from the
    reconstruction (numbers in their units, the most likely category) and keeps every observed
    entry exactly as it was. It works in a ``Pipeline`` before any estimator.

    Parameters
    ----------
    estimator : Autoencoder or None, default=None
        The model to train (cloned). None: an ``Autoencoder`` sized from X (a code of twice
        its columns, at most 256), with ``MaskingNoise(mask_rate)``, early stopping on
        held-out rows and a budget of about ``steps`` gradient steps (at least 20 and at most
        2,000 epochs).
    mask_rate : float in (0, 1), default=0.25
        The fraction of entries hidden in training by the default model.
    steps : int, default=4000
        The default model's budget of gradient steps (early stopping usually ends it sooner).
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    estimator_ : Autoencoder
        The fitted model (``estimator_.table_`` describes the columns).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import AutoencoderImputer
    >>> X = np.random.default_rng(0).normal(size=(200, 3)) @ [[1, 2, 0], [0, 1, 1], [1, 0, 1]]
    >>> X[::10, 0] = np.nan
    >>> filled = AutoencoderImputer(random_state=0).fit_transform(X)
    >>> bool(np.isnan(filled).any()), bool((filled[1::10] == X[1::10]).all())
    (False, True)
    """

    _parameter_constraints: dict = {
        "estimator": [Autoencoder, None],
        "mask_rate": [Interval(Real, 0, 1, closed="neither")],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, mask_rate=0.25, steps=4000, random_state=None):
        self.estimator = estimator
        self.mask_rate = mask_rate
        self.steps = steps
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _default_model(self, n_rows: int, n_columns: int) -> Autoencoder:
        batch_size = int(min(256, max(16, n_rows // 8)))
        epochs = math.ceil(self.steps / math.ceil(n_rows / batch_size))
        # An overcomplete code (twice the columns, at most 256): the masking noise is the
        # regularizer, as in denoising imputers. It beat the half-width code on 14 tables off
        # the report (benchmarks/bench_imputer_design.py: mean RMSE 0.698 against 0.713).
        return Autoencoder(
            n_components=int(min(256, 2 * n_columns)),
            constraints=(MaskingNoise(self.mask_rate),), batch_size=batch_size,
            max_iter=int(min(2000, max(20, epochs))), early_stopping=True, n_iter_no_change=20,
        )

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` (gaps allowed; ``y`` is ignored)."""
        self._validate_params()
        frame = as_frame(X)
        model = (self._default_model(*frame.shape) if self.estimator is None
                 else clone(self.estimator))
        # table mode even without gaps now: gaps may come in transform
        model.set_params(missing="mask", random_state=self.random_state,
                         categorical_features=model.categorical_features or [])
        self.estimator_ = model.fit(X)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def transform(self, X):
        """``X`` with its missing entries filled; observed entries are kept exactly.

        Returns the kind of ``X``: a DataFrame (same columns, index and dtypes) or an array.
        """
        check_is_fitted(self)
        import pandas as pd

        frame = as_frame(X)
        gaps = frame.isna().to_numpy()
        if not gaps.any():
            return X.copy() if hasattr(X, "copy") else np.array(X, dtype=np.float64)
        recon = self.estimator_.reconstruct(frame)  # a DataFrame: the input was one
        filled = frame.copy()
        for j in range(frame.shape[1]):
            rows = np.flatnonzero(gaps[:, j])
            if len(rows):
                filled.iloc[rows, j] = recon.iloc[rows, j].to_numpy()
        if isinstance(X, pd.DataFrame):
            return filled
        return filled.to_numpy(dtype=np.float64) if all(
            k["kind"] == "numeric" for k in self.estimator_.table_.columns) else filled

    def __aekit_state__(self):
        fitted, tensors = self.estimator_.__aekit_state__()
        from ..saving import param_to_json

        state = {"estimator": type(self.estimator_).__name__, "fitted": fitted,
                 "params": {k: param_to_json(k, v)
                            for k, v in self.estimator_.get_params(deep=False).items()}}
        return state, tensors

    def __aekit_restore__(self, state, tensors):
        from ..saving import build_estimator

        self.estimator_ = build_estimator(state.get("estimator"), state.get("params"))
        self.estimator_.__aekit_restore__(state["fitted"], tensors)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_

    def save(self, path, *, metadata=None) -> None:
        """Write the fitted imputer to one safetensors file (weights + JSON); no pickle."""
        from ..saving import save_model

        save_model(self, path, metadata)
