"""aekit model files: one safetensors file holding the weights and a JSON description.

Layout (plain safetensors, readable by any safetensors reader)::

    [8-byte header length][JSON header with __metadata__][tensor data]

``__metadata__`` holds ``format="aekit"``, ``format_version``, the estimator's class name, its
parameters, its fitted attributes and a SHA-256 over that description and the tensor data (a
checksum against corruption, not a signature: anyone can write a file with a valid one).

Loading never unpickles and never runs code from the file. The 8-byte length is read first, the
header next, and the data only when both make sense, so a huge or foreign file is refused after
reading a few bytes. Truncated, corrupted, foreign, pickle and newer files, and descriptions that
do not match the weights, give a ``ModelFileError`` that says which. Saving is atomic.

The estimators take part through two methods: ``__aekit_state__()`` returns their fitted
attributes (JSON-able) and tensors, ``__aekit_restore__(state, tensors)`` puts them back (and
raises ``ModelFileError`` for anything it does not expect). Their classes join
``aekit.saving.registry``; this module imports no estimator.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..errors import ModelFileError
from .registry import estimator_class, registered_names

FORMAT_NAME = "aekit"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024 * 1024  # a genuine header is a few kB (loss curves included)


# ---------------------------------------------------------------------------- parameters as JSON
def param_to_json(name: str, value: Any) -> Any:
    """An estimator parameter as JSON (constraints as configs, nested estimators as dicts)."""
    from ..constraints import Constraint

    if name == "constraints":
        out = []
        for c in [] if value is None else list(value):
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
                "params": {k: param_to_json(k, v) for k, v in params.items()}}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, tuple):
        return [param_to_json("", v) for v in value]
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None  # an RNG object cannot be stored; the fitted weights already are
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def param_from_json(name: str, value: Any) -> Any:
    """The inverse of ``param_to_json``."""
    from ..constraints import resolve_constraints

    if name == "constraints":
        return resolve_constraints(value)
    if name == "estimator" and isinstance(value, dict):  # a nested aekit estimator
        return build_estimator(value.get("estimator"), value.get("params"))
    if isinstance(value, list):
        return tuple(param_from_json("", v) for v in value)
    return value


def build_estimator(name: Any, params: Any):
    """An unfitted registered estimator from its class name and JSON parameters."""
    cls = estimator_class(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(
            f"names the estimator {name!r}, which this aekit does not know (known: "
            f"{', '.join(registered_names())})."
        )
    if not isinstance(params, dict):
        raise ModelFileError(f"has parameters of type {type(params).__name__}, not a mapping.")
    known = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(f"gives {name} unknown parameters {unknown[:5]}.")
    estimator = cls(**{k: param_from_json(k, v) for k, v in params.items()})
    estimator._validate_params()  # sklearn's checks: a wrong type is named
    return estimator


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
    fitted, tensors = estimator.__aekit_state__()
    config = {
        "estimator": type(estimator).__name__,
        "params": {k: param_to_json(k, v) for k, v in estimator.get_params(deep=False).items()},
        "fitted": fitted,
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


def save_model(estimator, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Write the model file atomically; under torch.distributed only process 0 writes."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return
    atomic_write_bytes(path, model_to_bytes(estimator, metadata))


# ---------------------------------------------------------------------------- load
def _describe_foreign(head: bytes) -> str:
    if head[:1] == b"\x80" or head[:2] == b"PK":
        return (" It looks like a pickle/joblib file; aekit never unpickles. If you trust it, "
                "load it with joblib.load yourself.")
    return ""


def _parse_header(length_bytes: bytes, header: bytes, size: int, name: str) -> dict[str, Any]:
    """The safetensors header as a dict, or the reason it is not an aekit model file."""
    if len(length_bytes) < 8:
        raise ModelFileError(
            f"{name} is not an aekit model file: it is only {size} bytes."
            f"{_describe_foreign(length_bytes)}"
        )
    (n,) = struct.unpack("<Q", length_bytes)
    if n > MAX_HEADER_BYTES or n < 2:
        raise ModelFileError(f"{name} is not an aekit model file.{_describe_foreign(length_bytes)}")
    if 8 + n > size:
        raise ModelFileError(
            f"{name} is truncated: its header needs {8 + n} bytes, the file has {size}. "
            "Save the model again."
        )
    try:
        parsed = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(
            f"{name} is not an aekit model file (or its header is corrupted)."
            f"{_describe_foreign(length_bytes)}"
        ) from None
    meta = parsed.get("__metadata__") if isinstance(parsed, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{name} is a safetensors file but not an aekit model (no aekit metadata)."
            if isinstance(parsed, dict) else f"{name} is not an aekit model file."
        )
    return parsed


def _check_version(meta: dict[str, Any], name: str) -> None:
    version = meta.get("format_version")
    if not isinstance(version, str) or not version.isdigit():
        raise ModelFileError(f"{name} has a corrupted format version ({version!r}).")
    if int(version) > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer aekit ({meta.get('aekit_version', '?')}, format "
            f"{version}); this aekit reads format {FORMAT_VERSION} and older. Upgrade aekit."
        )


def _data_size(header: dict[str, Any], name: str) -> int:
    """The bytes of tensor data the header describes (the file must hold exactly that)."""
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and o >= 0 for o in offsets)):
            raise ModelFileError(f"{name} has a corrupted tensor index ({key!r}).")
        end = max(end, offsets[1])
    return end


def model_from_bytes(blob: bytes, name: str = "the model file"):
    """The estimator a model file's bytes describe."""
    n = struct.unpack("<Q", blob[:8])[0] if len(blob) >= 8 else 0
    header = _parse_header(blob[:8], blob[8:8 + n], len(blob), name)
    return _from_parsed(header, blob, name)


