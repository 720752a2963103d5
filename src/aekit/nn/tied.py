"""Tied weights: a dense decoder whose weights ARE the transposed encoder weights.

``TiedLinear(source)`` computes ``y = x W_s + b`` where ``W_s`` is ``source.weight`` (shape
``(out_s, in_s)``): the transpose of ``source``'s map, reading the same storage. Only the bias is
its own parameter, so a gradient step on the shared weight changes the encoder and the decoder
alike, and the model has about half the weights of an untied one.

The source layer is held as a plain attribute, not a submodule: its weight is registered (and
saved) once, under the encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import activation_name, make_activation


class TiedLinear(nn.Module):
    """The transpose of ``source`` (an ``nn.Linear``) plus its own bias.

    Parameters
    ----------
    source : nn.Linear
        The layer whose weight is shared; maps ``in_s -> out_s``, so this one maps
        ``out_s -> in_s``.
    bias : bool, default=True
    in_features : int or None, default=None
        Use only the first ``in_features`` outputs of ``source`` (rows of its weight): a
        variational encoder's last layer gives a mean and a log-variance per code unit, and the
        decoder mirrors the mean's half. None: all of them.
    """

    def __init__(self, source: nn.Linear, bias: bool = True,
                 in_features: int | None = None) -> None:
        super().__init__()
        self.__dict__["source"] = source  # not a submodule: the weight belongs to the encoder
        rows = source.out_features if in_features is None else int(in_features)
        if not 0 < rows <= source.out_features:
            raise ValueError(f"in_features must be in [1, {source.out_features}]; got {rows}.")
        self.in_features = rows
        self.out_features = source.in_features
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None

    @property
    def weight(self) -> Tensor:
        """``source.weight[:in_features].t()``, a view of the shared storage:
        (out_features, in_features)."""
        return self.source.weight[:self.in_features].t()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Only the bias: the shared weight is initialised by its owner."""
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)  # (batch, in_features) -> (batch, out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, tied=transpose of the encoder's layer")


class TiedDenseDecoder(nn.Module):
    """The mirror of a dense encoder that reuses its weights: ``code -> ... -> out_features``.

    Parameters
    ----------
    encoder : DenseEncoder
        Anything with ``linears()`` returning its ``nn.Linear`` layers in order.
    activation : str or sequence of str, default="relu"
        Activation of the decoder's hidden layers (one name, or one per hidden layer in decoder
        order).
    output_activation : str, default="linear"
    code_size : int or None, default=None
        The code's width when the encoder's last layer is wider (a variational encoder gives
        ``2 * code_size`` units: the decoder mirrors the means). None: that layer's width.
    """

    def __init__(
        self,
        encoder: nn.Module,
        activation: str | Sequence[str] = "relu",
        output_activation: str = "linear",
        code_size: int | None = None,
    ) -> None:
        super().__init__()
        sources = list(encoder.linears())
        n_hidden = len(sources) - 1
        if isinstance(activation, str):
            hidden_acts = [activation] * n_hidden
        else:
            hidden_acts = list(activation)
            if len(hidden_acts) != n_hidden:
                raise ValueError(
                    f"Got {len(hidden_acts)} activations for {n_hidden} hidden layers; "
                    "give one name, or one per hidden layer."
                )
        layers: list[nn.Module] = []
        for i, (source, act) in enumerate(zip(reversed(sources),
                                              [*hidden_acts, output_activation])):
            layers += [TiedLinear(source, in_features=code_size if i == 0 else None),
                       make_activation(act)]
        self.layers = nn.Sequential(*layers)
        self.sizes = tuple([layers[0].in_features] + [s.in_features for s in reversed(sources)])

    def linears(self) -> list[TiedLinear]:
        return [m for m in self.layers if isinstance(m, TiedLinear)]

    def blocks(self) -> list[nn.Module]:
        """One ``(TiedLinear, activation)`` pair per layer, innermost first."""
        return [nn.Sequential(self.layers[i], self.layers[i + 1])
                for i in range(0, len(self.layers), 2)]

    @property
    def output_activation(self) -> str:
        return activation_name(self.layers[-1])

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in self.linears():
            layer.reset_parameters(generator)

    def forward(self, code: Tensor) -> Tensor:
        return self.layers(code)  # (batch, sizes[0]) -> (batch, sizes[-1])

    def pre_activation(self, code: Tensor) -> Tensor:
        """The output before the last activation (the logits of a sigmoid output)."""
        *body, _ = self.layers  # (slicing an nn.Sequential builds a new one: ~8 us)
        for layer in body:
            code = layer(code)
        return code

    def extra_repr(self) -> str:
        return "sizes=" + "-".join(map(str, self.sizes)) + ", tied"
