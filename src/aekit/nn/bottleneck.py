"""Bottlenecks: what stands between the encoder's output and the decoder's input.

A bottleneck turns the encoder's output ``h`` into the code and may return more than the code:
``forward(h)`` gives ``(code, extras)``, where ``extras`` is a dict of tensors the training
objective hands to the constraints' penalties (a variational code returns its mean and
log-variance there, and a code sampled with the reparameterisation trick in training). It may
ask the encoder for more units than the code has (``encoder_width``): two per code unit for a
mean and a log-variance. In eval mode a bottleneck is deterministic (``transform`` gives the
same code for the same row).

``TopKCode`` is the k-sparse code, active at inference too.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Bottleneck(nn.Module):
    """Base class: the identity, with nothing extra."""

    def encoder_width(self, code_size: int) -> int:
        """How many units the encoder must output for a code of ``code_size`` units."""
        return int(code_size)

    def forward(self, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return h, {}


class TopKCode(Bottleneck):
    """k-sparse code (Makhzani & Frey, 2013): keep the ``k`` largest units of each sample."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"TopKCode needs k >= 1; got {k}.")
        self.k = int(k)

    def forward(self, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if self.k >= h.shape[-1]:
            return h, {}
        kth = torch.topk(h, self.k, dim=-1).values[..., -1:]  # (batch, 1)
        return h * (h >= kth).to(h.dtype), {}

    def extra_repr(self) -> str:
        return f"k={self.k}"
