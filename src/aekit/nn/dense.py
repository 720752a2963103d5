"""Dense (fully connected) encoders and decoders.

The seed's simplest autoencoder is ``x -> h = f1(W1 x + b1) -> x_hat = f2(W2 h + b2)``: a
``DenseEncoder`` with no hidden layers followed by a ``DenseDecoder`` with none. Deeper models
add hidden layers; the decoder mirrors the encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .activations import activation_name, make_activation


def init_linear_(layer: nn.Linear, generator: torch.Generator | None = None) -> None:
    """PyTorch's default ``nn.Linear`` initialisation, drawn from ``generator``.

    Taking the generator explicitly lets estimators seed a model without touching the global RNG.
    """
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _per_layer(activation: str | Sequence[str], n_layers: int) -> list[str]:
    if isinstance(activation, str):
        return [activation] * n_layers
    activation = list(activation)
    if len(activation) != n_layers:
        raise ValueError(
            f"Got {len(activation)} activations for {n_layers} hidden layers; "
            "give one name, or one per hidden layer."
        )
    return activation


class _DenseStack(nn.Module):
    """Linear layers, each followed by its activation: the body of encoders and decoders."""

    def __init__(self, sizes: Sequence[int], activations: Sequence[str]) -> None:
        super().__init__()
        if len(sizes) - 1 != len(activations):
            raise ValueError("need one activation per layer")
        layers: list[nn.Module] = []
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations):
            layers += [nn.Linear(n_in, n_out), make_activation(act)]
        self.layers = nn.Sequential(*layers)
        self.sizes = tuple(int(s) for s in sizes)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                init_linear_(layer, generator)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)  # (batch, sizes[0]) -> (batch, sizes[-1])

    def pre_activation(self, x: Tensor) -> Tensor:
        """The output before the last activation (the logits of a sigmoid output)."""
        *body, _ = self.layers  # (slicing an nn.Sequential builds a new one: ~8 us)
        for layer in body:
            x = layer(x)
        return x

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    def extra_repr(self) -> str:
        return "sizes=" + "-".join(map(str, self.sizes))


class DenseEncoder(_DenseStack):
    """``in_features -> hidden_sizes... -> code_size``.

    Parameters
    ----------
    in_features : int
    hidden_sizes : sequence of int
        Widths of the hidden layers before the code, in order.
    code_size : int
        Width of the code (the bottleneck, or wider for sparse models).
    activation : str or sequence of str
        Activation of every hidden layer, or one name per hidden layer.
    code_activation : str
        Activation of the code layer; ``"linear"`` keeps every unit alive (a ReLU code can die).
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int],
        code_size: int,
        activation: str | Sequence[str] = "relu",
        code_activation: str = "linear",
    ) -> None:
        hidden_sizes = list(hidden_sizes)
        acts = _per_layer(activation, len(hidden_sizes)) + [code_activation]
        super().__init__([in_features, *hidden_sizes, code_size], acts)


class DenseDecoder(_DenseStack):
    """``code_size -> hidden_sizes... -> out_features``, the mirror of a ``DenseEncoder``.

    ``output_activation="sigmoid"`` suits data in [0, 1] (and cross-entropy); ``"linear"`` suits
    standardized data.
    """

    def __init__(
        self,
        code_size: int,
        hidden_sizes: Sequence[int],
        out_features: int,
        activation: str | Sequence[str] = "relu",
        output_activation: str = "linear",
    ) -> None:
        hidden_sizes = list(hidden_sizes)
        acts = _per_layer(activation, len(hidden_sizes)) + [output_activation]
        super().__init__([code_size, *hidden_sizes, out_features], acts)

    @property
    def output_activation(self) -> str:
        return activation_name(self.layers[-1])
