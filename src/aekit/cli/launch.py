"""``aekit fit --nproc N``: check everything once, then train under torchrun.

The options, the paths and the data are checked in this process first, so a bad CSV is one
line, not one per process and a launcher traceback. The processes then run this same command
(without ``--nproc``); an error in one of them is written to a file and printed here, once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _without_nproc(argv: list[str]) -> list[str]:
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            rest.append(item)
    return rest


def launch_processes(args, argv: list[str]) -> str:
    """Re-run this fit under torchrun with ``--nproc`` processes (process 0 writes the model)."""
    from .commands import _read
    from .options import build_model, resolve_options
    from .paths import check_output

    if args.command != "fit":
        raise ValueError("--nproc applies to aekit fit only.")
    if args.nproc < 1:
        raise ValueError(f"--nproc must be at least 1; got {args.nproc}.")
    options = resolve_options(args)
    check_output(args.output, [args.data, args.config], example="model.aekit")
    build_model(options, _read(args, options=options), verbose=0)  # everything checked here
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={args.nproc}", "-m", "aekit.cli", *_without_nproc(argv), "--quiet"]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AEKIT_ERROR_FILE": str(Path(folder) / "error")}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        errors = sorted(Path(folder).glob("error.*"))
        if done.returncode != 0:
            first = errors[0].read_text() if errors else _last_line(done.stderr)
            raise OSError(f"training with {args.nproc} processes failed: {first}")
    summary = done.stdout.strip()  # process 0's
    return f"{summary}\nTrained with {args.nproc} processes." if summary else \
        f"Trained with {args.nproc} processes; model written to {args.output}."


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no message"
