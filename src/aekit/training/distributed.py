"""torch.distributed plumbing: ``fit`` joins the process group that ``torchrun`` describes.

Under ``torchrun --nproc-per-node=N script.py`` every process calls ``fit`` on the same data;
each trains on its shard of every global batch (``batch_size`` stays the global batch size),
DistributedDataParallel averages the gradients, and only rank 0 writes files and shows
progress. Backend: ``nccl`` on CUDA, ``gloo`` on the CPU.
"""

from __future__ import annotations

import atexit
import gc
import os

import torch
import torch.distributed as dist

#: the process group aekit created itself (None: none, or the user's own)
_OWN_GROUP: list[bool] = []
#: reduction buffers that outlive their collectives (see ``all_reduce_sum``)
_BUFFERS: dict[tuple[str, int], torch.Tensor] = {}


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
        if not _OWN_GROUP:
            _OWN_GROUP.append(True)
            atexit.register(_destroy_own_group)
    return device


def _destroy_own_group() -> None:
    """At exit, while the interpreter is still whole: free the process group aekit created.

    Otherwise gloo's worker threads may release a finished collective's tensors during
    interpreter finalization, when taking the GIL ends the thread and aborts the process
    ("terminate called without an active exception"; pytorch/pytorch#190489).
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # DistributedDataParallel wrappers in reference cycles hold the group
        dist.destroy_process_group()
        gc.collect()


def from_rank_zero(value: int) -> int:
    """Process 0's ``value`` on every process (a seed drawn from fresh entropy must be the
    same everywhere, or the processes shuffle and split the data differently)."""
    if not is_distributed():
        return value
    own = value if dist.get_rank() == 0 else 0
    return int(all_reduce_sum(torch.tensor(float(own), dtype=torch.float64)).item())


def check_same_everywhere(values: list[float], what: str) -> None:
    """Refuse a fit whose processes hold different data (rows, features), before any other
    collective: with different sizes they would take different steps and wait forever for one
    another (or abort in gloo)."""
    if not is_distributed():
        return
    mine = torch.tensor([float(v) for v in values], dtype=torch.float64)
    high = all_reduce_sum(mine, op=dist.ReduceOp.MAX)
    low = -all_reduce_sum(-mine, op=dist.ReduceOp.MAX)
    if not torch.equal(high, low):
        raise ValueError(
            f"The processes were given different data ({what}: from {low.tolist()} to "
            f"{high.tolist()}); give every process the same data (each trains on its share)."
        )


def all_reduce_sum(value: torch.Tensor, op=None) -> torch.Tensor:
    """Sum (or ``op``) a CPU tensor over all processes (identity without a process group)."""
    if not is_distributed():
        return value
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    # The buffer is kept: gloo's worker thread drops its reference to a collective's tensors
    # after ``all_reduce`` returns, and if that reference were the last one, the thread would
    # need the GIL to free the Python object, which aborts the process when it happens during
    # interpreter shutdown. A buffer that Python still holds is freed without the GIL.
    key = (device, value.numel())
    buffer = _BUFFERS.get(key)
    if buffer is None:
        buffer = _BUFFERS[key] = torch.empty(value.numel(), dtype=torch.float64, device=device)
    buffer.copy_(value.reshape(-1))
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM if op is None else op)
    return buffer.cpu().clone().reshape(value.shape)
