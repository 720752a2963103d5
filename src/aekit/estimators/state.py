"""The autoencoders' side of model files: what is saved, and checked when it comes back.

``__aekit_state__`` gives ``aekit.saving`` the fitted attributes (JSON) and the tensors (the
weights and the scaler); ``__aekit_restore__`` takes them back and trusts nothing: only the
attributes the class declares (``_fitted_schema``), each of its type; the network is built on
torch's meta device first (no memory), its weights' shapes compared with the file's, and only
then filled with the file's tensors. Anything else is a ``ModelFileError``.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..constraints import resolve_constraints
from ..errors import ModelFileError
from .runtime import resolve_device
from .scaling import Scaler


def as_count(value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ModelFileError(f"holds {value!r} where a count is expected.")
    return int(value)


def as_name(value):
    if not isinstance(value, str):
        raise ModelFileError(f"holds {value!r} where a name is expected.")
    return value


def as_number(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ModelFileError(f"holds {value!r} where a number is expected.")
    return float(value)


def as_numbers(value):
    if value is None:
        return None
    if not isinstance(value, list):
        raise ModelFileError(f"holds {type(value).__name__} where a list of numbers is expected.")
    return [as_number(v) for v in value]


def as_counts(value):
    if not isinstance(value, list):
        raise ModelFileError(f"holds {type(value).__name__} where a list of counts is expected.")
    return tuple(as_count(v) for v in value)


def as_curves(value):
    return None if value is None else [as_numbers(v) for v in value]


def as_names(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelFileError("holds feature names that are not a list of strings.")
    return np.asarray(value, dtype=object)


def as_range(value):
    if value is None:
        return None
    values = as_numbers(value)
    if len(values) != 2:
        raise ModelFileError(f"holds an input range of {len(values)} values.")
    return tuple(values)


def as_activations(value):
    return value if isinstance(value, str) else tuple(as_name(v) for v in as_list(value))


def as_table(value):
    """A ``TableEncoder`` from its config (None: the model is not a table model)."""
    if value is None:
        return None
    from .table import TableEncoder

    if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
        raise ModelFileError("holds a table description that is not a mapping of columns.")
    return TableEncoder.from_config(value)


def as_list(value):
    if not isinstance(value, list):
        raise ModelFileError(f"holds {type(value).__name__} where a list is expected.")
    return value


#: the fitted attributes every autoencoder saves: name -> parser (None: optional)
FITTED_SCHEMA = {
    "n_features_in_": as_count, "n_components_": as_count, "scaling_": as_name,
    "code_activation_": as_name, "output_activation_": as_name, "n_iter_": as_count,
    "loss_curve_": as_numbers, "best_loss_": as_number, "validation_scores_": as_numbers,
    "best_validation_score_": as_number, "precision_": as_name, "input_range_": as_range,
    "feature_names_in_": as_names, "constraints_": lambda v: resolve_constraints(as_list(v)),
    "sample_shape_": as_counts,
}
OPTIONAL = {"feature_names_in_", "input_range_", "sample_shape_", "pretraining_loss_curves_",
            "table_"}


class ModelFileMixin:
    """Model files for ``BaseAutoencoder`` (see the module docstring)."""

    #: subclass attributes beyond ``FITTED_SCHEMA``: name -> parser
    _fitted_schema: dict = {}

    def save(self, path, *, metadata: dict[str, Any] | None = None) -> None:
        """Write the fitted model to one safetensors file (weights + JSON config); no pickle.

        ``metadata``: JSON-able notes kept in the file, back as ``metadata_`` after loading.
        """
        from ..saving import save_model

        save_model(self, path, metadata)

    def __aekit_state__(self) -> tuple[dict[str, Any], dict[str, Tensor]]:
        state: dict[str, Any] = {}
        for name in {**FITTED_SCHEMA, **self._fitted_schema}:
            if not hasattr(self, name):
                continue
            value = getattr(self, name)
            if name == "constraints_":
                value = [c.to_config() for c in value]
            elif name == "feature_names_in_":
                value = [str(f) for f in value]
            elif name == "table_":
                value = None if value is None else value.to_config()
            elif isinstance(value, tuple):
                value = list(value)
            state[name] = value
        tensors = {f"module.{k}": v.detach().cpu() for k, v in self.module_.state_dict().items()}
        tensors["scaler.offset"] = torch.from_numpy(np.asarray(self.scaler_.offset, np.float64))
        tensors["scaler.factor"] = torch.from_numpy(np.asarray(self.scaler_.factor, np.float64))
        return state, tensors

    def __aekit_restore__(self, state: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        schema = {**FITTED_SCHEMA, **self._fitted_schema}
        unknown = sorted(set(state) - set(schema))
        if unknown:
            raise ModelFileError(f"has fitted attributes {type(self).__name__} does not know: "
                                 f"{unknown[:5]}.")
        missing = sorted(set(schema) - set(state) - OPTIONAL)
        if missing:
            raise ModelFileError(f"is incomplete (missing {missing[:5]}).")
        for name, value in state.items():
            setattr(self, name, schema[name](value))
        if not hasattr(self, "sample_shape_"):  # files written before aekit 0.2
            self.sample_shape_ = self._default_sample_shape()
        self._restore_weights(tensors)

    def _default_sample_shape(self) -> tuple[int, ...]:
        return (self.n_features_in_,)

    def _restore_weights(self, tensors: dict[str, Tensor]) -> None:
        n = int(np.prod(self.sample_shape_))  # the network's input width (a table's encoding)
        offset, factor = tensors.pop("scaler.offset", None), tensors.pop("scaler.factor", None)
        if offset is None or factor is None or offset.shape != (n,) or factor.shape != (n,):
            raise ModelFileError(f"has no scaler for its {n} inputs.")
        self.scaler_ = Scaler(offset.double().numpy(), factor.double().numpy())
        weights = {k.removeprefix("module."): v for k, v in tensors.items()
                   if k.startswith("module.")}
        bottleneck = self._bottleneck(self.constraints_)
        with torch.device("meta"), torch.random.fork_rng(devices=[]):
            module = self._build_module(n, self.code_activation_, self.output_activation_,
                                        bottleneck)  # no memory: shapes only
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in weights.items()}
        if expected != found:
            wrong = sorted(set(expected) ^ set(found)) or sorted(
                k for k in expected if expected[k] != found[k])
            raise ModelFileError(
                f"describes a network whose weights do not match the file's (first: "
                f"{wrong[0]!r}); save the model again."
            )
        module.load_state_dict(weights, assign=True)
        device = resolve_device(self.device, type(self).__name__)
        memory_format = getattr(self, "_memory_format", torch.contiguous_format)
        self.module_ = module.to(device, memory_format=memory_format).eval()
        self.device_ = str(device)
