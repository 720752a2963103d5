"""Seeds, devices and precision: resolved per fit, never at import or in ``__init__``."""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch

from ..training.distributed import from_rank_zero


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


def resolve_device(device, owner: str = "Autoencoder") -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then the CPU; an unavailable device is a clear error."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"The 'device' parameter of {owner} must be 'auto', 'cpu', 'cuda', 'cuda:N' or "
            f"'mps'. Got {device!r} instead."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available to this torch build; "
            "use device='auto' or device='cpu'."
        )
    if resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} but MPS is not available; use device='auto' or 'cpu'."
            )
    return resolved


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True where the CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training (None: plain float32).

    ``"auto"`` trains in bf16 (fp32 master weights) only where bf16 is fast: CUDA GPUs that
    support it and CPUs with AVX512-BF16/AMX. On other CPUs bf16 is emulated and many times
    slower, so ``"auto"`` stays in float32 there. Inference always runs in float32.
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return None
