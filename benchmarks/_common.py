"""Helpers shared by the benchmark scripts: machine info, timing, seeding and result tables.

The benchmarks are run as scripts (``python benchmarks/bench_*.py``); this module sits next to
them and is never imported by the aekit package.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge the numbers: CPU, cores, load, library versions."""
    import sklearn

    flags = cpu_flags()
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    try:
        import pyod

        pyod_version = pyod.__version__
    except ImportError:
        pyod_version = "not installed"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "simd": " ".join(simd) or "none of avx2/avx512/amx",
        "load average (1 min) at start": f"{load[0]:.2f}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "pyod": pyod_version,
    }


def print_machine_info() -> None:
    for key, value in machine_info().items():
        print(f"  {key}: {value}")


def seed_everything(seed: int) -> None:
    """Seed the global RNGs, for the baselines that use them (the tutorial loop, PyOD)."""
    np.random.seed(seed)
    torch.manual_seed(seed)


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """Wall-clock seconds, CPU seconds of this process (all threads) and result of ``fn(*args)``.

    With one torch thread the CPU time is what the work costs whatever else runs on the
    machine; with several, idle threads spinning at barriers add to it.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pastes straight into the README)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
