"""``aekit fit``'s options: defaults, a TOML file, the command line; checked before any work.

Every option is checked here, with its command-line name, before a byte of data is read or a
step trained (a bad ``--contamination`` used to be refused after training). The model the
options describe is built here too: the autoencoder (dense or convolutional) inside the
``OutlierDetector`` that ``aekit fit`` trains.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..errors import DataFileError

DEFAULTS: dict[str, Any] = {
    "kind": "auto", "components": None, "hidden": None, "noise": None, "noise_level": None,
    "sparsity": None, "sparsity_target": None, "sparsity_weight": None, "loss": None,
    "epochs": None, "batch_size": None, "learning_rate": None, "early_stopping": None,
    "validation_fraction": None, "device": "auto", "seed": 0, "contamination": None,
    "id_column": [], "exclude": [], "categorical": [], "checkpoint": None, "threads": None,
    "window": None, "stride": None, "time_column": None, "variational": False, "beta": None,
    "patch": None, "patches": None,
}
KINDS = ("auto", "dense", "conv", "stacked", "stacked-conv")
NOISES = {"gaussian": "gaussian_noise", "salt_and_pepper": "salt_and_pepper_noise",
          "masking": "masking_noise"}
SPARSITIES = ("kl", "l1", "topk")
#: gradient steps of a CLI fit without --epochs (early stopping usually ends it sooner)
STEP_BUDGET = 4000
#: what changes the model itself (without them aekit fit uses OutlierDetector's defaults)
MODEL_OPTIONS = ("kind", "components", "hidden", "noise", "sparsity", "loss", "epochs",
                 "batch_size", "learning_rate", "early_stopping", "validation_fraction",
                 "checkpoint")


def read_config(path: str | None) -> dict[str, Any]:
    """Options from a TOML file (keys as the long options, with underscores)."""
    if path is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"Config file {file} does not exist.")
    try:
        config = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{file} is not valid TOML ({exc}).") from None
    config = config.get("fit", config)
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise DataFileError(f"{file}: unknown option(s) {unknown}; known: {sorted(DEFAULTS)}.")
    for key in ("id_column", "exclude", "categorical"):
        if isinstance(config.get(key), str):
            config[key] = [config[key]]
    return config


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the config file, then the options given on the command line."""
    options = {**DEFAULTS, **read_config(getattr(args, "config", None))}
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None and value != []:
            options[key] = value
    check_options(options)
    return options


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def check_options(o: dict[str, Any]) -> None:
    """Refuse every bad option at once, by its command-line name, before any work."""
    _need(o["kind"] in KINDS, f"--kind must be one of {', '.join(KINDS)}; got {o['kind']!r}.")
    for key, low in (("components", 1), ("epochs", 1), ("batch_size", 1), ("threads", 1)):
        value = o[key]
        _need(value is None or (isinstance(value, int) and value >= low),
              f"--{key.replace('_', '-')} must be a whole number >= {low}; got {value!r}.")
    _need(o["contamination"] is None
          or (isinstance(o["contamination"], (int, float)) and 0 < o["contamination"] < 0.5),
          f"--contamination must be in (0, 0.5); got {o['contamination']!r}.")
    _need(o["loss"] in (None, "mse", "mae", "bce"),
          f"--loss must be mse, mae or bce; got {o['loss']!r}.")
    lr, fraction = o["learning_rate"], o["validation_fraction"]
    _need(lr is None or (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)),
          f"--learning-rate must be a positive number; got {lr!r}.")
    _need(fraction is None or (isinstance(fraction, (int, float)) and 0 < fraction < 1),
          f"--validation-fraction must be in (0, 1); got {fraction!r}.")
    if o["noise"] is not None:
        _need(o["noise"] in NOISES, f"--noise must be one of {sorted(NOISES)}; got "
                                    f"{o['noise']!r}.")
        level = o["noise_level"]
        high = None if o["noise"] == "gaussian" else 1.0
        _need(level is None or (isinstance(level, (int, float)) and level >= 0
                                and (high is None or level <= high)),
              f"--noise-level must be {'>= 0' if high is None else 'in [0, 1]'} for "
              f"{o['noise']} noise; got {level!r}.")
    elif o["noise_level"] is not None:
        raise ValueError("--noise-level needs --noise (gaussian, salt_and_pepper or masking).")
    if o["sparsity"] is not None:
        _need(o["sparsity"] in SPARSITIES, f"--sparsity must be one of {list(SPARSITIES)}; got "
                                           f"{o['sparsity']!r}.")
        target, weight = o["sparsity_target"], o["sparsity_weight"]
        if o["sparsity"] == "topk":
            _need(target is None or (float(target) == int(target) and target >= 1),
                  "--sparsity topk takes --sparsity-target K, a whole number >= 1.")
        else:
            _need(target is None or 0 < target < 1,
                  f"--sparsity-target must be in (0, 1) for {o['sparsity']}; got {target!r}.")
        _need(weight is None or weight >= 0, f"--sparsity-weight must be >= 0; got {weight!r}.")
    _need(o["beta"] is None or o["variational"], "--beta is the KL weight of a variational "
                                                 "model; give --variational too.")
    _need(o["beta"] is None or o["beta"] >= 0, f"--beta must be >= 0; got {o['beta']!r}.")
    _need(not (o["variational"] and o["sparsity"] in ("kl", "topk")),
          f"--variational draws a Gaussian code; --sparsity {o['sparsity']} cannot shape it "
          "(use --sparsity l1, or drop one of them).")
    _check_series_options(o)
    _need(o["patches"] is None or o["patch"] is not None, "--patches needs --patch P too.")
    if o["patch"] is not None:
        _need(isinstance(o["patch"], int) and o["patch"] >= 4,
              f"--patch must be a whole number >= 4 (pixels); got {o['patch']!r}.")
        _need(o["patches"] is None or (isinstance(o["patches"], int) and o["patches"] >= 16),
              f"--patches must be a whole number >= 16; got {o['patches']!r}.")
        for key in ("window", "checkpoint", "sparsity", "hidden"):
            _need(o[key] is None, f"--{key} does not go with --patch (a spatial-code "
                                  "convolutional model trained on patches).")
        _need(not o["variational"], "--variational does not go with --patch.")
        _need(o["kind"] in ("auto", "conv"), "--patch trains a conv model; drop --kind.")
    hidden = o["hidden"]
    if isinstance(hidden, str):
        try:
            o["hidden"] = tuple(int(h) for h in hidden.split(",") if h.strip())
        except ValueError:
            raise ValueError(f"--hidden takes widths like 256,64; got {hidden!r}.") from None
    _need(o["hidden"] is None or all(h >= 1 for h in o["hidden"]),
          f"--hidden takes positive widths like 256,64; got {hidden!r}.")


