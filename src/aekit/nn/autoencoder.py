"""``AutoencoderNet``: any encoder joined to any decoder, through an optional bottleneck."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .bottleneck import Bottleneck


class AutoencoderNet(nn.Module):
    """An encoder, an optional bottleneck (``TopKCode``, a variational code, ...) and a decoder.

    ``forward(x)`` returns ``(x_hat, code)``: the reconstruction, shaped like ``x``, and the code;
    ``forward(x, return_extras=True)`` returns ``(x_hat, code, extras)`` with what the
    bottleneck adds (see ``aekit.nn.bottleneck``). ``code_layer`` is the former name of
    ``bottleneck``.
    """

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, bottleneck: nn.Module | None = None, *,
        code_layer: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.bottleneck = bottleneck if bottleneck is not None else (
            code_layer if code_layer is not None else Bottleneck())
        self.decoder = decoder

    @property
    def code_layer(self) -> nn.Module:
        return self.bottleneck

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for part in (self.encoder, self.bottleneck, self.decoder):
            reset = getattr(part, "reset_parameters", None)
            if reset is not None:
                reset(generator)

    def _code(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        out = self.bottleneck(self.encoder(x))
        return out if isinstance(out, tuple) else (out, {})  # a plain module: the code alone

    def encode(self, x: Tensor) -> Tensor:
        return self._code(x)[0]  # (batch, *input_shape) -> (batch, code_size)

    def decode(self, code: Tensor) -> Tensor:
        return self.decoder(code)  # (batch, code_size) -> (batch, *input_shape)

    def forward(self, x: Tensor, return_extras: bool = False):
        code, extras = self._code(x)
        x_hat = self.decode(code)
        return (x_hat, code, extras) if return_extras else (x_hat, code)
