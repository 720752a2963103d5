"""Issue 18 (slow lane): fitting from ``np.load(path, mmap_mode="r")`` keeps memory flat.

A ``np.memmap`` is read with positioned file reads, never through the mapping, so the pages of
a 10x larger file do not pile up in the process's resident memory: the peak RSS of the fit on
10x the rows is at most 1.3x that on 1x (2,000,000 x 64 float32 rows against 200,000;
``benchmarks/bench_scaling.py --jobs fit-mmap`` is the benchmark).

The peak is the child's ``VmHWM`` (the high-water mark of its own memory since it started),
not ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec`` from the moment of the fork, so a
child of a large parent (pytest, having just written the 512 MB file) starts with the parent's
size as its "peak" (measured: 506 vs 734 MB by ``ru_maxrss``, 1.45x, for the same two fits
that ``VmHWM`` puts 1.04x apart).
"""

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHILD = """
import sys, warnings
import numpy as np
import torch
from aekit import Autoencoder
torch.set_num_threads(1)
warnings.simplefilter("ignore")
Autoencoder(16, max_iter=1, random_state=0).fit(np.random.rand(512, 64).astype(np.float32))
Autoencoder(16, max_iter=1, random_state=0).fit(np.load(sys.argv[1], mmap_mode="r"))
print(next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM")))
"""


def _write(path, n_rows: int) -> None:
    rng = np.random.RandomState(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, 64))
    for start in range(0, n_rows, 100_000):
        stop = min(start + 100_000, n_rows)
        out[start:stop] = rng.rand(stop - start, 64)
    out.flush()
    del out


def test_a_memmap_fit_on_ten_times_the_rows_peaks_at_most_1_3_times_the_memory(tmp_path):
    peaks = {}
    for scale in (1, 10):
        path = tmp_path / f"x{scale}.npy"
        _write(path, 200_000 * scale)
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                             text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-2000:]
        peaks[scale] = int(out.stdout.strip().splitlines()[-1])
        path.unlink()
    assert peaks[10] <= 1.3 * peaks[1], peaks
