"""Convolutional encoders and decoders for images of any size and channel count.

The encoder halves the height and width at every level with a stride-2 convolution,
``(C, H, W) -> (c1, ceil(H/2), ceil(W/2)) -> (c2, ...)``, then flattens the last feature map and
maps it to a dense code. The decoder mirrors it: a dense layer back to the last feature map, then
one stride-2 transposed convolution per level. Each transposed convolution's ``output_padding`` is
chosen so that it lands on the size of the matching encoder level, so odd sizes come back exact
(7x9 -> 4x5 -> 2x3 -> 4x5 -> 7x9); a last crop/zero-pad guarantees the input's shape for any
kernel size.

Both modules expose ``blocks()``: one module per level, encoder blocks in order and decoder blocks
in order, so that encoder block ``k`` and decoder block ``n - 1 - k`` form a shallow autoencoder
(what greedy layer-wise pretraining trains).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import make_activation

_STRIDE = 2


def init_conv_(layer: nn.Conv2d | nn.ConvTranspose2d, generator: torch.Generator | None = None):
    """PyTorch's default convolution initialisation, drawn from ``generator``.

    The fan-in is ``weight.shape[1] * kernel area``, as in PyTorch (for a transposed convolution
    that is its number of output channels).
    """
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        fan_in = layer.weight.shape[1] * math.prod(layer.weight.shape[2:])
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _init_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    from .dense import init_linear_

    init_linear_(layer, generator)


def _check_image_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image shape must be (channels, height, width) with positive sizes; got {shape}."
        )
    return shape  # type: ignore[return-value]


def conv_output_size(size: int, kernel_size: int) -> int:
    """Height (or width) after one stride-2 convolution with ``padding = kernel_size // 2``."""
    return (size + 2 * (kernel_size // 2) - kernel_size) // _STRIDE + 1


def level_shapes(
    image_shape: Sequence[int], channels: Sequence[int], kernel_size: int
) -> list[tuple[int, int, int]]:
    """``(C, H, W)`` of the input and of every encoder level's output, in order."""
    shapes = [_check_image_shape(image_shape)]
    for c in channels:
        _, h, w = shapes[-1]
        shapes.append((int(c), conv_output_size(h, kernel_size), conv_output_size(w, kernel_size)))
    return shapes


def _output_padding(size_in: int, target: int, kernel_size: int) -> int:
    """The ``output_padding`` taking a transposed convolution from ``size_in`` to ``target``."""
    natural = (size_in - 1) * _STRIDE - 2 * (kernel_size // 2) + kernel_size
    return min(max(target - natural, 0), _STRIDE - 1)


def match_size(x: Tensor, height: int, width: int) -> Tensor:
    """Crop (bottom/right) or zero-pad ``x`` to ``height x width``; a no-op when it fits."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    x = x[..., :height, :width]  # (batch, C, min(h, H), min(w, W))
    return F.pad(x, (0, width - x.shape[-1], 0, height - x.shape[-2]))  # (batch, C, H, W)


class ConvEncoder(nn.Module):
    """``(C, H, W) -> conv levels -> flatten -> code_size``.

    Parameters
    ----------
    image_shape : (int, int, int)
        ``(channels, height, width)`` of the input images.
    channels : sequence of int
        Output channels of each stride-2 convolution, in order (each halves height and width).
    code_size : int
    kernel_size : int, default=3
        Square kernel, padded by ``kernel_size // 2``.
    activation : str, default="relu"
        Activation after every convolution.
    code_activation : str, default="linear"
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        code_size: int,
        kernel_size: int = 3,
        activation: str = "relu",
        code_activation: str = "linear",
    ) -> None:
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.code_size = int(code_size)
        shapes = level_shapes(self.image_shape, self.channels, self.kernel_size)
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_in, c_out, self.kernel_size, stride=_STRIDE,
                          padding=self.kernel_size // 2),
                make_activation(activation),
            )
            for (c_in, _, _), (c_out, _, _) in zip(shapes[:-1], shapes[1:])
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shapes[-1]), self.code_size),
            make_activation(code_activation),
        )
        self.feature_shape = shapes[-1]  # (channels[-1], h, w) of the last level

    def blocks(self) -> list[nn.Module]:
        """One module per level: the convolutions, then the dense head."""
        return [*self.convs, self.head]

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for block in self.convs:
            init_conv_(block[0], generator)
        _init_linear(self.head[1], generator)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.convs:
            x = block(x)  # (batch, c, h, w) -> (batch, c_next, ceil(h/2), ceil(w/2))
        return self.head(x)  # (batch, *feature_shape) -> (batch, code_size)

    def extra_repr(self) -> str:
        return (f"image_shape={self.image_shape}, channels={self.channels}, "
                f"kernel_size={self.kernel_size}, code_size={self.code_size}")


class ConvDecoder(nn.Module):
    """``code_size -> dense -> transposed convolutions -> (C, H, W)``: a ``ConvEncoder``'s mirror.

    Parameters
    ----------
    code_size : int
    image_shape : (int, int, int)
        ``(channels, height, width)`` of the output: the encoder's input shape.
    channels : sequence of int
        The ENCODER's channels, in encoder order; the decoder walks them backwards.
    kernel_size : int, default=3
    activation : str, default="relu"
    output_activation : str, default="linear"
        ``"sigmoid"`` for images in [0, 1].
    """

    def __init__(
        self,
        code_size: int,
        image_shape: Sequence[int],
        channels: Sequence[int],
        kernel_size: int = 3,
        activation: str = "relu",
        output_activation: str = "linear",
    ) -> None:
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.code_size = int(code_size)
        shapes = level_shapes(self.image_shape, self.channels, self.kernel_size)
        self.feature_shape = shapes[-1]
        self.head = nn.Sequential(
            nn.Linear(self.code_size, math.prod(self.feature_shape)),
            make_activation(activation) if self.channels else make_activation(output_activation),
            nn.Unflatten(1, self.feature_shape),
        )
        deconvs = []
        # level i maps shapes[i + 1] back to shapes[i]; walk from the innermost level outwards
        for i in reversed(range(len(self.channels))):
            (c_out, h_out, w_out), (c_in, h_in, w_in) = shapes[i], shapes[i + 1]
            padding = (_output_padding(h_in, h_out, self.kernel_size),
                       _output_padding(w_in, w_out, self.kernel_size))
            act = output_activation if i == 0 else activation
            deconvs.append(nn.Sequential(
                nn.ConvTranspose2d(c_in, c_out, self.kernel_size, stride=_STRIDE,
                                   padding=self.kernel_size // 2, output_padding=padding),
                make_activation(act),
            ))
        self.deconvs = nn.ModuleList(deconvs)

    def blocks(self) -> list[nn.Module]:
        """One module per level: the dense head, then the transposed convolutions."""
        return [self.head, *self.deconvs]

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        _init_linear(self.head[0], generator)
        for block in self.deconvs:
            init_conv_(block[0], generator)

    def forward(self, code: Tensor) -> Tensor:
        x = self.head(code)  # (batch, code_size) -> (batch, *feature_shape)
        for block in self.deconvs:
            x = block(x)  # (batch, c, h, w) -> (batch, c_prev, ~2h, ~2w)
        _, height, width = self.image_shape
        return match_size(x, height, width)  # (batch, C, H, W), exactly the input's shape

    def extra_repr(self) -> str:
        return (f"code_size={self.code_size}, image_shape={self.image_shape}, "
                f"channels={self.channels}, kernel_size={self.kernel_size}")
