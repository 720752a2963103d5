"""The ``aekit`` command line: a thin layer over the estimators; torch is imported lazily.

Exit codes: 0 on success, 2 on a user error (one line on stderr; ``--debug`` shows the
traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import AekitError


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def _build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="aekit", description="Autoencoders on PyTorch, the scikit-learn way: train on a "
        "CSV, Parquet, NPY file or a folder of images; encode, score, denoise, report.")
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="train a model on DATA and write it to -o MODEL")
    fit.add_argument("data", help="CSV, Parquet, NPY/NPZ file or folder of images")
    fit.add_argument("-o", "--output", required=True, help="model file to write (.aekit)")
    fit.add_argument("--config", help="TOML file with these options (CLI options win)")
    fit.add_argument("--kind", help="auto (default), dense, conv, stacked, stacked-conv")
    fit.add_argument("--components", type=int, help="code size")
    fit.add_argument("--hidden", help="dense hidden layer widths, e.g. 256,64")
    fit.add_argument("--noise", help="denoising: gaussian, salt_and_pepper or masking")
    fit.add_argument("--noise-level", type=float, help="noise std (gaussian) or rate")
    fit.add_argument("--sparsity", help="kl, l1 or topk")
    fit.add_argument("--sparsity-target", type=float, help="KL target rho, or k for topk")
    fit.add_argument("--sparsity-weight", type=float, help="penalty weight (beta)")
    fit.add_argument("--loss", help="mse (default) or bce")
    fit.add_argument("--epochs", type=int, help="maximum epochs")
    fit.add_argument("--batch-size", type=int)
    fit.add_argument("--device", help="auto (default), cpu, cuda, mps")
    fit.add_argument("--seed", type=int, help="random seed (default 0)")
    fit.add_argument("--contamination", type=float,
                     help="fraction of training rows above the outlier threshold (default 0.01)")
    fit.add_argument("--id-column", help="CSV/Parquet column passed through as the row ID")
    fit.add_argument("--checkpoint", help="folder for checkpoints; resumes if one is there")
    fit.add_argument("--stream", action="store_true",
                     help="read the data a chunk at a time instead of loading it (data larger "
                     "than memory: a .npy file, Parquet files or a folder of images)")
    fit.add_argument("--nproc", type=int, default=1,
                     help="train with N processes (torch.distributed via torchrun; gloo on "
                     "CPU, nccl on GPUs)")
    _add_common(fit)

    for name, text in (("encode", "write the codes of DATA"),
                       ("score", "write per-row reconstruction error, outlier flag and the "
                                 "features that contributed most"),
                       ("denoise", "write the reconstruction of DATA (images as PNG files)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("model")
        p.add_argument("data")
        p.add_argument("-o", "--output", required=True,
                       help="output file (.csv, .parquet, .npy) or folder for images")
        p.add_argument("--id-column", help="column passed through as the row ID")
        if name == "score":
            p.add_argument("--top", type=int, default=3, help="features to name per row")
        if name in ("encode", "score", "denoise"):
            p.add_argument("--stream", action="store_true",
                           help="read DATA (.npy, Parquet, image folder) a chunk at a time and "
                                "write the output as it goes: for data larger than memory")
        _add_common(p)

    report = sub.add_parser("report", help="write one self-contained HTML report of MODEL "
                            "(with DATA: reconstructions, code map, scores, PCA comparison)")
    report.add_argument("model")
    report.add_argument("data", nargs="?")
    report.add_argument("-o", "--output", required=True, help="HTML file to write")
    report.add_argument("--id-column", help="column passed through as the row ID")
    _add_common(report)

    demo = sub.add_parser(
        "demo",
        help="train the seed's undercomplete, sparse and denoising autoencoders on the "
        "built-in digits and compare each with PCA",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    demo.add_argument("--report", default="aekit-demo-report.html",
                      help="HTML report of the undercomplete model (default "
                      "aekit-demo-report.html; '' for none)")
    _add_common(demo)
    return parser


def _demo(args: argparse.Namespace, progress: bool) -> str:
    from .demo import format_rows, run_demo

    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {args.epochs}.")
    if args.report:  # refused before training, not after it
        from .commands import check_output

        check_output(args.report, table=False)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    print("Training on scikit-learn's digits (1,797 8x8 images; 75% train, 25% held out)...")
    with warnings.catch_warnings():  # the demo trains for a fixed number of epochs
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows, model, (X_test, y_test) = run_demo(random_state=args.seed, max_iter=args.epochs)
    print("\n".join([
        format_rows(rows),
        "MSE: held-out reconstruction error in pixel units (denoising: noisy input vs clean).",
        "acc: logistic regression trained on the codes; PCA columns use the same code size.",
    ]), flush=True)  # the results first: the report below is extra
    if not args.report:
        return ""
    from ..reports import write_report

    write_report(args.report, model, X_test, y_test, image_shape=(1, 8, 8),
                 title="aekit demo: undercomplete autoencoder on digits (held-out part)")
    return f"Report written to {args.report}."


def _launch_processes(args: argparse.Namespace, argv: list[str]) -> str:
    """Re-run this fit under torchrun with ``--nproc`` processes (rank 0 writes the model)."""
    import subprocess

    if args.nproc < 1:
        raise ValueError(f"--nproc must be at least 1; got {args.nproc}.")
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            rest.append(item)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={args.nproc}", "-m", "aekit.cli", *rest]
    done = subprocess.run(cmd)
    if done.returncode != 0:
        raise OSError(f"distributed training with {args.nproc} processes failed "
                      f"(exit code {done.returncode}); see the messages above.")
    return f"Trained with {args.nproc} processes; model written to {args.output}."


def _run(args: argparse.Namespace, argv: list[str]) -> str:
    from . import commands

    if getattr(args, "nproc", 1) != 1:
        return _launch_processes(args, argv)
    progress = not args.quiet
    handlers = {"fit": commands.fit_command, "encode": commands.encode_command,
                "score": commands.score_command, "denoise": commands.denoise_command,
                "report": commands.report_command, "demo": _demo}
    return handlers[args.command](args, progress)


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        import warnings

        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            summary = _run(args, argv)
    except (ValueError, TypeError, OSError, AekitError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"aekit: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130
    from ..training.distributed import is_main_process

    if is_main_process() and summary:
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
