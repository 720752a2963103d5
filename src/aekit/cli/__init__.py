"""The ``aekit`` command line: a thin layer over the estimators; torch is imported lazily.

Exit codes: 0 on success; 2 on any error, as one line on stderr that names the problem and the
fix (``--debug`` shows the traceback); 130 when interrupted (Ctrl-C), with a line that says what
was kept. Warnings are one line too (``aekit: note: ...``), never a source line.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import AekitError


def _add_common(p: argparse.ArgumentParser, threads: bool = True) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars and notes")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    if threads:
        p.add_argument("--threads", type=int,
                       help="torch threads (default: one for small models, all for large)")


def _add_columns(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id-column", action="append", default=[], metavar="COL",
                   help="column passed through to every per-row output (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="COL",
                   help="column to leave out (repeatable)")
    p.add_argument("--categorical", action="append", default=[], metavar="COL",
                   help="column of codes to treat as categories (repeatable)")


def _build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .parser import add_fit, add_model_commands

    parser = argparse.ArgumentParser(
        prog="aekit", description="Autoencoders on PyTorch, the scikit-learn way: train on a "
        "CSV, Parquet, NPY file or a folder of images; encode, score, denoise, impute, report.")
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_fit(sub, _add_common, _add_columns)
    add_model_commands(sub, _add_common, _add_columns)
    return parser


def _error_line(exc: BaseException) -> str:
    """One line for any error: aekit's own message, or a memory error said plainly."""
    message = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and (
            "allocate" in message or "out of memory" in message)):
        return ("not enough memory for this model or data "
                f"({message[:120]}); use --stream, a smaller --components or --hidden, or a "
                "smaller --batch-size.")
    if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
        return f"{exc.filename}: {message}"
    return message


def _one_line_warnings(quiet: bool) -> None:
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        if not quiet:
            text = str(message).splitlines()[0] if str(message).strip() else category.__name__
            print(f"aekit: note: {text}", file=sys.stderr, flush=True)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    _one_line_warnings(args.quiet)
    try:
        summary = _run(args, argv)
    except KeyboardInterrupt:
        print("aekit: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error is one line (--debug: traceback)
        from .commands import Interrupted

        if isinstance(exc, Interrupted):
            print(f"aekit: {exc}", file=sys.stderr)
            return 130
        if args.debug:
            raise
        _report_error(exc)
        return 2
    from ..training.distributed import is_main_process

    if is_main_process() and summary:
        print(summary)
    return 0


def _report_error(exc: BaseException) -> None:
    line = _error_line(exc)
    error_file = os.environ.get("AEKIT_ERROR_FILE")
    if error_file:  # a process under --nproc: the launcher prints the line once
        try:
            with open(f"{error_file}.{os.environ.get('RANK', '0')}", "w") as f:
                f.write(line)
        except OSError:
            pass
        return
    if not isinstance(exc, (AekitError, ValueError, TypeError, OSError, MemoryError,
                            RuntimeError, KeyError, IndexError)):
        line = f"{type(exc).__name__}: {line}"
    print(f"aekit: error: {line}", file=sys.stderr)


def _run(args: argparse.Namespace, argv: list[str]) -> str:
    from . import commands

    if getattr(args, "nproc", 1) != 1:
        from .launch import launch_processes

        return launch_processes(args, argv)
    progress = not args.quiet
    from .demo import demo_command
    from .export import export_command
    from .report import report_command

    handlers = {"fit": commands.fit_command, "encode": commands.encode_command,
                "score": commands.score_command, "denoise": commands.denoise_command,
                "report": report_command, "impute": commands.impute_command,
                "demo": demo_command, "export": export_command}
    return handlers[args.command](args, progress)


if __name__ == "__main__":
    sys.exit(main())
