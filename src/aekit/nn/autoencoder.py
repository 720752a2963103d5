"""``AutoencoderNet``: any encoder joined to any decoder, through an optional bottleneck."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .bottleneck import Bottleneck


class AutoencoderNet(nn.Module):
    """An encoder, an optional bottleneck (``TopKCode``, a variational code, ...) and a decoder.

    ``forward(x)`` returns ``(x_hat, code)``: the reconstruction, shaped like ``x``, and the code;
    ``forward(x, return_extras=True)`` returns ``(x_hat, code, extras)`` with what the
    bottleneck adds (see ``aekit.nn.bottleneck``); ``logits=True``, the logits of a sigmoid
    output instead of ``x_hat``. ``code_layer`` is the former name of
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

    @property
    def has_logits(self) -> bool:
        """Whether the decoder ends in a sigmoid whose input ``forward(x, logits=True)`` can
        return (a dense or tied decoder): a cross-entropy can then be taken on the logits."""
        return (getattr(self.decoder, "output_activation", None) == "sigmoid"
                and hasattr(self.decoder, "pre_activation")
                and type(self).decode is AutoencoderNet.decode)  # a subclass's decode: its own

    def forward(self, x: Tensor, return_extras: bool = False, logits: bool = False):
        """``logits=True``: the first output is the decoder's output before its final sigmoid
        (see ``has_logits``), not the reconstruction."""
        code, extras = self._code(x)
        if logits:
            if not self.has_logits:
                raise ValueError("logits=True needs a dense or tied decoder that ends in a "
                                 "sigmoid; this one does not.")
            x_hat = self.decoder.pre_activation(code)
        else:
            x_hat = self.decode(code)
        return (x_hat, code, extras) if return_extras else (x_hat, code)
