"""Which columns of a table are features, which identify rows, and the same again at scoring.

The rules, the same for every command:

- ``--exclude COL`` columns are left out; ``--id-column COL`` columns are passed through to every
  per-row output (both may be repeated);
- a text column whose value is different in every row (and not named with ``--categorical``)
  is taken as an ID column, and stderr says so;
- a text column whose values are numbers but for a few (``oops``, ``n/a`` in a numeric column,
  ``1,000`` with thousands separators) is never an ID column: numbers with thousands
  separators are read as numbers (a note says so), and any other stray value is an error
  naming its row and the fix;
- a text column of dates (``1970-01-01``) becomes a date column; the rest of the text columns,
  booleans and ``--categorical`` columns are categorical features; numbers are numeric ones.

The model file keeps the result (``TableSchema``): feature names and kinds, ID and excluded
columns. ``score``/``encode``/``denoise``/``report`` match columns by name against it: a table
with the columns in another order is reordered; a missing, renamed or unknown column is a
one-line error naming it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import DataFileError

_THOUSANDS = re.compile(r"^\s*-?\d{1,3}(,\d{3})+(\.\d+)?\s*$")


@dataclass
class TableSchema:
    """The columns a model was trained on (stored in its file's metadata)."""

    features: list[str]
    ids: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, value) -> TableSchema | None:
        if not isinstance(value, dict) or not isinstance(value.get("features"), list):
            return None
        return cls(**{k: [str(v) for v in value.get(k, [])] for k in
                      ("features", "ids", "excluded", "categorical")})


def _is_text(series) -> bool:
    from pandas.api import types

    return types.is_object_dtype(series.dtype) or types.is_string_dtype(series.dtype)


def _numeric_or_error(series, path, name: str, notes: list[str]):
    """A text column that holds numbers: the numbers (thousands separators removed), or None if
    it is real text; a column of numbers with a stray value is an error naming the row."""
    import pandas as pd

    values = series.dropna().astype(str)
    if values.empty:
        return None
    parsed = pd.to_numeric(values, errors="coerce")
    share = float(parsed.notna().mean())
    if share == 1.0:
        return pd.to_numeric(series, errors="coerce")
    thousands = values.str.match(_THOUSANDS)
    if bool((thousands | parsed.notna()).all()):
        notes.append(f"read column {name!r} as numbers with thousands separators (e.g. "
                     f"{values[thousands].iloc[0].strip()!r})")
        return pd.to_numeric(series.astype(str).str.replace(",", "", regex=False)
                             .where(series.notna()), errors="coerce")
    if share >= 0.8:
        stray = values[parsed.isna() & ~thousands]
        row = int(series.index.get_loc(stray.index[0])) + 1
        raise DataFileError(
            f"{path}: column {name!r} holds numbers, but row {row} is {stray.iloc[0][:30]!r}; "
            "fix that value or leave it empty (a gap), or leave the column out with --exclude."
        )
    return None


def _dates(series):
    import pandas as pd

    values = series.dropna().astype(str)
    if values.empty or not values.str.match(r"^\s*\d{4}-\d{2}-\d{2}").all():
        return None
    parsed = pd.to_datetime(series, errors="coerce")
    return parsed if parsed.notna().sum() == len(values) else None


def type_columns(frame, path, *, ids=(), exclude=(), categorical=()):
    """``(features, id_frame, schema, notes)`` for a freshly read table (module docstring)."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    for option, names in (("--id-column", ids), ("--exclude", exclude),
                          ("--categorical", categorical)):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise DataFileError(f"{option} {unknown[0]!r} is not a column of {path}; its "
                                f"columns are {columns[:10]}.")
    clash = set(ids) & set(exclude) or set(ids) & set(categorical)
    if clash:
        raise DataFileError(f"Column {sorted(clash)[0]!r} is named as an ID column and as "
                            "something else; name it once.")
    notes: list[str] = []
    id_names, features = list(ids), {}
    for name in columns:
        if name in ids or name in exclude:
            continue
        series = frame[name]
        if _is_text(series) and name not in categorical:
            numbers = _numeric_or_error(series, path, name, notes)
            if numbers is not None:
                series = numbers
            elif (dates := _dates(series)) is not None:
                series = dates
            elif series.notna().all() and series.is_unique and len(series) > 1:
                id_names.append(name)
                notes.append(f"took column {name!r} as an ID column (text that differs in every "
                             "row); name IDs with --id-column, or --categorical to learn from it")
                continue
            elif series.nunique() > len(series) // 2:
                notes.append(f"column {name!r} is text with {series.nunique()} distinct values "
                             f"in {len(series)} rows; it is learned as a category (values seen "
                             "fewer than 5 times share one slot); --exclude it if it names rows")
        features[name] = series
    if not features:
        raise DataFileError(f"{path} has no columns to learn from (all are IDs or excluded).")
    import pandas as pd

    schema = TableSchema(list(features), id_names, list(exclude), list(categorical))
    return pd.DataFrame(features), frame[id_names], schema, notes


def apply_schema(frame, schema: TableSchema, path, extra_ids=()):
    """``(features in the model's order, id_frame, notes)`` for a table to score, matched to the
    schema by name (module docstring); ``extra_ids``: more columns to pass through."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    missing = [n for n in schema.features if n not in columns]
    passthrough = set(schema.ids) | set(schema.excluded) | set(extra_ids)
    unknown = [n for n in columns if n not in schema.features and n not in passthrough]
    if missing:
        hint = f" and has {unknown[:3]} instead (renamed?)" if unknown else ""
        raise DataFileError(
            f"{path} lacks the column(s) {missing[:5]} the model was trained on{hint}; give "
            "the same columns (any order)."
        )
    if unknown:
        raise DataFileError(
            f"{path} has column(s) {unknown[:5]} the model was not trained on; leave them out, "
            "or pass them through with --id-column."
        )
    notes = []
    order = [c for c in columns if c in schema.features]
    if order != schema.features:
        notes.append("reordered the columns to the model's order (matched by name)")
    features = {}
    for name in schema.features:
        series = frame[name]
        if _is_text(series) and name not in schema.categorical:
            numbers = _numeric_or_error(series, path, name, notes)
            if numbers is not None:
                series = numbers
            elif (dates := _dates(series)) is not None:
                series = dates
        features[name] = series
    import pandas as pd

    ids = [n for n in [*schema.ids, *extra_ids] if n in columns]
    return pd.DataFrame(features), frame[list(dict.fromkeys(ids))], notes


def numeric_matrix(features) -> np.ndarray | None:
    """The features as a float64 array when all are numbers without gaps, else None (the
    estimators' table mode takes the DataFrame)."""
    from pandas.api import types

    if all(types.is_numeric_dtype(t) and not types.is_bool_dtype(t) for t in features.dtypes):
        values = features.to_numpy(dtype=np.float64)
        if np.isfinite(values).all():
            return values
    return None
