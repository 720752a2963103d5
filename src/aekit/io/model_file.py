"""aekit model files: one safetensors file holding the weights and a JSON description.

Layout (plain safetensors, readable by any safetensors reader)::

    [8-byte header length][JSON header with __metadata__][tensor data]

``__metadata__`` holds ``format="aekit"``, ``format_version``, the estimator's class name, its
parameters, its fitted attributes and a SHA-256 over that description and the tensor data.
Loading never unpickles; truncated, corrupted, foreign and newer files give a
``ModelFileError`` that says which.
Saving is atomic: a temporary file in the same folder, fsync, then rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT_NAME = "aekit"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024


class ModelFileError(ValueError):
    """A file that aekit cannot load as a model, with the reason."""


def _estimator_classes() -> dict[str, type]:
    from ..estimators import Autoencoder, ConvAutoencoder, OutlierDetector

    return {cls.__name__: cls for cls in (Autoencoder, ConvAutoencoder, OutlierDetector)}


# ---------------------------------------------------------------------------- parameters as JSON
def _param_to_json(name: str, value: Any) -> Any:
    from ..constraints import Constraint

    if name == "constraints":
        items = [] if value is None else list(value)
        out = []
        for c in items:
            if isinstance(c, str):
                out.append({"name": c, "params": {}})
            elif isinstance(c, Constraint) and c.name:
                out.append(c.to_config())
            else:
                raise TypeError(
                    f"save() can store aekit's own constraints only; {c!r} is not one. "
                    "Use joblib/pickle for models with custom constraints."
                )
        return out
    if name == "estimator" and hasattr(value, "get_params"):  # a nested aekit estimator
        params = value.get_params(deep=False)
        return {"estimator": type(value).__name__,
                "params": {k: _param_to_json(k, v) for k, v in params.items()}}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None  # an RNG object cannot be stored; the fitted weights already are
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def _param_from_json(name: str, value: Any) -> Any:
    from ..constraints import resolve_constraints

    if name == "constraints":
        return resolve_constraints(value)
    if name == "estimator" and isinstance(value, dict):  # a nested aekit estimator
        params = {k: _param_from_json(k, v) for k, v in value["params"].items()}
        return _estimator_classes()[value["estimator"]](**params)
    if isinstance(value, list):
        return tuple(value)
    return value


# ---------------------------------------------------------------------------- save
def _safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata)


def _data_section(blob: bytes) -> bytes:
    (n,) = struct.unpack("<Q", blob[:8])
    return blob[8 + n :]


def _digest(metadata: dict[str, str], data: bytes) -> str:
    """SHA-256 over the description and the weights: any changed byte of either is caught."""
    h = hashlib.sha256()
    for key in ("format", "format_version", "aekit_version", "config"):
        h.update(str(metadata.get(key, "")).encode("utf-8") + b"\x00")
    h.update(data)
    return h.hexdigest()


def model_to_bytes(estimator, metadata: dict[str, Any] | None = None) -> bytes:
    """The bytes of a model file for a fitted aekit estimator.

    ``metadata``: JSON-able notes kept with the model (e.g. the command-line configuration it
    was trained with); ``aekit.load`` puts them back as ``estimator.metadata_``.
    """
    from sklearn.utils.validation import check_is_fitted

    from .. import __version__

    check_is_fitted(estimator)
    tensors = estimator._tensors()
    config = {
        "estimator": type(estimator).__name__,
        "params": {k: _param_to_json(k, v) for k, v in estimator.get_params(deep=False).items()},
        "fitted": estimator._fitted_state(),
        "metadata": metadata if metadata is not None else getattr(estimator, "metadata_", {}),
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "aekit_version": __version__,
        "config": json.dumps(config, allow_nan=True),
    }
    digest = _digest(metadata, _data_section(_safetensors_bytes(tensors, metadata)))
    return _safetensors_bytes(tensors, {**metadata, "sha256": digest})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


@contextmanager
def atomic_output(path: str | os.PathLike):
    """A temporary path next to ``path`` to write to; when the block ends it replaces ``path``
    (durably), and on any error it is removed: a crash leaves the old file or the new one."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name such as model.aekit.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise FileNotFoundError(f"Folder {folder} does not exist; create it first.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600): give it the mode a plain open() would (only
        # now: a read-only target's mode would have stopped the writes above)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save_model(
    estimator, path: str | os.PathLike, metadata: dict[str, Any] | None = None
) -> None:
    """Write the model file; under torch.distributed only rank 0 writes."""
    from ..training.distributed import is_main_process

    if is_main_process():
        atomic_write_bytes(path, model_to_bytes(estimator, metadata))


# ---------------------------------------------------------------------------- load
def _describe_foreign(blob: bytes) -> str:
    if blob[:1] == b"\x80" or blob[:2] in (b"PK",):
        return (" It looks like a pickle/joblib file; aekit never unpickles. If you trust it, "
                "load it with joblib.load yourself.")
    return ""


def _read_header(blob: bytes, name: str) -> dict[str, Any]:
    if len(blob) < 8:
        raise ModelFileError(
            f"{name} is not an aekit model file: it is only {len(blob)} bytes."
            f"{_describe_foreign(blob)}"
        )
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or n < 2:
        raise ModelFileError(f"{name} is not an aekit model file.{_describe_foreign(blob)}")
    if 8 + n > len(blob):
        raise ModelFileError(
            f"{name} is truncated: its header needs {8 + n} bytes, the file has {len(blob)}. "
            "Save the model again."
        )
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(
            f"{name} is not an aekit model file (or its header is corrupted)."
            f"{_describe_foreign(blob)}"
        ) from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{name} is a safetensors file but not an aekit model (no aekit metadata)."
            if isinstance(header, dict) else f"{name} is not an aekit model file."
        )
    return header


def model_from_bytes(blob: bytes, name: str = "the model file"):
    header = _read_header(blob, name)
    meta = header["__metadata__"]
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise ModelFileError(f"{name} has a corrupted format version.") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer aekit ({meta.get('aekit_version', '?')}, format "
            f"{version}); this aekit reads format {FORMAT_VERSION} and older. Upgrade aekit."
        )
    if _digest(meta, _data_section(blob)) != meta.get("sha256"):
        raise ModelFileError(
            f"{name} is corrupted or truncated: its contents do not match the checksum stored "
            "when it was saved. Save the model again."
        )
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        config = json.loads(meta["config"])
        tensors = load(blob)
        cls = _estimator_classes()[config["estimator"]]
        params = {k: _param_from_json(k, v) for k, v in config["params"].items()}
        estimator = cls(**params)
        estimator._restore_fitted_state(config["fitted"], dict(tensors))
        estimator.metadata_ = dict(config.get("metadata") or {})
    except KeyError as exc:
        raise ModelFileError(f"{name} is an incomplete aekit model file (missing {exc}).") from None
    except (SafetensorError, json.JSONDecodeError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{name} is a corrupted aekit model file ({first}).") from None
    return estimator


def load(path: str | os.PathLike):
    """Load a model written by ``estimator.save(path)``; never runs code from the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not an aekit model file.")
    return model_from_bytes(path.read_bytes(), str(path))
