"""The subcommands: each reads files, calls the estimators, writes files, returns a summary."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULTS: dict[str, Any] = {
    "kind": "auto", "components": None, "hidden": None, "noise": None, "noise_level": None,
    "sparsity": None, "sparsity_target": 0.05, "sparsity_weight": None, "loss": "mse",
    "epochs": None, "batch_size": None, "device": "auto", "seed": 0, "contamination": 0.01,
    "id_column": None, "checkpoint": None,
}
_KIND_WORDS = {"table": "a table", "images": "images"}
_NOISES = {"gaussian": "gaussian_noise", "salt_and_pepper": "salt_and_pepper_noise",
           "masking": "masking_noise"}


def read_config(path: str | None) -> dict[str, Any]:
    """Options from a TOML file (keys as the long options, with underscores)."""
    if path is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    file = Path(path)
    if not file.exists():
        raise ValueError(f"Config file {file} does not exist.")
    try:
        config = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file} is not valid TOML ({exc}).") from None
    config = config.get("fit", config)
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{file}: unknown option(s) {unknown}; known: {sorted(DEFAULTS)}.")
    return config


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the config file, then the options given on the command line."""
    options = {**DEFAULTS, **read_config(args.config)}
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    return options


def _constraints(o: dict[str, Any]) -> tuple:
    from ..constraints import GaussianNoise, KLSparsity, L1Activity, get_constraint

    out: list = []
    if o["noise"]:
        if o["noise"] not in _NOISES:
            raise ValueError(f"--noise must be one of {sorted(_NOISES)}; got {o['noise']!r}.")
        noise = get_constraint(_NOISES[o["noise"]])
        if o["noise_level"] is not None:
            key = "std" if isinstance(noise, GaussianNoise) else "rate"
            noise.set_params(**{key: o["noise_level"]})
        out.append(noise)
    if o["sparsity"]:
        kinds = {"kl", "l1", "topk"}
        if o["sparsity"] not in kinds:
            raise ValueError(f"--sparsity must be one of {sorted(kinds)}; got {o['sparsity']!r}.")
        if o["sparsity"] == "kl":
            out.append(KLSparsity(target=o["sparsity_target"],
                                  weight=o["sparsity_weight"] if o["sparsity_weight"] else 3.0))
        elif o["sparsity"] == "l1":
            out.append(L1Activity(o["sparsity_weight"] if o["sparsity_weight"] else 1e-3))
        else:
            from ..constraints import TopK

            k = o["sparsity_target"]
            if k < 1 or int(k) != k:
                raise ValueError("--sparsity topk takes --sparsity-target K, a whole number >= 1.")
            out.append(TopK(int(k)))
    return tuple(out)


def build_estimator(o: dict[str, Any], data, verbose: int):
    from ..estimators import Autoencoder, ConvAutoencoder

    kind = o["kind"]
    if kind == "auto":
        kind = "conv" if data.kind == "images" else "dense"
    if kind not in ("dense", "conv", "stacked", "stacked-conv"):
        raise ValueError(
            f"--kind must be auto, dense, conv, stacked or stacked-conv; got {kind!r}."
        )
    if kind in ("conv", "stacked-conv") and data.kind != "images":
        raise ValueError(f"--kind {kind} needs images (a folder of PNG/JPEG or a 4-D NPY).")
    common: dict[str, Any] = dict(constraints=_constraints(o), loss=o["loss"],
                                  random_state=o["seed"], device=o["device"], verbose=verbose)
    for key, param in (("components", "n_components"), ("epochs", "max_iter"),
                       ("batch_size", "batch_size")):
        if o[key] is not None:
            common[param] = o[key]
    if o["checkpoint"]:
        common.update(checkpoint_dir=o["checkpoint"], resume=True)
    if kind in ("conv", "stacked-conv"):
        pre = "greedy" if kind == "stacked-conv" else None
        return kind, ConvAutoencoder(image_shape=data.image_shape, pretraining=pre, **common)
    hidden = o["hidden"]
    if isinstance(hidden, str):
        try:
            hidden = tuple(int(h) for h in hidden.split(",") if h.strip())
        except ValueError:
            raise ValueError(f"--hidden takes widths like 256,64; got {hidden!r}.") from None
    if kind == "stacked":
        common["pretraining"] = "greedy"
        hidden = hidden or (256, 128)
    if hidden is not None:
        common["hidden_layer_sizes"] = tuple(hidden)
    return kind, Autoencoder(**common)


