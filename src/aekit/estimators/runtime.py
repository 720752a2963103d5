"""Seeds and devices: resolved per fit, never at import or in ``__init__``."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ..training.distributed import from_rank_zero
from ..training.runtime import resolve_device

__all__ = ["make_generator", "resolve_device", "seed_from_random_state"]


def seed_from_random_state(random_state) -> int:
    """An int seed: the int itself, a draw from a RandomState, or fresh OS entropy for None
    (the same on every process under torchrun, once the process group is up).

    Never reads or changes numpy's or torch's global RNG.
    """
    if random_state is None:  # under torchrun: process 0's draw on every process
        return from_rank_zero(int(np.random.SeedSequence().generate_state(1)[0] & 0x7FFFFFFF))
    if isinstance(random_state, numbers.Integral):
        return int(random_state) & 0x7FFFFFFF
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise TypeError(
        f"random_state must be None, an int or a numpy RandomState; got {random_state!r}."
    )


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
