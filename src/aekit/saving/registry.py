"""The estimator classes that model files can name: they join the registry themselves.

``@register_estimator`` on a class makes ``aekit.load`` able to rebuild it from a file that
names it; the saving code never imports an estimator (Keras's ``register_keras_serializable``
is the pattern). A file naming an unregistered class is refused.
"""

from __future__ import annotations

_ESTIMATORS: dict[str, type] = {}


def register_estimator(cls: type) -> type:
    """Class decorator: make ``cls`` loadable from model files under its ``__name__``."""
    existing = _ESTIMATORS.get(cls.__name__)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"Another class is already registered as {cls.__name__!r} "
            f"({existing.__module__}); give yours another name."
        )
    _ESTIMATORS[cls.__name__] = cls
    return cls


def estimator_class(name: str) -> type | None:
    """The registered class called ``name`` (None when there is none). aekit's own classes
    register when ``aekit.estimators`` is imported (``aekit.load`` imports it)."""
    return _ESTIMATORS.get(name)


def registered_names() -> list[str]:
    return sorted(_ESTIMATORS)
