"""Scaling: peak memory and epoch time of fits streamed from disk, and 1 vs 2 processes (issue 6).

Writes synthetic rank-16 data (``--features`` columns, float32) to ``.npy`` files of 1x, 2x,
5x and 10x ``--rows`` rows in ``--work-dir`` (written in blocks, never held whole). Every
measurement runs in a fresh Python process that imports aekit, warms torch up on 512 rows, then
records its resident memory, runs the job, and reports the peak (``VmHWM``):

* ``fit, streamed``: ``Autoencoder(n_components=16, max_iter=--epochs)`` fitted on
  ``NpySource(path)`` (8 MB chunks, the default);
* ``score, streamed``: ``score_samples(NpySource(path))`` of that model;
* ``fit, in memory``: the same model fitted on ``np.load(path)``, the way PyOD and a
  hand-written loop take data (for comparison; skipped above ``--max-in-memory-scale``);
* ``fit, memmap``: the same model fitted on ``np.load(path, mmap_mode="r")`` (a ``np.memmap``,
  which aekit streams with positioned reads, never through the mapping).

Targets: the 10x streamed runs peak at most 1.3x the memory of the 1x runs; epoch time grows
linearly with the rows. Then ``torchrun --nproc-per-node=N`` (N = 1, 2) fits the 1x file
streamed, each process with one torch thread, for a small model (hidden 128, global batch 256)
and a larger one (hidden 512, 256, global batch 1024), after a warm-up fit; the time includes
the statistics pass over the file that every process makes.

Example::

    python benchmarks/bench_scaling.py --work-dir /tmp/aekit-scaling
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from _common import format_table, print_machine_info

CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    import torch
    from aekit import Autoencoder, NpySource

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024  # MiB

    job, path, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    params = dict(n_components=16, max_iter=epochs, random_state=0)
    warm = np.random.RandomState(0).rand(512, NpySource(path).n_features).astype(np.float32)
    model = Autoencoder(**params).fit(warm)
    model.score_samples(warm)
    before = status("VmRSS")
    start = time.perf_counter()
    if job == "fit":
        model = Autoencoder(**params).fit(NpySource(path))
    elif job == "fit-memory":
        model = Autoencoder(**params).fit(np.load(path))
    elif job == "fit-mmap":
        model = Autoencoder(**params).fit(np.load(path, mmap_mode="r"))
    elif job == "score":
        model.score_samples(NpySource(path))
    seconds = time.perf_counter() - start
    print(json.dumps({"before": before, "peak": status("VmHWM"), "seconds": seconds}))
    """
)

DDP_CHILD = textwrap.dedent(
    """
    import sys, time, warnings
    import torch
    import torch.distributed as dist
    from aekit import Autoencoder, NpySource

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    source = NpySource(sys.argv[1], chunk_rows=4096)
    hidden = tuple(int(h) for h in sys.argv[4].split(","))
    params = dict(n_components=16, hidden_layer_sizes=hidden, batch_size=int(sys.argv[3]),
                  random_state=0)
    Autoencoder(max_iter=1, **params).fit(source)  # warm up (and join the process group)
    start = time.perf_counter()
    Autoencoder(max_iter=int(sys.argv[2]), **params).fit(source)
    seconds = time.perf_counter() - start
    if not dist.is_initialized() or dist.get_rank() == 0:
        print("SECONDS", seconds, flush=True)
    """
)


def write_data(path: Path, n_rows: int, n_features: int, seed: int = 0) -> None:
    """Rank-16 rows plus noise, written block by block into a ``.npy`` file."""
    rng = np.random.RandomState(seed)
    basis = rng.randn(16, n_features)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, n_features))
    block = 20000
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        out[start:stop] = rng.randn(stop - start, 16) @ basis + 0.1 * rng.randn(stop - start,
                                                                              n_features)
    out.flush()
    del out


