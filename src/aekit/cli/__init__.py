"""The ``aekit`` command line. A thin layer over the estimators; torch is imported lazily."""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="aekit", description="Autoencoders on PyTorch, the scikit-learn way."
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="train the seed's undercomplete, sparse and denoising autoencoders on the "
        "built-in digits and compare each with PCA",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    return parser


def _demo(args: argparse.Namespace) -> int:
    from .demo import format_rows, run_demo

    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {args.epochs}.")
    print("Training on scikit-learn's digits (1,797 8x8 images; 75% train, 25% held out)...")
    rows = run_demo(random_state=args.seed, max_iter=args.epochs)
    print(format_rows(rows))
    print("MSE: held-out reconstruction error in pixel units (denoising: noisy input vs clean).")
    print("acc: logistic regression trained on the codes; PCA columns use the same code size.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return {"demo": _demo}[args.command](args)
    except (ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"aekit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
