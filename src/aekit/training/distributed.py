"""torch.distributed plumbing: ``fit`` joins the process group that ``torchrun`` describes.

Under ``torchrun --nproc-per-node=N script.py`` every process calls ``fit`` on the same data;
each trains on its shard of every global batch (``batch_size`` stays the global batch size),
DistributedDataParallel averages the gradients, and only rank 0 writes files and shows
progress. Backend: ``nccl`` on CUDA, ``gloo`` on the CPU.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world() -> tuple[int, int]:
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_from_env(device: torch.device) -> torch.device:
    """Join torchrun's process group if there is one and none exists; return this rank's device.

    On CUDA each process takes ``cuda:LOCAL_RANK``.
    """
    if not launched_by_torchrun() or not dist.is_available():
        return device
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def from_rank_zero(value: int) -> int:
    """Process 0's ``value`` on every process (a seed drawn from fresh entropy must be the
    same everywhere, or the processes shuffle and split the data differently)."""
    if not is_distributed():
        return value
    own = value if dist.get_rank() == 0 else 0
    return int(all_reduce_sum(torch.tensor(float(own))).item())


def all_reduce_sum(value: torch.Tensor) -> torch.Tensor:
    """Sum a CPU tensor over all processes (identity without a process group)."""
    if not is_distributed():
        return value
    backend_cuda = dist.get_backend() == "nccl"
    buffer = value.to("cuda" if backend_cuda else "cpu", torch.float64).clone()
    dist.all_reduce(buffer)
    return buffer.cpu()
