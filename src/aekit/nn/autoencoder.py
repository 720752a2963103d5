"""``AutoencoderNet``: any encoder joined to any decoder, with an optional code layer."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AutoencoderNet(nn.Module):
    """An encoder, an optional code layer (e.g. ``TopKCode``) and a decoder.

    ``forward(x)`` returns ``(x_hat, code)``: the reconstruction, shaped like ``x``, and the code.
    """

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, code_layer: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.code_layer = code_layer if code_layer is not None else nn.Identity()
        self.decoder = decoder

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for part in (self.encoder, self.code_layer, self.decoder):
            reset = getattr(part, "reset_parameters", None)
            if reset is not None:
                reset(generator)

    def encode(self, x: Tensor) -> Tensor:
        return self.code_layer(self.encoder(x))  # (batch, *input_shape) -> (batch, code_size)

    def decode(self, code: Tensor) -> Tensor:
        return self.decoder(code)  # (batch, code_size) -> (batch, *input_shape)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        code = self.encode(x)
        return self.decode(code), code
