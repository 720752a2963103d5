"""aekit's own exceptions, shared by every layer (this module imports nothing of aekit's).

Each one is also a standard exception (``ValueError``, ``TypeError``, ``ImportError``), so code
that catches those keeps working; the command line prints any ``AekitError`` as one line.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class AekitError(Exception):
    """Base class of the errors aekit raises on purpose, each with a one-sentence message."""


class MissingDependencyError(AekitError, ImportError):
    """An optional package that a feature needs is not installed."""


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``MissingDependencyError`` saying how to install it.

    ``extra`` is the aekit extra that brings it (``pip install 'aekit[extra]'``); ``purpose``
    completes "... needs <module>", e.g. "Exporting to ONNX".
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed; install it with "
            f"pip install 'aekit[{extra}]' (or 'aekit[all]' for every optional feature)."
        ) from None


class DataFileError(AekitError, ValueError):
    """Input data that cannot be used, with the reason and the fix."""


class ModelFileError(AekitError, ValueError):
    """A file that aekit cannot load as a model, with the reason."""
