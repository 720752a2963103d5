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
    fn: Callable[[Tensor], Tensor | dict[str, Tensor]],
    data: Tensor,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> Tensor | dict[str, Tensor]:
    """Apply ``fn`` to ``data`` in batches on ``device``, ``module`` in eval mode; CPU result.

    ``fn`` returns a tensor, or a dict of tensors (several outputs of one forward pass); the
    batches' results are concatenated (per key).
    """
    was_training = module.training
    module.eval()
    try:
        outs = [fn(data[i : i + batch_size].to(device))
                for i in range(0, data.shape[0], batch_size)]
    finally:
        module.train(was_training)
    if outs and isinstance(outs[0], dict):
        return {k: torch.cat([_widen(o[k]).cpu() for o in outs]) for k in outs[0]}
    return torch.cat([_widen(o).cpu() for o in outs]) if outs else torch.empty(0)
