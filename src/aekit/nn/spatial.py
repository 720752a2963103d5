"""A spatial code: the encoder keeps a small feature map instead of a dense vector.

``SpatialEncoder``: ``(C, *spatial)`` -> stride-2 convolutions (each halves every size) -> a
1x1 convolution to ``code_channels``: the code is a ``(code_channels, *spatial / 2^L)`` map,
flattened by ``forward`` (so that it is a row of features like any code) and kept as a map by
``feature_map``. ``SpatialDecoder`` mirrors it without transposed convolutions: each level
upsamples by 2 (nearest neighbour) and then convolves ("resize-convolution", Odena et al.,
2016), which avoids the checkerboard pattern of stride-2 transposed convolutions; the output
is cropped to the input's size.

Both are fully convolutional: ``SpatialDecoder.from_map(encoder.feature_map(x))`` works on
inputs of any size (a photo larger than the training patches), with no seams between tiles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import make_activation
from .conv import _CONV, check_sample_shape, init_conv_, level_shapes


class SpatialEncoder(nn.Module):
    """``(C, *spatial) -> convs -> (code_channels, *spatial / 2^L)``, flattened by ``forward``."""

    def __init__(self, sample_shape: Sequence[int], channels: Sequence[int], code_channels: int,
                 kernel_size: int = 3, activation: str = "relu",
                 code_activation: str = "linear") -> None:
        super().__init__()
        self.sample_shape = check_sample_shape(sample_shape)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        conv = _CONV[len(self.sample_shape) - 1]
        shapes = level_shapes(self.sample_shape, self.channels, self.kernel_size)
        self.convs = nn.ModuleList(
            nn.Sequential(conv(a[0], b[0], self.kernel_size, stride=2,
                               padding=self.kernel_size // 2), make_activation(activation))
            for a, b in zip(shapes[:-1], shapes[1:]))
        self.head = nn.Sequential(conv(shapes[-1][0], int(code_channels), 1),
                                  make_activation(code_activation))
        self.code_shape = (int(code_channels), *shapes[-1][1:])
        self.code_size = math.prod(self.code_shape)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for block in (*self.convs, self.head):
            init_conv_(block[0], generator)

    def feature_map(self, x: Tensor) -> Tensor:
        for block in self.convs:
            x = block(x)
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.feature_map(x).flatten(1)


class SpatialDecoder(nn.Module):
    """A ``SpatialEncoder``'s mirror by resize-convolutions; ``forward`` takes flat codes."""

    def __init__(self, code_shape: Sequence[int], sample_shape: Sequence[int],
                 channels: Sequence[int], kernel_size: int = 3, activation: str = "relu",
                 output_activation: str = "linear") -> None:
        super().__init__()
        self.code_shape = tuple(int(s) for s in code_shape)
        self.sample_shape = check_sample_shape(sample_shape)
        self.kernel_size = int(kernel_size)
        conv = _CONV[len(self.sample_shape) - 1]
        widths = [int(c) for c in reversed(tuple(channels))]  # innermost first
        pad = self.kernel_size // 2
        self.head = nn.Sequential(conv(self.code_shape[0], widths[0], self.kernel_size,
                                       padding=pad), make_activation(activation))
        outs = [*widths[1:], widths[-1]]
        self.ups = nn.ModuleList(
            nn.Sequential(conv(c_in, c_out, self.kernel_size, padding=pad),
                          make_activation(activation))
            for c_in, c_out in zip(widths, outs))
        self.out = nn.Sequential(conv(outs[-1], self.sample_shape[0], self.kernel_size,
                                      padding=pad), make_activation(output_activation))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for block in (self.head, *self.ups, self.out):
            init_conv_(block[0], generator)

    def from_map(self, z: Tensor, size: Sequence[int] | None = None) -> Tensor:
        """A code map -> the reconstruction, cropped to ``size`` (default: twice the map's
        size per level)."""
        x = self.head(z)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = self.out(x)
        if size is not None:
            x = x[(..., *(slice(0, int(s)) for s in size))]
        return x

    def forward(self, code: Tensor) -> Tensor:
        z = code.reshape(code.shape[0], *self.code_shape)
        return self.from_map(z, self.sample_shape[1:])
