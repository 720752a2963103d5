"""Batched inference in eval mode, for transform/score on data of any size."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _widen(t: Tensor) -> Tensor:
    """Half-precision results become float32; float32 and float64 stay as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


@torch.inference_mode()
def map_batches(
    module: nn.Module,
    fn: Callable[[Tensor], Tensor],
    data: Tensor,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Apply ``fn`` to ``data`` in batches on ``device``, ``module`` in eval mode; CPU result."""
    was_training = module.training
    module.eval()
    try:
        outs = [
            _widen(fn(data[i : i + batch_size].to(device))).cpu()
            for i in range(0, data.shape[0], batch_size)
        ]
    finally:
        module.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)
