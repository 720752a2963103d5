"""Real tables inside the model: numeric, boolean, categorical and date columns, with gaps.

``TableEncoder`` turns a table into the network's input and back:

- **numeric** columns are centred and scaled ("standard": mean and standard deviation;
  "robust": median and IQR / 1.349);
- **date and duration** columns (``datetime64``/``timedelta64``) become numbers: days since
  1970-01-01 (durations: days), then numeric; they come back as dates (durations);
- **categorical** columns (text, ``category`` dtype, booleans, and integer columns named in
  ``categorical_features``) become one-hot blocks; categories seen fewer than ``min_frequency``
  times in training share one "other" slot, as do categories met only later; the network
  outputs one logit per slot and the loss is the cross-entropy;
- **missing values** (NaN, None, ``pd.NA``, NaT): a numeric entry is given as 0 (the column's
  centre) with its missing-indicator input set (every numeric column has one: gaps may come
  after fit), a categorical one as an all-zero block; missing entries count in no loss.

The input row is ``[numeric values | missing indicators | one-hot blocks]`` and the output row
``[numeric values | logits of every block]``, so the loss can read each entry's target and
whether it was observed from the clean input (``TableLoss``). Each column's loss is divided by
what predicting its training distribution would cost (1 for a standardized numeric column, the
entropy for a categorical one), so no column type drowns the others; a row's error is the mean
over its observed entries, so rows with gaps compare with complete ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import DataFileError
from ..io import FLOAT32_MAX

_DAY_NS = 86_400 * 10**9


def _kind(series, categorical: bool) -> str:
    from pandas.api import types

    if categorical:
        return "categorical"
    if types.is_bool_dtype(series.dtype):
        return "boolean"
    if types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if types.is_timedelta64_dtype(series.dtype):
        return "timedelta"
    if types.is_numeric_dtype(series.dtype):
        return "numeric"
    return "categorical"


def _as_numbers(series, kind: str) -> np.ndarray:
    """A numeric, date or duration column as float64 (dates: days since 1970-01-01)."""
    import pandas as pd

    if kind == "datetime":
        values = pd.to_datetime(series)
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = values.astype("datetime64[ns]").to_numpy().astype("int64").astype(np.float64)
        ns[values.isna().to_numpy()] = np.nan
        return ns / _DAY_NS
    if kind == "timedelta":
        ns = pd.to_timedelta(series).astype("timedelta64[ns]").to_numpy().astype("int64")
        out = ns.astype(np.float64)
        out[series.isna().to_numpy()] = np.nan
        return out / _DAY_NS
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _check_float32(values: np.ndarray, name, where: str = "") -> None:
    """The network computes in float32: refuse a column whose values (NaN: gaps) it cannot
    hold. Two reductions that skip NaN, no copy of the column."""
    if not values.size:
        return
    largest = max(abs(float(np.fmin.reduce(values))), abs(float(np.fmax.reduce(values))))
    if largest > FLOAT32_MAX:
        raise DataFileError(
            f"Column {name!r} has values too large for float32 {where}(max |x| = {largest:.3g} "
            "> 3.4e38); rescale it (e.g. divide by its maximum) or drop it.")


def _plain(value):
    """A category as a JSON-able Python value."""
    return value.item() if isinstance(value, np.generic) else value


class TableEncoder:
    """Fitted per-column encodings of a table (see the module docstring)."""

    def __init__(self, categorical_features=None, scaling: str = "standard",
                 min_frequency: int = 5):
        self.categorical_features = categorical_features
        self.scaling = scaling
        self.min_frequency = min_frequency

    # ------------------------------------------------------------------ fit
    def fit(self, frame) -> TableEncoder:
        declared = self._declared(frame)
        self.columns: list[dict[str, Any]] = []
        for name in frame.columns:
            series = frame[name]
            kind = _kind(series, name in declared)
            column: dict[str, Any] = {"name": str(name), "kind": kind, "dtype": str(series.dtype)}
            if kind in ("numeric", "datetime", "timedelta"):
                values = _as_numbers(series, kind)
                observed = values[np.isfinite(values)]
                if observed.size == 0:
                    raise DataFileError(f"Column {name!r} has no values; drop it.")
                _check_float32(observed, name)
                column.update(self._scale_of(observed), missing=bool(observed.size < len(values)))
            else:
                column.update(self._categories_of(series))
            self.columns.append(column)
        self._build_layout()
        return self

    def _declared(self, frame) -> set:
        declared = self.categorical_features
        if declared is None:
            return set()
        names = list(frame.columns)
        out = set()
        for item in declared:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= item < len(names):
                    raise ValueError(f"categorical_features has index {item}, but X has "
                                     f"{len(names)} columns.")
                out.add(names[item])
            elif item in names:
                out.add(item)
            else:
                raise ValueError(f"categorical_features names {item!r}, which is not a column "
                                 f"of X (columns: {[str(n) for n in names][:10]}).")
        return out

    def _scale_of(self, observed: np.ndarray) -> dict[str, float]:
        if self.scaling == "robust":
            center = float(np.median(observed))
            q1, q3 = np.percentile(observed, [25, 75])
            spread = float((q3 - q1) / 1.349) or float(observed.std())
        elif self.scaling == "none":
            center, spread = 0.0, 1.0
        else:
            center, spread = float(observed.mean()), float(observed.std())
        return {"center": center, "spread": spread if spread > 1e-12 else 1.0}

    def _categories_of(self, series) -> dict[str, Any]:
        odd = next((v for v in series.dropna().to_numpy(dtype=object)[:10_000]
                    if not isinstance(v, (str, bool, int, float, np.generic))), None)
        if odd is not None:
            raise TypeError(
                f"X contains a value of type {type(odd).__name__} in column {series.name!r}, "
                "not a number or a category (text); convert the column first."
            )
        counts = series.dropna().value_counts(sort=True)
        kept = [_plain(v) for v, c in counts.items() if c >= self.min_frequency]
        other = len(kept) < len(counts)  # rare categories share the "other" slot
        total = max(int(counts.sum()), 1)
        freqs = [counts.iloc[i] / total for i in range(len(kept))]
        if other:
            freqs.append(1.0 - sum(freqs))
        entropy = -sum(p * math.log(p) for p in freqs if p > 0)
        out = {"categories": kept, "entropy": entropy, "missing": bool(series.isna().any())}
        if str(series.dtype) == "category":  # its levels, in order, for the dtype it comes back as
            out.update(levels=[_plain(v) for v in series.cat.categories],
                       ordered=bool(series.cat.ordered))
        return out

    def _build_layout(self) -> None:
        self.numeric = [c for c in self.columns if c["kind"] in ("numeric", "datetime",
                                                                   "timedelta")]
        self.categorical = [c for c in self.columns if c["kind"] in ("categorical", "boolean")]
        self.indicators = list(range(len(self.numeric)))  # every numeric column: gaps may come
        n_num, n_ind = len(self.numeric), len(self.indicators)
        self.block_sizes = [len(c["categories"]) + 1 for c in self.categorical]  # + "other"
        self.n_inputs = n_num + n_ind + sum(self.block_sizes)
        self.n_outputs = n_num + sum(self.block_sizes)
        if self.n_inputs == 0:
            raise DataFileError("X has no columns to learn from.")
        self.loss = TableLoss(self)

    # ------------------------------------------------------------------ encode / decode
    def check_columns(self, frame) -> None:
        names = [str(c) for c in frame.columns]
        expected = [c["name"] for c in self.columns]
        if names != expected:
            missing = [n for n in expected if n not in names]
            extra = [n for n in names if n not in expected]
            raise ValueError(
                f"X has columns {names[:6]}, but the model was fitted on {expected[:6]}"
                + (f" (missing: {missing[:5]})" if missing else "")
                + (f" (not seen in fit: {extra[:5]})" if extra else "")
                + "; give the same columns."
            )

    def encode(self, frame) -> np.ndarray:
        """The network's input for ``frame`` (float32, ``n_inputs`` columns)."""
        import pandas as pd

        n = len(frame)
        n_num = len(self.numeric)
        out = np.zeros((n, self.n_inputs), dtype=np.float32)
        by_name = {str(c): c for c in frame.columns}
        for j, column in enumerate(self.numeric):
            values = _as_numbers(frame[by_name[column["name"]]], column["kind"])
            if np.isinf(values).any():
                row = int(np.flatnonzero(np.isinf(values))[0])
                raise ValueError(f"Column {column['name']!r} has an infinite value (row "
                                 f"{row + 1}); replace it or leave the entry empty.")
            scaled = (values - column["center"]) / column["spread"]
            _check_float32(scaled, column["name"], "(after scaling) ")
            missing = ~np.isfinite(scaled)
            out[:, j] = np.where(missing, 0.0, scaled)
            if j in self.indicators:
                out[:, n_num + self.indicators.index(j)] = missing
        offset = n_num + len(self.indicators)
        for column, size in zip(self.categorical, self.block_sizes):
            series = frame[by_name[column["name"]]]
            present = series.notna().to_numpy()
            # -1 for a gap and for a category not kept at fit (rare, or unseen)
            codes = pd.Index(column["categories"], dtype=object).get_indexer(
                series.astype(object))
            slots = np.where(codes >= 0, codes, np.where(present, size - 1, -1))  # other / gap
            rows = np.flatnonzero(slots >= 0)
            out[rows, offset + slots[rows]] = 1.0
            offset += size
        return out

    def decode(self, outputs: np.ndarray, index=None, probabilities: bool = False):
        """The table the network's ``outputs`` describe, in the original columns and dtypes
        (categories back as categories: the most likely one; with ``probabilities``, also a
        ``"<column>_proba"`` column per categorical column with that category's probability)."""
        import pandas as pd

        data: dict[str, Any] = {}
        n_num = len(self.numeric)
        for j, column in enumerate(self.numeric):
            values = outputs[:, j].astype(np.float64) * column["spread"] + column["center"]
            data[column["name"]] = self._numeric_back(values, column)
        offset = n_num
        probas = {}
        for column, size in zip(self.categorical, self.block_sizes):
            logits = torch.from_numpy(np.ascontiguousarray(outputs[:, offset:offset + size]))
            p = torch.softmax(logits.double(), dim=1).numpy()
            best = p.argmax(axis=1)
            labels = [*column["categories"], None]  # "other" comes back as missing
            values = [labels[i] for i in best]
            data[column["name"]] = self._category_back(values, column)
            probas[f"{column['name']}_proba"] = p[np.arange(len(p)), best]
            offset += size
        frame = pd.DataFrame(data, index=index)[[c["name"] for c in self.columns]]
        if probabilities:
            for name, values in probas.items():
                frame[name] = values
        return frame

    @staticmethod
    def _numeric_back(values: np.ndarray, column: dict[str, Any]):
        import pandas as pd

        if column["kind"] in ("datetime", "timedelta"):
            make = pd.to_datetime if column["kind"] == "datetime" else pd.to_timedelta
            values = make(np.rint(values * _DAY_NS).astype("int64"))
            try:
                return values.astype(column["dtype"])  # the unit (and zone) it had
            except (TypeError, ValueError):
                return values
        dtype = column["dtype"]
        if dtype.lower().startswith(("int", "uint")):  # Int64 (nullable) or int64
            return pd.array(np.rint(values).astype(np.int64)).astype(dtype)
        return values.astype(dtype if dtype in ("float32", "float64") else np.float64)

    @staticmethod
    def _category_back(values: list, column: dict[str, Any]):
        import pandas as pd

        if column["kind"] == "boolean":
            return pd.array(values, dtype="boolean")
        if column["dtype"] == "category":
            return pd.Categorical(values, categories=column.get("levels", column["categories"]),
                                  ordered=column.get("ordered", False))
        return pd.array(values, dtype=object)

    # ------------------------------------------------------------------ model files
    def to_config(self) -> dict[str, Any]:
        return {"categorical_features": None if self.categorical_features is None
                else list(self.categorical_features), "scaling": self.scaling,
                "min_frequency": self.min_frequency, "columns": self.columns}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TableEncoder:
        encoder = cls(config.get("categorical_features"), config["scaling"],
                      config["min_frequency"])
        encoder.columns = [dict(c) for c in config["columns"]]
        encoder._build_layout()
        return encoder


