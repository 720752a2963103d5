"""Layers that act on the code itself (architectural constraints, active at inference too)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TopKCode(nn.Module):
    """k-sparse code (Makhzani & Frey, 2013): keep the ``k`` largest units of each sample."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"TopKCode needs k >= 1; got {k}.")
        self.k = int(k)

    def forward(self, code: Tensor) -> Tensor:
        if self.k >= code.shape[-1]:
            return code
        kth = torch.topk(code, self.k, dim=-1).values[..., -1:]  # (batch, 1)
        return code * (code >= kth).to(code.dtype)

    def extra_repr(self) -> str:
        return f"k={self.k}"
