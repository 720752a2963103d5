"""Where and how training runs: the device, the precision and the number of threads.

Each is decided per fit, from the hardware and the size of the work, never from a timing, so
the same data and seed give the same weights on the same machine. The rules and the
measurements behind their thresholds are in ``benchmarks/README.md`` (``bench_policy.py``).

- **Threads.** torch's intra-op threads pay off only when a step has enough work to split:
  below ``THREADS_MIN_FLOPS`` per step a second thread slows training down (the threads spend
  the step waiting for each other), above it training uses the threads torch was given.
- **Precision.** bf16 autocast is fast only on hardware that multiplies bf16 natively (CUDA
  GPUs that support it, CPUs with AVX512-BF16 or AMX), and on those CPUs only for steps with
  enough matrix work to repay the casts (``BF16_MIN_FLOPS``); small models train faster, and
  as accurately, in float32. On a CPU, dense networks keep float32 tensors and only their
  matrix products run in bf16 (``training_precision``); convolutions run under autocast.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

#: forward floating-point operations per step from which a second thread pays off (measured)
THREADS_MIN_FLOPS = 20e6
#: forward floating-point operations per step from which bf16 autocast pays off on CPUs with
#: native bf16 (AVX512-BF16/AMX), and the smallest feature map it accepts (measured)
BF16_MIN_FLOPS = 100e6
#: forward floating-point operations of a whole fit below which bf16 does not repay the
#: kernels it creates on first use of each shape (20-30 ms a dense model, measured)
BF16_MIN_TOTAL_FLOPS = 1e10
BF16_MIN_FEATURE_MAP = 2


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


class Workload:
    """The size of one training step (or inference batch) of a module, measured once.

    ``flops_per_sample`` counts the forward pass's floating-point operations on one sample
    (matrix products and convolutions, by ``torch.utils.flop_counter``);
    ``smallest_feature_map`` is the fewest positions any convolution sees (None: no
    convolution).
    """

    def __init__(self, module: nn.Module, sample_shape: Sequence[int]):
        self.flops_per_sample, self.smallest_feature_map = _measure(module, tuple(sample_shape))

    def flops(self, batch_size: int) -> float:
        return float(self.flops_per_sample) * int(batch_size)


def _measure(module: nn.Module, sample_shape: tuple[int, ...]) -> tuple[int, int | None]:
    from torch.utils.flop_counter import FlopCounterMode

    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
             nn.ConvTranspose3d)
    sizes: list[int] = []

    def record(layer, inputs, output):
        sizes.append(int(inputs[0][0, 0].numel()))  # positions of one input channel

    hooks = [m.register_forward_hook(record) for m in module.modules() if isinstance(m, convs)]
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.zeros((1, *sample_shape), device=device))
        flops = int(counter.get_total_flops())
    finally:
        for hook in hooks:
            hook.remove()
        module.train(was_training)
    return flops, (min(sizes) if sizes else None)


def default_threads() -> int:
    """The threads torch was given (its default: the physical cores; torchrun: 1)."""
    return max(1, torch.get_num_threads())


def choose_threads(n_threads: int | None, work_flops: float) -> int:
    """``n_threads`` if given (-1: all of torch's threads), else by the size of the work."""
    available = default_threads()
    if n_threads is not None:
        return available if n_threads == -1 else int(n_threads)
    return available if work_flops >= THREADS_MIN_FLOPS else 1


def choose_precision(precision: str, device: torch.device,
                     workload: Workload | None = None, batch_size: int = 1,
                     n_steps: int | None = None) -> torch.dtype | None:
    """The autocast dtype for training (None: plain float32).

    ``"auto"`` trains in bf16 (fp32 master weights) on CUDA GPUs that support it, and on CPUs
    with native bf16 only for steps of at least ``BF16_MIN_FLOPS`` whose convolutions see at
    least ``BF16_MIN_FEATURE_MAP`` positions (on one-position feature maps the CPU's bf16
    convolution gradients are unreliable), in fits of ``n_steps`` (when known) that come to
    ``BF16_MIN_TOTAL_FLOPS`` at least. Elsewhere bf16 is emulated and many times slower.
    Inference always runs in float32.
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu" or not cpu_has_fast_bf16() or workload is None:
        return None
    small_map = (workload.smallest_feature_map is not None
                 and workload.smallest_feature_map < BF16_MIN_FEATURE_MAP)
    short = n_steps is not None and workload.flops(batch_size) * n_steps < BF16_MIN_TOTAL_FLOPS
    if workload.flops(batch_size) >= BF16_MIN_FLOPS and not small_map and not short:
        return torch.bfloat16
    return None


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.conv._ConvNd) for m in module.modules())


@contextmanager
def training_precision(module: nn.Module, device: torch.device,
                       dtype: torch.dtype | None) -> Iterator[torch.dtype | None]:
    """Train the block in ``dtype`` (from ``choose_precision``); yields the autocast dtype the
    forward pass should use.

    On a CPU, a network without convolutions keeps its float32 weights and activations and
    oneDNN multiplies the matrices in bf16 (``torch.backends.mkldnn.matmul.fp32_precision``,
    restored after): autocast would cast every weight to bf16 and every weight gradient back
    at every step, which on the 784-400-20 VAE of ``bench_vae.py`` costs about a tenth of the
    step. Convolutions keep autocast (oneDNN's bf16 mode did not speed them up, measured), as
    do GPUs and torch builds without the setting. The setting is process-wide: other torch
    code running meanwhile in the process multiplies in bf16 too. On a CPU without native bf16
    (``precision="bfloat16"`` forced there) oneDNN may keep such products in float32.
    """
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    if (dtype is not torch.bfloat16 or device.type != "cpu" or _has_conv(module)
            or not hasattr(matmul, "fp32_precision")):
        yield dtype
        return
    before = matmul.fp32_precision
    matmul.fp32_precision = "bf16"
    try:
        yield None
    finally:
        matmul.fp32_precision = before


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads; the process's setting is restored after."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
