"""The subcommands: each checks its paths and options, reads files, calls the estimators, writes
files atomically, and returns a summary line. Notes go to stderr as one line each.

``fit`` trains an ``OutlierDetector`` (its autoencoder as the options describe); ``score`` uses
its threshold, p-values and explanations; ``encode``, ``denoise`` and ``report`` use its
autoencoder. A model saved from Python (a bare autoencoder) works with every command too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .columns import TableSchema
from .options import build_model, resolve_options
from .paths import check_output
from .writers import TABLE_OUTPUTS, output_names, write_images, write_table, write_table_parts


def note(message: str) -> None:
    """One line on stderr (the command line's warnings and notes)."""
    print(f"aekit: note: {message}", file=sys.stderr, flush=True)


class Interrupted(Exception):
    """Ctrl-C during a command; the message says what was kept (exit code 130)."""


def _read(args, *, schema: TableSchema | None = None, options=None):
    """The data of a command: loaded whole, or with ``--stream`` opened as a source."""
    from .files import read_data

    o = options or {}
    ids = o.get("id_column", getattr(args, "id_column", None) or [])
    exclude = o.get("exclude", getattr(args, "exclude", None) or [])
    categorical = o.get("categorical", getattr(args, "categorical", None) or [])
    if getattr(args, "stream", False):
        from .streamed import StreamedInput

        if len(ids) > 1:
            raise DataFileError("--stream passes one --id-column through; give one.")
        parquet = _is_parquet(args.data)
        model_ids = schema.ids if schema is not None and parquet else []
        data = StreamedInput(args.data, ids[0] if ids else (model_ids[0] if model_ids else None),
                             features=schema.features if schema is not None and parquet
                             else None)
    else:
        data = read_data(args.data, ids=ids, exclude=exclude, categorical=categorical,
                         schema=schema)
    for message in getattr(data, "notes", []):
        note(f"{args.data}: {message}")
    return data


def _is_parquet(path) -> bool:
    path = Path(path)
    if path.is_dir():
        return any(p.suffix.lower() in (".parquet", ".pq") for p in path.iterdir())
    return path.suffix.lower() in (".parquet", ".pq")


def _detector_input(data):
    """What the detector takes: rows (a feature table, an array, flattened images) or a source."""
    if data.streamed:
        return data.source
    if data.kind == "images":
        return data.X.reshape(len(data.X), -1)
    return data.X


def fit_command(args, progress: bool) -> str:
    o = resolve_options(args)
    check_output(args.output, [args.data, args.config], example="model.aekit")
    if o["patch"] is not None:
        from .photos import fit_photos

        return fit_photos(args, o, progress)
    data = _read(args, options=o)
    if o["window"] is not None:
        from .series import fit_series

        return fit_series(args, o, data, progress)
    kind, model = build_model(o, data, verbose=1 if progress else 0)
    X = _detector_input(data)
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    member = model.estimators_[0]
    metadata = {
        "cli_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()},
        "data_kind": data.kind, "image_shape": list(data.image_shape or []),
        "kind": kind, "training_rows": int(data.source.n_rows if data.streamed else len(X)),
        "source": str(args.data),
        "schema": None if data.schema is None else data.schema.to_json(),
    }
    if getattr(model, "interrupted_", False):
        if not member.n_iter_:
            raise Interrupted("interrupted before the first epoch ended; no model written.")
        model.save(args.output, metadata=metadata)
        raise Interrupted(f"interrupted after {member.n_iter_} epoch(s); the model trained so "
                          f"far is written to {args.output}.")
    model.save(args.output, metadata=metadata)
    rows = "images" if data.kind == "images" else "rows"
    return (f"Trained a {kind} autoencoder on {metadata['training_rows']} {rows} of "
            f"{args.data} in {seconds:.1f} s ({member.n_iter_} epochs, final loss "
            f"{member.loss_curve_[-1]:.4g}).\nCode size {member.n_components_}; outlier "
            f"threshold {model.threshold_:.4g} (flags {o['contamination'] or 0.01:.0%} of the "
            f"training rows).\nModel written to {args.output}.")


# ---------------------------------------------------------------------------- loading models
def load_model(path, command: str = ""):
    """A model file for the commands: a detector, an autoencoder (or an imputer: refused)."""
    from .. import load
    from ..estimators import AutoencoderImputer

    model = load(path)
    if isinstance(model, AutoencoderImputer):
        raise DataFileError(f"{path} is an imputer (aekit impute); give a model from aekit fit.")
    if command in ("encode", "score") and getattr(model, "code", None) == "spatial" and (
            (getattr(model, "metadata_", None) or {}).get("data_kind") == "photos"):
        raise DataFileError(f"{path} was trained on patches of photos (aekit fit --patch); "
                            f"it denoises whole images (aekit denoise), it has no {command}.")
    if command in ("encode", "denoise") and hasattr(model, "window_"):
        raise DataFileError(f"{path} is a time-series detector; it scores series (aekit score, "
                            f"aekit report), it has no {command} of its own.")
    return model


def _autoencoder(model):
    return model.estimators_[0] if hasattr(model, "estimators_") else model


def _schema(model) -> TableSchema | None:
    return TableSchema.from_json((getattr(model, "metadata_", {}) or {}).get("schema"))


def _read_for_model(args, model, *, extra_ids=()):
    extra = [*(getattr(args, "id_column", None) or []), *extra_ids]
    data = _read(args, schema=_schema(model), options={"id_column": extra})
    names = getattr(model, "feature_names_in_", None)
    if data.kind == "table" and names is not None and data.streamed:
        data.column_names = [str(n) for n in names]  # chunks in the model's order, named
    if data.kind == "table" and names is not None and data.feature_names is None:
        note(f"{args.data} has no column names; its columns are taken in the model's order")
        if not data.streamed and data.X.shape[1] == len(names):
            import pandas as pd

            data.X = pd.DataFrame(data.X, columns=[str(n) for n in names])
    trained_on = (getattr(model, "metadata_", {}) or {}).get("data_kind")
    if trained_on == "series":
        trained_on = "table"
    words = {"table": "a table", "images": "images"}
    if trained_on is not None and trained_on not in words:
        raise DataFileError(f"{args.model} says it was trained on {str(trained_on)[:20]!r} "
                            "data, which aekit does not know; train it again.")
    if trained_on and trained_on != data.kind:
        raise DataFileError(f"The model was trained on {words[trained_on]}, but {args.data} "
                            f"holds {words[data.kind]}; give data like the training data.")
    return data


def _inputs_of(model, data):
    """The rows the model takes: the detector's input, or (a bare autoencoder) its own."""
    if hasattr(model, "estimators_") or data.streamed:
        return _detector_input(data)
    if data.kind == "images" and model.sample_kind == "vector":
        return data.X.reshape(len(data.X), -1)
    return data.X


def _id_frame(data, n_rows: int):
    import pandas as pd

    if data.ids is not None:
        return data.ids.reset_index(drop=True)
    if data.names:
        return pd.DataFrame({"file": data.names})
    return pd.DataFrame(index=range(n_rows))


def _check_id_names(data, outputs: list[str]) -> None:
    if data.streamed:
        ids = [data.id_column] if data.id_column else []
    else:
        ids = [] if data.ids is None else list(data.ids.columns)
    clash = sorted(set(ids) & set(outputs))
    if clash:
        raise DataFileError(f"The ID column {clash[0]!r} has the name of an output column; "
                            "rename it in the input.")


def _write_rows(path, data, X, compute) -> int:
    """Write the ID columns and ``compute(rows)`` (a DataFrame) for every row: at once, or a
    chunk at a time for streamed data. Returns the number of rows."""
    import pandas as pd

    if data.streamed:
        return write_table_parts(path, data.frames(compute), data.source.n_rows)
    frame = compute(X)
    frame = pd.concat([_id_frame(data, len(frame)), frame.reset_index(drop=True)], axis=1)
    write_table(path, frame)
    return len(frame)


# ---------------------------------------------------------------------------- the commands
def encode_command(args, progress: bool) -> str:
    import pandas as pd

    check_output(args.output, [args.data, args.model], suffixes=TABLE_OUTPUTS,
                 example="codes.csv")
    model = load_model(args.model, "encode")
    _threads(model, args)
    data = _read_for_model(args, model)
    k = _autoencoder(model).n_components_
    columns = [f"code{i}" for i in range(k)]
    _check_id_names(data, columns)

    encode = model.encode if hasattr(model, "estimators_") else model.transform

    def codes(rows):
        return pd.DataFrame(np.asarray(encode(rows)), columns=columns)

    n_rows = _write_rows(args.output, data, _inputs_of(model, data), codes)
    return f"Encoded {n_rows} rows into {k} codes: {args.output}."


def score_command(args, progress: bool) -> str:
    from ..estimators.explain import as_explanation, describe_rows, top_features

    check_output(args.output, [args.data, args.model], suffixes=TABLE_OUTPUTS,
                 example="scores.csv")
    if args.top < 1:
        raise ValueError(f"--top must be at least 1; got {args.top}.")
    model = load_model(args.model, "score")
    _threads(model, args)
    data = _read_for_model(args, model)
    from .series import SCORE_COLUMNS, is_series_model, score_series

    if is_series_model(model):
        _check_id_names(data, list(SCORE_COLUMNS))
        return score_series(args, model, data)
    columns = ["anomaly_score", "outlier", "p_value", "top_features"]
    _check_id_names(data, columns)
    detector = hasattr(model, "estimators_")
    names = _feature_labels(model, data)
    top = min(args.top, len(names))
    flagged = [0]

    def scores(rows):
        import pandas as pd

        if detector:
            score = -model.score_samples(rows)
            outlier = score > model.threshold_
            p = model.p_values(rows) if model.n_calibration_ else np.full(len(score), np.nan)
            errors = model.feature_errors(rows)
        else:  # a bare autoencoder: its error against the threshold saved by an older fit
            found = model.infer(rows, ("error", "feature_errors"))
            score, errors = found.error, found.feature_errors
            threshold = (getattr(model, "metadata_", {}) or {}).get("threshold")
            outlier = score > (np.quantile(score, 0.99) if threshold is None else threshold)
            p = np.full(len(score), np.nan)
        explained = as_explanation(top_features(errors, top), top, names)
        flagged[0] += int(outlier.sum())
        return pd.DataFrame({"anomaly_score": score, "outlier": outlier, "p_value": p,
                             "top_features": describe_rows(explained)})

    n_rows = _write_rows(args.output, data, _inputs_of(model, data), scores)
    return (f"Scored {n_rows} rows: {flagged[0]} flagged as outliers "
            f"({flagged[0] / max(n_rows, 1):.1%}). Written to {args.output}.")


def _feature_labels(model, data) -> list[str]:
    if getattr(model, "feature_names_in_", None) is not None:
        return [str(n) for n in model.feature_names_in_]
    if data.kind == "images":
        c, h, w = data.image_shape
        return [f"c{ci}:y{y}x{x}" if c > 1 else f"y{y}x{x}"
                for ci in range(c) for y in range(h) for x in range(w)]
    return [f"x{i}" for i in range(model.n_features_in_)]


def denoise_command(args, progress: bool) -> str:
    import pandas as pd

    model = load_model(args.model, "denoise")
    _threads(model, args)
    from .photos import denoise_photos, is_photo_model

    if is_photo_model(model):
        return denoise_photos(args, model)
    if _holds_images(args.data):
        check_output(args.output, [args.data, args.model], folder=True)
    else:
        check_output(args.output, [args.data, args.model], suffixes=TABLE_OUTPUTS,
                     example="denoised.csv")
    data = _read_for_model(args, model)
    if data.kind == "images":
        shape = data.image_shape
        if data.streamed:  # a chunk of images at a time, named like the inputs
            all_names = output_names(_image_names(data, 0, data.source.n_rows))
            for start, stop, rows in data.source.checked_chunks():
                recon = np.asarray(model.reconstruct(rows)).reshape(-1, *shape)
                write_images(args.output, np.clip(recon, 0, 1), all_names[start:stop])
            return f"Denoised {data.source.n_rows} images into {args.output}/."
        names = output_names(data.names or _image_names(data, 0, len(data.X)))
        recon = np.asarray(model.reconstruct(_inputs_of(model, data))).reshape(data.X.shape)
        write_images(args.output, np.clip(recon, 0, 1), names)
        return f"Denoised {len(recon)} images into {args.output}/."
    columns = data.feature_names or [f"x{i}" for i in range(_autoencoder(model).n_features_in_)]
    _check_id_names(data, columns)

    def reconstruction(rows):
        recon = model.reconstruct(rows)
        return recon.reset_index(drop=True) if isinstance(recon, pd.DataFrame) else \
            pd.DataFrame(np.asarray(recon), columns=columns)

    n_rows = _write_rows(args.output, data, _inputs_of(model, data), reconstruction)
    return f"Denoised {n_rows} rows: {args.output}."


def _holds_images(path) -> bool:
    """A folder of images or a 4-D ``.npy`` (the header alone is read)."""
    path = Path(path)
    if path.is_dir():
        return not any(p.suffix.lower() in (".parquet", ".pq") for p in path.iterdir())
    if path.suffix.lower() == ".npy" and path.is_file():
        from ..io import NpySource

        try:
            return NpySource(path).image_shape is not None
        except DataFileError:
            return False
    return False


def _image_names(data, start: int, stop: int) -> list[str]:
    """The input file names of images ``start:stop`` (image folders), else numbered names."""
    names = getattr(data.source, "names", None) if data.streamed else data.names
    return names[start:stop] if names else [f"image_{i:05d}.png" for i in range(start, stop)]


def impute_command(args, progress: bool) -> str:
    from ..estimators import AutoencoderImputer

    check_output(args.output, [args.data], suffixes={".csv", ".parquet", ".pq"},
                 example="filled.csv")
    data = _read(args)
    if data.kind != "table":
        raise DataFileError(f"{args.data} holds images; aekit impute fills gaps in tables.")
    import pandas as pd

    features = data.X if hasattr(data.X, "columns") else pd.DataFrame(data.X)
    gaps = int(features.isna().to_numpy().sum())
    imputer = AutoencoderImputer(random_state=args.seed).fit(features)
    filled = imputer.transform(features)
    out = pd.concat([_id_frame(data, len(filled)), filled.reset_index(drop=True)], axis=1)
    write_table(args.output, out)
    return f"Filled {gaps} missing entries of {len(out)} rows: {args.output}."


def _threads(model, args) -> None:
    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be at least 1; got {threads}.")
        members = getattr(model, "estimators_", None) or [getattr(model, "estimator_", model)]
        for member in members:
            member.set_params(n_threads=threads)
