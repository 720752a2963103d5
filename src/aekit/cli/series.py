"""The command line on time series: ``aekit fit --window`` trains a ``TimeSeriesDetector``;
``score`` and ``report`` recognise one in a model file.

A series file is a CSV or Parquet table: one timestamp column (recognised by its dates, or named
with ``--time-column``) and one or more numeric value columns (the channels); other text columns
are refused by name (``--exclude`` them, or pass them through with ``--id-column``). The model
file keeps the table's schema, so a scored file's columns are matched by name.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..errors import DataFileError

SCORE_COLUMNS = ("timestamp", "score", "flag", "p_value", "top_channel", "top_step")


def is_series_model(model) -> bool:
    return hasattr(model, "window_") and hasattr(model, "channels_")


def series_frame(data, time_column: str | None = None):
    """The table of a command's ``Dataset`` as the detector's input: the time column first,
    parsed, then the numeric channels; a clear error for anything else."""
    import pandas as pd

    if data.kind != "table" or not hasattr(data.X, "columns"):
        raise DataFileError(f"{data.source} holds no table; a series is a CSV or Parquet file "
                            "with a timestamp column and value columns.")
    frame = data.X
    times = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if time_column is not None:
        if time_column not in frame.columns:
            raise DataFileError(f"--time-column {time_column!r} is not a column of "
                                f"{data.source}; its columns are {list(frame.columns)[:10]}.")
        column = frame[time_column]
        numeric = pd.api.types.is_numeric_dtype(column)
        parsed = None if numeric else pd.to_datetime(column, errors="coerce")
        if parsed is None or parsed.isna().all():
            raise DataFileError(f"Column {time_column!r} of {data.source} holds no dates "
                                "(e.g. 2024-03-01 12:00); name the timestamp column.")
        frame = frame.assign(**{time_column: parsed})
        times = [time_column]
    if len(times) > 1:
        raise DataFileError(f"{data.source} has several date columns {times[:4]}; name the "
                            "timestamps with --time-column and --exclude the others.")
    values = [c for c in frame.columns if c not in times]
    text = [c for c in values if not pd.api.types.is_numeric_dtype(frame[c])
            or pd.api.types.is_bool_dtype(frame[c])]
    if text:
        raise DataFileError(f"Column {text[0]!r} of {data.source} is not numeric; a series "
                            "holds numbers: --exclude it, or pass it through with --id-column.")
    if not values:
        raise DataFileError(f"{data.source} has no value column besides its timestamps.")
    return frame[times + values].astype({c: float for c in values}), (times[0] if times else None)


def fit_series(args, o: dict, data, progress: bool) -> str:
    from ..estimators import TimeSeriesDetector

    frame, time_column = series_frame(data, o.get("time_column"))
    detector = TimeSeriesDetector(
        window=o["window"], stride=o["stride"] or 1, contamination=o["contamination"] or "auto",
        estimator=_window_model(o, progress), random_state=o["seed"])
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        detector.fit(frame)
    seconds = time.perf_counter() - start
    notes = _messages(caught)
    metadata = {
        "cli_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()},
        "data_kind": "series", "kind": "series", "training_rows": len(frame),
        "source": str(args.data), "time_column": time_column,
        "schema": None if data.schema is None else data.schema.to_json(),
    }
    detector.save(args.output, metadata=metadata)
    flagged = int((detector.train_scores_ > detector.threshold_).sum())
    member = detector.estimator_
    channels = ", ".join(detector.channels_[:5]) + ("..." if detector.n_channels_ > 5 else "")
    return (f"{notes}Trained a time-series detector on {len(frame)} steps of {args.data} "
            f"({detector.n_channels_} channel(s): {channels}) in {seconds:.1f} s: windows of "
            f"{detector.window_} steps{_why_window(o['window'])}, {member.n_iter_} epochs.\n"
            f"Outlier threshold {detector.threshold_:.4g} (flags {flagged} training steps).\n"
            f"Model written to {args.output}.")


def _why_window(window) -> str:
    return " (the dominant period)" if window == "auto" else ""


def _messages(caught) -> str:
    """The detector's warnings as the command line's notes (on stderr, one line each)."""
    from .commands import note

    for w in caught:
        note(str(w.message))
    return ""


def _window_model(o: dict, progress: bool):
    """The window model the options describe, or None for the detector's default."""
    from .options import MODEL_OPTIONS, _constraints

    given = [k for k in MODEL_OPTIONS if o.get(k) not in (None, "auto", "mse", False)
             and k != "kind"]
    if o["kind"] not in ("auto", "conv", "dense"):
        raise ValueError(f"--kind {o['kind']} is not for series; use conv (default) or dense.")
    if not given and o["kind"] == "auto":
        return None
    from ..estimators import Autoencoder, SequenceAutoencoder

    params = dict(constraints=_constraints(o, o["components"]), verbose=1 if progress else 0,
                  loss=o["loss"] or "mse", device=o["device"])
    for option, name in (("epochs", "max_iter"), ("batch_size", "batch_size"),
                         ("learning_rate", "learning_rate_init")):
        if o[option] is not None:
            params[name] = o[option]
    if o["early_stopping"]:
        params["early_stopping"] = True
    if o["kind"] == "dense":
        return Autoencoder(o["components"], hidden_layer_sizes=o["hidden"] or (128,), **params)
    return SequenceAutoencoder(o["components"], **params)


def score_series(args, model, data) -> str:
    import pandas as pd

    from ..estimators.thresholds import conformal_p_values
    from .writers import write_table

    frame, time_column = series_frame(data, (model.metadata_ or {}).get("time_column"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        explained = model.explain(frame)
    _messages(caught)
    stamps = frame[time_column] if time_column else pd.Series(np.arange(len(frame)))
    score = explained.score.to_numpy()
    out = pd.DataFrame({
        "timestamp": stamps.to_numpy(), "score": score, "flag": score > model.threshold_,
        "p_value": conformal_p_values(model.train_scores_, score),
        "top_channel": explained.top_channel.to_numpy(),
        "top_step": stamps.to_numpy()[explained.top_step.to_numpy()],
    })
    if data.ids is not None:
        out = pd.concat([data.ids.reset_index(drop=True), out], axis=1)
    write_table(args.output, out)
    flagged = int(out["flag"].sum())
    return (f"Scored {len(out)} steps: {flagged} flagged ({flagged / len(out):.1%}), in "
            f"{_spans(out['flag'].to_numpy())} span(s). Written to {args.output}.")


def _spans(flags: np.ndarray) -> int:
    return int(np.sum(np.diff(np.r_[0, flags.astype(int)]) == 1))
