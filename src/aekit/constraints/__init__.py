"""Constraints that make an autoencoder learn something useful; they compose as a tuple."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .base import REGISTRY as CONSTRAINTS
from .base import Constraint
from .noise import GaussianNoise, MaskingNoise, SaltAndPepperNoise
from .penalties import Contractive, KLSparsity, L1Activity, TopK, kl_bernoulli
from .variational import Variational, kl_gaussian


def get_constraint(spec: str | Constraint | dict[str, Any]) -> Constraint:
    """Resolve a constraint from an object, a name (default parameters) or a config dict."""
    if isinstance(spec, Constraint):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec, "params": {}}
    if isinstance(spec, dict) and isinstance(spec.get("name"), str):
        cls = CONSTRAINTS.get(spec["name"])
        if cls is None:
            known = ", ".join(sorted(CONSTRAINTS))
            raise ValueError(f"Unknown constraint {spec['name']!r}; use one of: {known}.")
        params = spec.get("params", {})
        unknown = set(params) - set(cls._param_names())
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {sorted(unknown)} for constraint {spec['name']!r}; "
                f"valid ones: {cls._param_names()}."
            )
        return cls(**params)
    raise TypeError(
        "Each constraint must be an aekit constraint object (e.g. GaussianNoise(0.1)) or its "
        f"name (one of {sorted(CONSTRAINTS)}); got {spec!r} ({type(spec).__name__})."
    )


def resolve_constraints(specs: Iterable[Any] | Any) -> tuple[Constraint, ...]:
    """Validated, independent copies of ``specs`` (a tuple/list, or a single constraint)."""
    if specs is None:
        return ()
    if isinstance(specs, (str, dict, Constraint)):
        specs = (specs,)
    try:
        items = list(specs)
    except TypeError:
        raise TypeError(
            "constraints must be a tuple of constraints, e.g. (GaussianNoise(0.1),); "
            f"got {specs!r}."
        ) from None
    resolved = []
    for spec in items:
        c = get_constraint(spec)
        c = type(c)(**c.get_params())  # an independent copy: the user's object is not mutated
        c.validate()
        c.reset()
        resolved.append(c)
    return tuple(resolved)


__all__ = [
    "CONSTRAINTS",
    "Constraint",
    "Contractive",
    "GaussianNoise",
    "KLSparsity",
    "L1Activity",
    "MaskingNoise",
    "SaltAndPepperNoise",
    "TopK",
    "Variational",
    "get_constraint",
    "kl_bernoulli",
    "kl_gaussian",
    "resolve_constraints",
]
