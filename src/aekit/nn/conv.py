"""Convolutional encoders and decoders for samples with 1, 2 or 3 spatial dimensions.

A sample is ``(C, *spatial)``: ``(C, L)`` for a sequence of length L with C channels (1-D
convolutions), ``(C, H, W)`` for an image (2-D), ``(C, D, H, W)`` for a volume (3-D). The encoder
halves every spatial size at each level with a stride-2 convolution,
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
from .dense import init_linear_

_STRIDE = 2
_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_DECONV = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def init_conv_(layer: nn.Module, generator: torch.Generator | None = None) -> None:
    """PyTorch's default convolution initialisation, drawn from ``generator``.

    The fan-in is ``weight.shape[1] * kernel size``, as in PyTorch (for a transposed convolution
    that is its number of output channels).
    """
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        fan_in = layer.weight.shape[1] * math.prod(layer.weight.shape[2:])
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def check_sample_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """``(channels, *spatial)`` with 1 to 3 spatial dimensions and positive sizes."""
    shape = tuple(int(s) for s in shape)
    if not 2 <= len(shape) <= 4 or min(shape) < 1:
        raise ValueError(
            "sample shape must be (channels, length), (channels, height, width) or (channels, "
            f"depth, height, width) with positive sizes; got {shape}."
        )
    return shape


def conv_output_size(size: int, kernel_size: int) -> int:
    """Size along one dimension after a stride-2 convolution padded by ``kernel_size // 2``."""
    return (size + 2 * (kernel_size // 2) - kernel_size) // _STRIDE + 1


def level_shapes(
    sample_shape: Sequence[int], channels: Sequence[int], kernel_size: int
) -> list[tuple[int, ...]]:
    """``(C, *spatial)`` of the input and of every encoder level's output, in order."""
    shapes = [check_sample_shape(sample_shape)]
    for c in channels:
        spatial = shapes[-1][1:]
        shapes.append((int(c), *(conv_output_size(s, kernel_size) for s in spatial)))
    return shapes


def _output_padding(size_in: int, target: int, kernel_size: int) -> int:
    """The ``output_padding`` taking a transposed convolution from ``size_in`` to ``target``."""
    natural = (size_in - 1) * _STRIDE - 2 * (kernel_size // 2) + kernel_size
    return min(max(target - natural, 0), _STRIDE - 1)


def match_size(x: Tensor, *sizes: int) -> Tensor:
    """Crop (at the end) or zero-pad ``x``'s last ``len(sizes)`` dimensions to ``sizes``."""
    current = tuple(x.shape[-len(sizes):])
    if current == tuple(sizes):
        return x
    for dim, size in enumerate(sizes, start=x.dim() - len(sizes)):
        x = x.narrow(dim, 0, min(size, x.shape[dim]))
    pad: list[int] = []
    for dim in reversed(range(x.dim() - len(sizes), x.dim())):  # F.pad: last dimension first
        pad += [0, sizes[dim - (x.dim() - len(sizes))] - x.shape[dim]]
    return F.pad(x, pad)


class ConvEncoder(nn.Module):
    """``(C, *spatial) -> conv levels -> flatten -> code_size``.

    Parameters
    ----------
    sample_shape : tuple of int
        ``(channels, *spatial)`` of the input: ``(C, L)``, ``(C, H, W)`` or ``(C, D, H, W)``.
    channels : sequence of int
        Output channels of each stride-2 convolution, in order (each halves every spatial size).
    code_size : int
    kernel_size : int, default=3
        Kernel size along every spatial dimension, padded by ``kernel_size // 2``.
    activation : str, default="relu"
        Activation after every convolution.
    code_activation : str, default="linear"
    """

    def __init__(
        self,
        sample_shape: Sequence[int],
        channels: Sequence[int],
        code_size: int,
        kernel_size: int = 3,
        activation: str = "relu",
        code_activation: str = "linear",
    ) -> None:
        super().__init__()
        self.sample_shape = check_sample_shape(sample_shape)
        self.image_shape = self.sample_shape  # the name of the 2-D case
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.code_size = int(code_size)
        conv = _CONV[len(self.sample_shape) - 1]
        shapes = level_shapes(self.sample_shape, self.channels, self.kernel_size)
        self.convs = nn.ModuleList(
            nn.Sequential(
                conv(c_in[0], c_out[0], self.kernel_size, stride=_STRIDE,
                     padding=self.kernel_size // 2),
                make_activation(activation),
            )
            for c_in, c_out in zip(shapes[:-1], shapes[1:])
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shapes[-1]), self.code_size),
            make_activation(code_activation),
        )
        self.feature_shape = shapes[-1]  # (channels[-1], *spatial) of the last level

    def blocks(self) -> list[nn.Module]:
        """One module per level: the convolutions, then the dense head."""
        return [*self.convs, self.head]

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for block in self.convs:
            init_conv_(block[0], generator)
        init_linear_(self.head[1], generator)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.convs:
            x = block(x)  # (batch, c, *spatial) -> (batch, c_next, *ceil(spatial / 2))
        return self.head(x)  # (batch, *feature_shape) -> (batch, code_size)

    def extra_repr(self) -> str:
        return (f"sample_shape={self.sample_shape}, channels={self.channels}, "
                f"kernel_size={self.kernel_size}, code_size={self.code_size}")


class ConvDecoder(nn.Module):
    """``code_size -> dense -> transposed convolutions -> (C, *spatial)``: a ``ConvEncoder``'s
    mirror.

    Parameters
    ----------
    code_size : int
    sample_shape : tuple of int
        ``(channels, *spatial)`` of the output: the encoder's input shape.
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
        sample_shape: Sequence[int],
        channels: Sequence[int],
        kernel_size: int = 3,
        activation: str = "relu",
        output_activation: str = "linear",
    ) -> None:
        super().__init__()
        self.sample_shape = check_sample_shape(sample_shape)
        self.image_shape = self.sample_shape
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.code_size = int(code_size)
        deconv = _DECONV[len(self.sample_shape) - 1]
        shapes = level_shapes(self.sample_shape, self.channels, self.kernel_size)
        self.feature_shape = shapes[-1]
        self.head = nn.Sequential(
            nn.Linear(self.code_size, math.prod(self.feature_shape)),
            make_activation(activation) if self.channels else make_activation(output_activation),
            nn.Unflatten(1, self.feature_shape),
        )
        deconvs = []
        # level i maps shapes[i + 1] back to shapes[i]; walk from the innermost level outwards
        for i in reversed(range(len(self.channels))):
            (c_out, *target), (c_in, *size_in) = shapes[i], shapes[i + 1]
            padding = tuple(_output_padding(s, t, self.kernel_size)
                            for s, t in zip(size_in, target))
            act = output_activation if i == 0 else activation
            deconvs.append(nn.Sequential(
                deconv(c_in, c_out, self.kernel_size, stride=_STRIDE,
                       padding=self.kernel_size // 2, output_padding=padding),
                make_activation(act),
            ))
        self.deconvs = nn.ModuleList(deconvs)

    def blocks(self) -> list[nn.Module]:
        """One module per level: the dense head, then the transposed convolutions."""
        return [self.head, *self.deconvs]

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        init_linear_(self.head[0], generator)
        for block in self.deconvs:
            init_conv_(block[0], generator)

    def forward(self, code: Tensor) -> Tensor:
        x = self.head(code)  # (batch, code_size) -> (batch, *feature_shape)
        for block in self.deconvs:
            x = block(x)  # (batch, c, *spatial) -> (batch, c_prev, *~2 spatial)
        return match_size(x, *self.sample_shape[1:])  # exactly the input's shape

    def extra_repr(self) -> str:
        return (f"code_size={self.code_size}, sample_shape={self.sample_shape}, "
                f"channels={self.channels}, kernel_size={self.kernel_size}")