def _from_parsed(header: dict[str, Any], blob: bytes, name: str):
    meta = header["__metadata__"]
    _check_version(meta, name)
    if _digest(meta, _data_section(blob)) != meta.get("sha256"):
        raise ModelFileError(
            f"{name} is corrupted or truncated: its contents do not match the checksum stored "
            "when it was saved. Save the model again."
        )
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        config = json.loads(meta["config"])
        if not isinstance(config, dict):
            raise ModelFileError(f"has a description of type {type(config).__name__}.")
        estimator = build_estimator(config.get("estimator"), config.get("params"))
        tensors = load(blob)
        fitted = config.get("fitted")
        if not isinstance(fitted, dict):
            raise ModelFileError("has no fitted attributes.")
        estimator.__aekit_restore__(fitted, dict(tensors))
        notes = config.get("metadata") or {}
        estimator.metadata_ = dict(notes) if isinstance(notes, dict) else {}
    except ModelFileError as exc:
        message = str(exc)
        raise ModelFileError(message if message.startswith(name) else f"{name} {message}") \
            from None
    except KeyError as exc:
        raise ModelFileError(f"{name} is an incomplete aekit model file (missing {exc}).") from None
    except (SafetensorError, json.JSONDecodeError, TypeError, ValueError, RuntimeError,
            AttributeError, IndexError, OverflowError, RecursionError, MemoryError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{name} is a corrupted aekit model file ({first}).") from None
    return estimator


def load_model(path: str | os.PathLike):
    """Load a model written by ``estimator.save(path)``; never runs code from the file.

    The header is read and checked before the rest of the file (see the module docstring).
    ``aekit.load`` is the public entry point (it makes sure aekit's classes are registered).
    """
    path = Path(path)
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"No model file at {path}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelFileError(f"{path} is a folder, not an aekit model file.")
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"{path} is not a regular file (a device or a pipe?).")
    size = info.st_size
    with open(path, "rb") as f:
        length_bytes = f.read(8)
        n = struct.unpack("<Q", length_bytes)[0] if len(length_bytes) == 8 else 0
        header_bytes = f.read(n) if 2 <= n <= min(MAX_HEADER_BYTES, size) else b""
        header = _parse_header(length_bytes, header_bytes, size, name)
        expected = 8 + n + _data_size(header, name)
        if expected != size:
            raise ModelFileError(
                f"{name} is truncated or has extra bytes: its index describes {expected} "
                f"bytes, the file has {size}. Save the model again."
            )
        blob = length_bytes + header_bytes + f.read()
    return _from_parsed(header, blob, name)
