"""Activation functions resolved from names, so a whole architecture can be written as data."""

from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "linear": nn.Identity,
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
}


def make_activation(name: str) -> nn.Module:
    """Return a new activation module for ``name`` (one of ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"Unknown activation {name!r}; use one of: {known}.") from None


def activation_name(module: nn.Module) -> str:
    """The name under which ``make_activation`` builds ``module``."""
    for name, cls in ACTIVATIONS.items():
        if type(module) is cls:
            return name
    return type(module).__name__