def model_input(model, data):
    """What the model takes: images stay 4-D for conv models and flatten for dense ones;
    streamed data is its source (rows of C*H*W pixels suit both)."""
    meta = getattr(model, "metadata_", {}) or {}
    trained_on = meta.get("data_kind")
    if trained_on and trained_on != data.kind:
        raise ValueError(
            f"The model was trained on {_KIND_WORDS[trained_on]}, but "
            f"{getattr(data, 'source_name', data.source)} holds {_KIND_WORDS[data.kind]}; use "
            "data like the training data."
        )
    if data.streamed:
        return data.source
    if data.kind == "images" and model.sample_kind == "vector":  # a dense model: flat rows
        return data.X.reshape(len(data.X), -1)
    return data.X


def per_feature_errors(model, X: np.ndarray) -> np.ndarray:
    """Reconstruction loss per feature (pixel), in the model's scaled units and loss."""
    return model.infer(X, ("feature_errors",)).feature_errors


def feature_labels(model, data) -> list[str]:
    if data.feature_names:
        return list(data.feature_names)
    if data.kind == "images":
        c, h, w = data.image_shape
        return [f"c{ci}:y{y}x{x}" if c > 1 else f"y{y}x{x}"
                for ci in range(c) for y in range(h) for x in range(w)]
    n_features = data.n_features if data.streamed else int(np.prod(data.X.shape[1:]))
    return [f"x{i}" for i in range(n_features)]


def id_frame(data):
    import pandas as pd

    if data.ids is not None:
        return data.ids.reset_index(drop=True)
    if data.names:
        return pd.DataFrame({"file": data.names})
    return pd.DataFrame(index=range(len(data.X)))


def check_output(path, folder_ok: bool = False, table: bool = True) -> None:
    """Refuse an output that cannot be written before any work is done."""
    from ..errors import DataFileError

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataFileError(f"Folder {parent} does not exist; create it first.")
    if table and not folder_ok and path.suffix.lower() not in (".csv", ".parquet", ".pq", ".npy"):
        raise DataFileError(
            f"Unknown output format {path.suffix!r} for {path}; use .csv, .parquet or .npy."
        )


def fit_command(args, progress: bool) -> str:
    from .files import read_data

    check_output(args.output, table=False)
    o = resolve_options(args)
    if getattr(args, "stream", False):
        from .streamed import StreamedInput

        data = StreamedInput(args.data, o["id_column"])
        source_name = data.source_name
    else:
        data = read_data(args.data, o["id_column"])
        source_name = data.source
    kind, model = build_estimator(o, data, verbose=1 if progress else 0)
    X = data.X if data.streamed else model_input(model, data)
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    errors = model.reconstruction_error(X)
    contamination = float(o["contamination"])
    if not 0 < contamination < 0.5:
        raise ValueError(f"--contamination must be in (0, 0.5); got {contamination}.")
    threshold = float(np.quantile(errors, 1 - contamination))
    metadata = {
        "cli_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()},
        "data_kind": data.kind, "image_shape": list(data.image_shape or []),
        "threshold": threshold, "contamination": contamination, "kind": kind,
        "training_rows": int(len(X)), "source": source_name,
    }
    model.save(args.output, metadata=metadata)
    rows = "images" if data.kind == "images" else "rows"
    return (f"Trained a {kind} autoencoder on {len(X)} {rows} of {source_name} in {seconds:.1f} s "
            f"({model.n_iter_} epochs, final loss {model.loss_curve_[-1]:.4g}).\n"
            f"Code size {model.n_components_}; outlier threshold {threshold:.4g} "
            f"(top {contamination:.0%} of training errors).\nModel written to {args.output}.")


def _load(path):
    from .. import load

    return load(path)


def _write_table(path, frame) -> None:
    from .files import write_table

    write_table(path, frame)


def _read(args, model):
    """The data of ``encode``/``score``: loaded whole, or with ``--stream`` opened as a source."""
    from .files import read_data

    if getattr(args, "stream", False):
        from .streamed import StreamedInput

        data = StreamedInput(args.data, args.id_column)
    else:
        data = read_data(args.data, args.id_column)
    return data, model_input(model, data)