def run_child(script: Path, job: str, path: Path, epochs: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script), job, str(path), str(epochs)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{job} on {path} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ddp(script: Path, path: Path, nproc: int, epochs: int, batch: int, hidden: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         f"--nproc-per-node={nproc}", str(script), str(path), str(epochs), str(batch), hidden],
        capture_output=True, text=True, env=env, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"torchrun with {nproc} processes failed:\n{out.stderr[-2000:]}")
    return float(next(line.split()[1] for line in out.stdout.splitlines()
                      if line.startswith("SECONDS")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=None, help="where the .npy files go (default: "
                        "a temporary folder, removed afterwards)")
    parser.add_argument("--rows", type=int, default=50000, help="rows of the 1x file")
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-in-memory-scale", type=int, default=10)
    parser.add_argument("--ddp-epochs", type=int, default=2)
    parser.add_argument("--jobs", nargs="+", default=["fit", "score", "fit-memory", "fit-mmap"],
                        choices=["fit", "score", "fit-memory", "fit-mmap"])
    parser.add_argument("--skip-ddp", action="store_true", help="no torchrun comparison")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        script, ddp_script = work / "child.py", work / "ddp_child.py"
        script.write_text(CHILD)
        ddp_script.write_text(DDP_CHILD)
        print("Machine:")
        print_machine_info()
        print(f"Data: synthetic rank-16 rows x {args.features} float32 features; 1x = "
              f"{args.rows} rows ({args.rows * args.features * 4 / 2**20:.0f} MiB); "
              f"{args.epochs} epoch(s); one torch thread per process")
        results: dict[tuple[str, int], dict] = {}
        rows_table = []
        for scale in args.scales:
            path = work / f"rows_{scale}x.npy"
            if not path.exists():
                write_data(path, args.rows * scale, args.features)
            jobs = [j for j in args.jobs
                    if j != "fit-memory" or scale <= args.max_in_memory_scale]
            for job in jobs:
                r = run_child(script, job, path, args.epochs)
                results[(job, scale)] = r
                per_epoch = r["seconds"] / (args.epochs if job.startswith("fit") else 1)
                rows_table.append([
                    {"fit": "fit, streamed", "score": "score, streamed",
                     "fit-memory": "fit, in memory (np.load)",
                     "fit-mmap": "fit, np.memmap (np.load(mmap_mode='r'))"}[job],
                    f"{scale}x ({args.rows * scale:,} rows)", f"{r['peak']:.0f}",
                    f"{r['peak'] - r['before']:.0f}", f"{per_epoch:.1f}",
                    f"{args.rows * scale / per_epoch:,.0f}",
                ])
                print(f"  {rows_table[-1]}", flush=True)
        print()
        print(format_table(["job", "rows", "peak RSS (MiB)", "growth during job (MiB)",
                            "seconds (per epoch)", "rows/s"], rows_table))
        print()
        lo, hi = min(args.scales), max(args.scales)
        for job in ("fit", "score", "fit-memory", "fit-mmap"):
            if (job, lo) in results and (job, hi) in results:
                a, b = results[(job, lo)], results[(job, hi)]
                ratio = b["peak"] / a["peak"]
                verdict = "" if job == "fit-memory" else \
                    f"; target <= 1.3: {'met' if ratio <= 1.3 else 'missed'}"
                print(f"{job}: peak RSS {hi}x / {lo}x = {ratio:.2f} (growth during the job "
                      f"{a['peak'] - a['before']:.0f} -> {b['peak'] - b['before']:.0f} MiB)"
                      f"{verdict}")
        if ("fit", lo) not in results:
            return 0
        base = results[("fit", lo)]["seconds"] / (args.rows * lo)
        for scale in args.scales:
            per_row = results[("fit", scale)]["seconds"] / (args.rows * scale)
            print(f"fit epoch time per row at {scale}x: {per_row / base:.2f} x that at {lo}x "
                  "(linear: 1.00)")

        if args.skip_ddp:
            return 0
        print()
        path = work / f"rows_{lo}x.npy"
        ddp_rows = []
        for batch, hidden in ((256, "128"), (1024, "512,256")):
            times = {}
            for nproc in (1, 2):
                times[nproc] = run_ddp(ddp_script, path, nproc, args.ddp_epochs, batch, hidden)
                print(f"  torchrun {nproc}, batch {batch}, hidden {hidden}: "
                      f"{times[nproc]:.1f} s", flush=True)
            for nproc in (1, 2):
                ddp_rows.append([f"hidden ({hidden}), batch {batch}", str(nproc),
                                 f"{times[nproc]:.1f}",
                                 f"{args.rows * lo * args.ddp_epochs / times[nproc]:,.0f}",
                                 f"{times[1] / times[nproc]:.2f}x"])
        print(format_table(["model", "processes", "fit seconds", "rows/s", "vs 1 process"],
                           ddp_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
