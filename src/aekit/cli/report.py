"""``aekit report``: one HTML report of a model, with its data when given (the report for a
series model comes from ``aekit.reports.series``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .commands import _inputs_of, _read_for_model, _schema, _threads, load_model
from .paths import check_output


def report_command(args, progress: bool) -> str:
    from ..reports import write_report

    check_output(args.output, [args.data, args.model, args.clean], suffixes={".html"},
                 example="report.html")
    model = load_model(args.model)
    _threads(model, args)
    extra = [args.label_column] if args.label_column else []
    data = _read_for_model(args, model, extra_ids=extra) if args.data is not None else None
    X = ids = labels = clean = None
    if data is not None:
        if data.streamed:
            raise DataFileError("aekit report reads its data whole; drop --stream.")
        X, ids = _inputs_of(model, data), data.ids
        if args.label_column is not None:
            labels = _labels(args, data)
        from .series import is_series_model, series_frame

        if is_series_model(model):
            X = series_frame(data, (model.metadata_ or {}).get("time_column"))[0]
            labels = None if labels is None else _flags(labels, args.label_column)
        if args.clean is not None:
            from .files import read_data

            clean = _inputs_of(model, read_data(args.clean, schema=_schema(model)))
    image_shape = (getattr(model, "metadata_", {}) or {}).get("image_shape") or None
    write_report(args.output, model, X, labels, ids=ids, clean=clean,
                 title=f"aekit report: {Path(args.model).name}",
                 image_shape=tuple(image_shape) if image_shape else None)
    return f"Report written to {args.output}."


def _labels(args, data):
    if data.ids is None or args.label_column not in data.ids.columns:
        raise DataFileError(f"--label-column {args.label_column!r} must be one of the pass-through "
                            "columns (name it with --id-column when the model was trained).")
    return data.ids[args.label_column].to_numpy()


def _flags(labels, column: str) -> np.ndarray:
    """A series' label column as one flag per step (1/True: anomalous)."""
    import pandas as pd

    values = pd.to_numeric(pd.Series(labels), errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        raise DataFileError(f"--label-column {column!r} must hold 0/1 (or True/False) per step.")
    return values.to_numpy().astype(bool)
