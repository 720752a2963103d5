"""Model files: the format (safetensors + JSON, never pickle) and the registry of the estimator
classes it can rebuild. Below the estimators: it imports none of them (they register)."""

from ..errors import ModelFileError
from .model_file import (
    FORMAT_VERSION,
    build_estimator,
    load_model,
    model_from_bytes,
    model_to_bytes,
    param_from_json,
    param_to_json,
    save_model,
)
from .registry import estimator_class, register_estimator, registered_names

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "build_estimator",
    "estimator_class",
    "load_model",
    "model_from_bytes",
    "model_to_bytes",
    "param_from_json",
    "param_to_json",
    "register_estimator",
    "registered_names",
    "save_model",
]
