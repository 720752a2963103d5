"""Tables inside an estimator: when ``X`` is a table with text, dates or gaps, and what comes out.

An estimator with ``supports_tables`` enters table mode at fit when ``X`` is a DataFrame with a
non-numeric column, when ``categorical_features`` is given, or when ``X`` has missing values and
``missing="mask"`` (the default). It then keeps a fitted ``TableEncoder`` in ``table_``: the
network sees its encoding and learns with its loss (``aekit.estimators.table``). Numeric arrays
without gaps take the plain path, as before.
"""

from __future__ import annotations

import numpy as np

from .table import TableEncoder


def as_frame(X):
    """``X`` as a DataFrame (columns kept; an array's columns are numbered)."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(np.asarray(X) if not isinstance(X, (list, tuple)) else X)


def has_text(X) -> bool:
    """A DataFrame with a non-numeric (or boolean) column, or an object array holding text."""
    import pandas as pd
    from pandas.api import types

    if isinstance(X, pd.DataFrame):
        return any(not types.is_numeric_dtype(t) or types.is_bool_dtype(t) for t in X.dtypes)
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
        return any(isinstance(v, str) for v in X.ravel()[:10_000])
    return False


def has_gaps(X) -> bool:
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return bool(X.isna().to_numpy().any())
    if isinstance(X, np.ndarray) and X.dtype.kind == "f":
        return bool(np.isnan(X).any())
    return False


def table_frame(estimator, X, *, reset: bool):
    """``X`` as a DataFrame, its columns recorded on ``estimator`` (``reset``: at least two
    rows) or checked against the recorded ones (their number; the names are the encoder's)."""
    frame = as_frame(X)
    owner = type(estimator).__name__
    if reset:
        if len(frame) < 2:
            raise ValueError(f"Found array with {len(frame)} sample(s) (shape={frame.shape}) "
                             f"while a minimum of 2 is required by {owner}.")
        estimator.n_features_in_ = frame.shape[1]
        if all(isinstance(c, str) for c in frame.columns):
            estimator.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif frame.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {frame.shape[1]} features, but {owner} is expecting "
                         f"{estimator.n_features_in_} features as input.")
    return frame


class TableMixin:
    """Table mode for ``BaseAutoencoder`` (see the module docstring)."""

    supports_tables = False

    def _table_mode(self, X, reset: bool) -> bool:
        if not reset:
            return getattr(self, "table_", None) is not None
        if not self.supports_tables:
            return False
        if getattr(self, "categorical_features", None) is not None or has_text(X):
            return True
        return getattr(self, "missing", "error") == "mask" and has_gaps(X)

    def _check_table(self, X, *, reset: bool) -> np.ndarray:
        """The encoded rows of table ``X``; at fit, the ``TableEncoder`` is fitted first."""
        frame = table_frame(self, X, reset=reset)
        if getattr(self, "missing", "mask") == "error" and frame.isna().to_numpy().any():
            column = frame.columns[frame.isna().any().to_numpy()][0]
            raise ValueError(
                f"Input X contains NaN (missing values in column {column!r}), and "
                f"{type(self).__name__} was given missing='error'; fill them, or use "
                "missing='mask' to learn with the gaps."
            )
        if reset:
            if getattr(self, "loss", "mse") == "mae":
                raise ValueError(
                    "loss='mae' applies to numeric arrays; a table with text or gaps is learned "
                    "with per-column losses (squared error for numbers, cross-entropy for "
                    "categories). Use loss='mse', or encode the table as numbers first.")
            scaling = {"robust": "robust", "none": "none"}.get(self.scaling, "standard")
            self.table_ = TableEncoder(self.categorical_features, scaling).fit(frame)
        else:
            if hasattr(self, "feature_names_in_"):
                self.table_.check_columns(frame)
            else:  # numbered columns: by position
                frame = frame.set_axis([c["name"] for c in self.table_.columns], axis=1)
        return self.table_.encode(frame)

    def _decode_table(self, raw: np.ndarray, X, probabilities: bool = False):
        """Network outputs as the table ``X`` was: a DataFrame with the original columns and
        dtypes for a DataFrame (or text), a float array for a numeric array."""
        import pandas as pd

        index = X.index if isinstance(X, pd.DataFrame) else None
        decoded = self.table_.decode(raw, index=index, probabilities=probabilities)
        if isinstance(X, pd.DataFrame) or self.table_.categorical:
            return decoded
        return decoded.to_numpy(dtype=np.float64)