def _check_series_options(o: dict[str, Any]) -> None:
    window = o["window"]
    if isinstance(window, str) and window != "auto":
        try:
            o["window"] = window = int(window)
        except ValueError:
            raise ValueError(f"--window takes a number of steps or auto; got {window!r}.") \
                from None
    _need(window in (None, "auto") or (isinstance(window, int) and window >= 2),
          f"--window must be auto or a whole number >= 2; got {window!r}.")
    _need(o["stride"] is None or (isinstance(o["stride"], int) and o["stride"] >= 1),
          f"--stride must be a whole number >= 1; got {o['stride']!r}.")
    if window is None:
        for key in ("stride", "time_column"):
            _need(o[key] is None, f"--{key.replace('_', '-')} is for time series; give "
                                  "--window N (or --window auto) too.")
    else:
        for key in ("checkpoint",):
            _need(o[key] is None, f"--{key} is not available for time series (--window).")
        _need(not o["variational"], "--variational is not available for time series "
                                    "(--window) yet; drop one of them.")


def _constraints(o: dict[str, Any], n_components: int | None,
                 learned_variance: bool = False) -> tuple:
    """``learned_variance``: a ``--variational`` model learns its decoder's variance (images
    with squared error, as ``OutlierDetector``'s own variational member)."""
    from ..constraints import (
        GaussianNoise,
        KLSparsity,
        L1Activity,
        TopK,
        Variational,
        get_constraint,
    )

    out: list = []
    if o["noise"]:
        noise = get_constraint(NOISES[o["noise"]])
        if o["noise_level"] is not None:
            key = "std" if isinstance(noise, GaussianNoise) else "rate"
            noise.set_params(**{key: o["noise_level"]})
        out.append(noise)
    target, weight = o["sparsity_target"], o["sparsity_weight"]
    if o["sparsity"] == "kl":
        out.append(KLSparsity(target=0.05 if target is None else target,
                              weight=3.0 if weight is None else weight))
    elif o["sparsity"] == "l1":
        out.append(L1Activity(1e-3 if weight is None else weight))
    elif o["sparsity"] == "topk":
        k = int(target) if target is not None else max(1, (n_components or 8) // 4)
        if n_components is not None and k > n_components:
            raise ValueError(f"--sparsity topk keeps {k} code units, but the code has "
                             f"{n_components} (--components); give --sparsity-target <= "
                             f"{n_components}.")
        out.append(TopK(k))
    if o["variational"]:
        out.append(Variational(1.0 if o["beta"] is None else o["beta"],
                               variance="learned" if learned_variance else 0.5))
    return tuple(out)


def default_components(data) -> int:
    """The code size the model will have: ``--components`` or the estimators' default."""
    n_features = (data.n_features if data.streamed else
                  int(math.prod(data.X.shape[1:])) if data.kind == "images" else data.X.shape[1])
    return max(1, min(32, n_features // 2))


def build_model(o: dict[str, Any], data, verbose: int):
    """``(kind, OutlierDetector)`` for these options and this data, parameters checked."""
    from ..estimators import Autoencoder, ConvAutoencoder, OutlierDetector

    kind = o["kind"]
    if kind == "auto":
        kind = "conv" if data.kind == "images" else "dense"
    if kind in ("conv", "stacked-conv") and data.kind != "images":
        raise ValueError(f"--kind {kind} needs images (a folder of PNG/JPEG or a 4-D NPY).")
    detector = OutlierDetector(contamination=float(o["contamination"] or 0.01),
                               anomaly_score="elbo" if o["variational"] else "auto",
                               random_state=o["seed"])
    plain = {**DEFAULTS, "loss": "mse"}  # --loss mse is the detector's own loss
    custom = any(o[key] not in (None, plain[key]) for key in MODEL_OPTIONS) or (
        o["beta"] is not None)
    if kind == "dense" and not custom:  # the detector's own defaults
        return kind, detector
    n_components = o["components"] or default_components(data)
    learned = data.kind == "images" and o["loss"] in (None, "mse")
    common: dict[str, Any] = dict(
        n_components=n_components, constraints=_constraints(o, n_components, learned),
        loss=o["loss"] or "mse", device=o["device"], verbose=verbose, n_threads=o["threads"])
    if o["checkpoint"]:
        common.update(checkpoint_dir=o["checkpoint"], resume=True)
    n_rows = data.source.n_rows if data.streamed else len(data.X)
    batch = o["batch_size"] or int(min(256, max(16, n_rows // 16)))
    common["batch_size"] = batch
    if o["epochs"] is None:  # a budget of steps, stopped early on held-out rows
        steps = math.ceil(n_rows / batch)
        common.update(max_iter=int(min(2000, max(20, math.ceil(STEP_BUDGET / steps)))),
                      early_stopping=True if o["early_stopping"] is None else o["early_stopping"],
                      n_iter_no_change=20)
    else:
        common.update(max_iter=o["epochs"], early_stopping=bool(o["early_stopping"]))
    if o["learning_rate"] is not None:
        common["learning_rate_init"] = o["learning_rate"]
    if o["validation_fraction"] is not None:
        common["validation_fraction"] = o["validation_fraction"]
    if kind in ("conv", "stacked-conv"):
        pre = "greedy" if kind == "stacked-conv" else None
        member = ConvAutoencoder(image_shape=data.image_shape, pretraining=pre, **common)
    else:
        hidden = o["hidden"]
        if kind == "stacked":
            common["pretraining"] = "greedy"
            hidden = hidden or (256, 128)
        if hidden is not None:
            common["hidden_layer_sizes"] = tuple(hidden)
        member = Autoencoder(**common)
    member.check_params()
    return kind, detector.set_params(estimator=member)
