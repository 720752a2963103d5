"""aekit: autoencoders on PyTorch that feel native to scikit-learn.

Three layers: ``aekit.nn`` (torch modules), the estimators (``Autoencoder``), and the command
line (``aekit demo``). Constraints from ``aekit.constraints`` compose as a tuple.

Public names are imported lazily, so ``import aekit`` (and ``aekit --help``) does not load torch
until a model is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Autoencoder": "aekit.estimators",
    "AutoencoderImputer": "aekit.estimators",
    "Contractive": "aekit.constraints",
    "ConvAutoencoder": "aekit.estimators",
    "GaussianNoise": "aekit.constraints",
    "KLSparsity": "aekit.constraints",
    "L1Activity": "aekit.constraints",
    "MaskingNoise": "aekit.constraints",
    "SaltAndPepperNoise": "aekit.constraints",
    "TopK": "aekit.constraints",
    "Variational": "aekit.constraints",
    "ModelFileError": "aekit.errors",
    "DataFileError": "aekit.errors",
    "MissingDependencyError": "aekit.errors",
    "export_onnx": "aekit.export",
    "NpySource": "aekit.io",
    "ParquetSource": "aekit.io",
    "ImageFolderSource": "aekit.io",
    "open_source": "aekit.io",
    "random_patches": "aekit.io",
    "OutlierDetector": "aekit.estimators",
    "SequenceAutoencoder": "aekit.estimators",
    "TimeSeriesDetector": "aekit.estimators",
}

__all__ = sorted([*_EXPORTS, "load"])


def load(path):
    """Load a model or detector written by ``.save(path)``; never runs code from the file.

    A truncated, corrupted, foreign, pickle or newer-version file gives a ``ModelFileError``
    saying which (see ``aekit.saving``).
    """
    from . import estimators  # noqa: F401 - aekit's classes join the model-file registry
    from .saving import load_model

    return load_model(path)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs
    from .constraints import (
        Contractive,
        GaussianNoise,
        KLSparsity,
        L1Activity,
        MaskingNoise,
        SaltAndPepperNoise,
        TopK,
        Variational,
    )
    from .errors import DataFileError, MissingDependencyError, ModelFileError
    from .estimators import (
        Autoencoder,
        AutoencoderImputer,
        ConvAutoencoder,
        OutlierDetector,
        SequenceAutoencoder,
        TimeSeriesDetector,
    )
    from .export import export_onnx
    from .io import ImageFolderSource, NpySource, ParquetSource, open_source, random_patches
