"""Shared by the command-line tests: run ``aekit.cli.main`` in this process."""

from __future__ import annotations

import contextlib
import io
import os
from types import SimpleNamespace


def run_here(*args, cwd):
    """The command line in this process (``aekit.cli.main``), in folder ``cwd``: for tests that
    run many commands, without a torch import per command (the console script is tested in
    test_cli.py). Returns ``returncode``, ``stdout`` and ``stderr`` like ``subprocess.run``."""
    from aekit.cli import main

    out, err, before = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        os.chdir(before)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