class TableLoss:
    """The per-column loss of a ``TableEncoder``'s layout, on torch tensors.

    ``per_entry(x_hat, x)`` is the ``(batch, n_columns)`` loss (0 where the clean input ``x``
    has a gap), each column divided by its baseline; ``per_sample`` its mean over each row's
    observed entries; ``batch`` the sum over observed entries averaged over the batch (the
    training objective).
    """

    name = "table"

    def __init__(self, encoder: TableEncoder):
        n_num = len(encoder.numeric)
        self.n_num = n_num
        self.indicator_of = {j: n_num + k for k, j in enumerate(encoder.indicators)}
        offset_in, offset_out = n_num + len(encoder.indicators), n_num
        self.blocks = []  # (input slice, output slice, weight)
        for column, size in zip(encoder.categorical, encoder.block_sizes):
            weight = 1.0 / max(column["entropy"], 0.05)
            self.blocks.append((slice(offset_in, offset_in + size),
                                slice(offset_out, offset_out + size), weight))
            offset_in += size
            offset_out += size
        self.order = [i for i, c in enumerate(encoder.columns)
                      if c["kind"] in ("numeric", "datetime", "timedelta")]
        self.order += [i for i, c in enumerate(encoder.columns)
                       if c["kind"] in ("categorical", "boolean")]

    def per_entry(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(losses, observed)``, both (batch, n_columns) in the table's column order."""
        x_hat = x_hat.float()
        parts, seen = [], []
        if self.n_num:
            observed = torch.ones_like(x[:, :self.n_num])
            for j, k in self.indicator_of.items():
                observed[:, j] = 1.0 - x[:, k]
            parts.append((x_hat[:, :self.n_num] - x[:, :self.n_num]).pow(2) * observed)
            seen.append(observed)
        for block_in, block_out, weight in self.blocks:
            onehot = x[:, block_in]
            observed = onehot.sum(dim=1).clamp(max=1.0)
            target = onehot.argmax(dim=1)
            ce = F.cross_entropy(x_hat[:, block_out], target, reduction="none")
            parts.append((weight * ce * observed)[:, None])
            seen.append(observed[:, None])
        losses, observed = torch.cat(parts, dim=1), torch.cat(seen, dim=1)
        inverse = torch.as_tensor(np.argsort(self.order), device=x.device)
        return losses[:, inverse], observed[:, inverse]

    def per_sample(self, x_hat: Tensor, x: Tensor) -> Tensor:
        losses, observed = self.per_entry(x_hat, x)
        return losses.sum(dim=1) / observed.sum(dim=1).clamp(min=1.0)

    def batch(self, x_hat: Tensor, x: Tensor) -> Tensor:
        losses, _ = self.per_entry(x_hat, x)
        return losses.sum() / x.shape[0]

    # -- corruption in the table's terms (``MaskingNoise``, numeric-only noise) ---------------
    @property
    def numeric_slots(self) -> slice:
        """Where the numeric values sit in the input row."""
        return slice(0, self.n_num)

    def mask_entries(self, x: Tensor, rate: float, generator) -> Tensor:
        """A copy of ``x`` with a fraction ``rate`` of its entries made missing: a numeric value
        becomes 0 with its indicator set, a category an all-zero block. Trained against the
        clean input, the network learns to fill gaps (a denoising autoencoder of tables)."""
        n_columns = self.n_num + len(self.blocks)
        hit = torch.rand((x.shape[0], n_columns), generator=generator, device=x.device) < rate
        out = x.clone()
        if self.n_num:
            numeric = hit[:, :self.n_num]
            out[:, :self.n_num] = out[:, :self.n_num].masked_fill(numeric, 0.0)
            for j, k in self.indicator_of.items():
                out[:, k] = torch.where(numeric[:, j], torch.ones_like(out[:, k]), out[:, k])
        for b, (block_in, _, _) in enumerate(self.blocks):
            out[:, block_in] = out[:, block_in] * (~hit[:, self.n_num + b])[:, None]
        return out