def _write_rows(path, data, X, compute) -> int:
    """Write the ID columns and ``compute(rows)`` (a DataFrame) for every row: at once, or a
    chunk at a time for streamed data. Returns the number of rows."""
    import pandas as pd

    from .files import write_table_parts

    if data.streamed:
        return write_table_parts(path, data.frames(compute), data.source.n_rows)
    frame = pd.concat([id_frame(data), compute(X)], axis=1)
    _write_table(path, frame)
    return len(frame)


def encode_command(args, progress: bool) -> str:
    import pandas as pd

    check_output(args.output)
    model = _load(args.model)
    data, X = _read(args, model)

    def codes(rows):
        values = model.transform(rows)
        return pd.DataFrame(values, columns=[f"code{i}" for i in range(values.shape[1])])

    n_rows = _write_rows(args.output, data, X, codes)
    return f"Encoded {n_rows} rows into {model.n_components_} codes: {args.output}."


def score_command(args, progress: bool) -> str:
    import pandas as pd

    check_output(args.output)
    model = _load(args.model)
    data, X = _read(args, model)
    threshold = (getattr(model, "metadata_", {}) or {}).get("threshold")
    if threshold is None:  # a model saved from Python: flag the top 1% of these rows
        threshold = np.quantile(model.reconstruction_error(X), 0.99)
    threshold = float(threshold)
    labels, flagged = feature_labels(model, data), [0]

    def scores(rows):  # the error in the model's loss (as the threshold); top features by
        errors = model.reconstruction_error(rows)  # their squared error's share
        per_feature = per_feature_errors(model, rows)
        top = np.argsort(-per_feature, axis=1)[:, : args.top]
        share = per_feature / np.maximum(per_feature.sum(axis=1, keepdims=True), 1e-300)
        explain = ["; ".join(f"{labels[j]} ({share[i, j]:.0%})" for j in row)
                   for i, row in enumerate(top)]
        flagged[0] += int((errors > threshold).sum())
        return pd.DataFrame({"reconstruction_error": errors, "outlier": errors > threshold,
                             "top_features": explain})

    n_rows = _write_rows(args.output, data, X, scores)
    return (f"Scored {n_rows} rows: {flagged[0]} above the threshold {threshold:.4g} "
            f"({flagged[0] / max(n_rows, 1):.1%}). Written to {args.output}.")


def denoise_command(args, progress: bool) -> str:
    import pandas as pd

    from .files import write_images

    model = _load(args.model)
    data, X = _read(args, model)
    if data.kind == "images":
        if data.streamed:  # a chunk of images at a time, named like the inputs
            for start, stop, rows in data.source.checked_chunks():
                recon = model.reconstruct(rows)
                write_images(args.output, np.clip(recon.reshape(-1, *data.image_shape), 0, 1),
                             _image_names(data, start, stop))
            return f"Denoised {data.source.n_rows} images into {args.output}/."
        recon = model.reconstruct(X)
        names = data.names or _image_names(data, 0, len(recon))
        write_images(args.output, np.clip(recon.reshape(data.X.shape), 0, 1), names)
        return f"Denoised {len(recon)} images into {args.output}/."
    check_output(args.output)
    columns = data.feature_names or [f"x{i}" for i in range(model.n_features_in_)]

    def reconstruction(rows):
        return pd.DataFrame(model.reconstruct(rows), columns=columns)

    n_rows = _write_rows(args.output, data, X, reconstruction)
    return f"Denoised {n_rows} rows: {args.output}."


def _image_names(data, start: int, stop: int) -> list[str]:
    """The input file names of images ``start:stop`` (image folders), else numbered names."""
    names = getattr(data.source, "names", None) if data.streamed else data.names
    return names[start:stop] if names else [f"image_{i:05d}.png" for i in range(start, stop)]


def report_command(args, progress: bool) -> str:
    from ..reports import write_report
    from .files import read_data

    check_output(args.output, table=False)
    model = _load(args.model)
    X = None
    if args.data is not None:
        data = read_data(args.data, args.id_column)
        X = model_input(model, data)
    image_shape = (getattr(model, "metadata_", {}) or {}).get("image_shape") or None
    write_report(args.output, model, X, title=f"aekit report: {Path(args.model).name}",
                 image_shape=tuple(image_shape) if image_shape else None)
    return f"Report written to {args.output}."
