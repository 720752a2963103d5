"""The subcommands' arguments (``aekit --help`` builds them without importing torch)."""

from __future__ import annotations

import argparse


def add_fit(sub, add_common, add_columns) -> None:
    fit = sub.add_parser("fit", help="train an outlier detector (an autoencoder inside) on DATA "
                         "and write it to -o MODEL")
    fit.add_argument("data", help="CSV, Parquet (file or folder), NPY/NPZ file or folder of images")
    fit.add_argument("-o", "--output", required=True, help="model file to write (.aekit)")
    fit.add_argument("--config", help="TOML file with these options (options given here win)")
    fit.add_argument("--kind", help="auto (default), dense, conv, stacked, stacked-conv")
    fit.add_argument("--components", type=int, help="code size")
    fit.add_argument("--hidden", help="dense hidden layer widths, e.g. 256,64")
    fit.add_argument("--noise", help="denoising: gaussian, salt_and_pepper or masking")
    fit.add_argument("--noise-level", type=float, help="noise std (gaussian) or rate")
    fit.add_argument("--sparsity", help="kl, l1 or topk")
    fit.add_argument("--sparsity-target", type=float, help="KL target rho, or k for topk")
    fit.add_argument("--sparsity-weight", type=float, help="penalty weight (beta)")
    fit.add_argument("--variational", action="store_true", default=None,
                     help="a variational autoencoder (aekit.Variational), rows scored by their "
                     "negative ELBO")
    fit.add_argument("--beta", type=float, help="KL weight of --variational (default 1: the ELBO)")
    fit.add_argument("--patch", type=int, metavar="P",
                     help="photos of any size: train a spatial-code conv model on random PxP "
                     "patches of the folder's images (aekit denoise then runs it on whole images)")
    fit.add_argument("--patches", type=int, metavar="N", help="patches to draw (default 4000)")
    fit.add_argument("--loss", help="mse (default), mae (absolute error) or bce")
    fit.add_argument("--epochs", type=int,
                     help="maximum epochs (default: a budget of about 4,000 gradient steps, "
                     "stopped early on held-out rows)")
    fit.add_argument("--batch-size", type=int)
    fit.add_argument("--learning-rate", type=float, help="Adam's learning rate")
    fit.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                     help="stop when the held-out rows stop improving (default: on, unless "
                     "--epochs is given)")
    fit.add_argument("--validation-fraction", type=float,
                     help="share of rows held out for early stopping (default 0.1)")
    fit.add_argument("--device", help="auto (default), cpu, cuda, mps")
    fit.add_argument("--seed", type=int, help="random seed (default 0)")
    fit.add_argument("--contamination", type=float,
                     help="share of training rows above the outlier threshold (default 0.01; "
                     "series: auto, Tukey's far-out fence of the training scores)")
    fit.add_argument("--window", help="time series: train on sliding windows of N steps "
                     "(or auto: the series' dominant period); DATA is a table with a timestamp "
                     "column and value columns, and the model scores every step")
    fit.add_argument("--stride", type=int, help="time series: steps between windows (default 1)")
    fit.add_argument("--time-column", help="time series: the timestamp column (default: the "
                     "column of dates)")
    add_columns(fit)
    fit.add_argument("--checkpoint", help="folder for checkpoints; resumes if one is there")
    fit.add_argument("--stream", action="store_true",
                     help="read the data a chunk at a time instead of loading it (data larger "
                     "than memory: a .npy file, Parquet files or a folder of images)")
    fit.add_argument("--nproc", type=int, default=1,
                     help="train with N processes (torch.distributed via torchrun; gloo on "
                     "CPU, nccl on GPUs)")
    add_common(fit)


def add_model_commands(sub, add_common, add_columns) -> None:
    for name, text in (("encode", "write the codes of DATA"),
                       ("score", "write each row's anomaly score, outlier flag, p-value and "
                                 "the columns that made it unusual"),
                       ("denoise", "write the reconstruction of DATA (images as PNG files)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("model")
        p.add_argument("data")
        p.add_argument("-o", "--output", required=True,
                       help="output file (.csv, .parquet, .npy) or folder for images")
        p.add_argument("--id-column", action="append", default=[], metavar="COL",
                       help="another column to pass through (the model's ID columns always are)")
        if name == "score":
            p.add_argument("--top", type=int, default=3, help="columns to name per row")
        p.add_argument("--stream", action="store_true",
                       help="read DATA (.npy, Parquet, image folder) a chunk at a time and "
                            "write the output as it goes: for data larger than memory")
        add_common(p)

    report = sub.add_parser("report", help="write one self-contained HTML report of MODEL "
                            "(with DATA: reconstructions, code map, scores, top outliers, PCA)")
    report.add_argument("model")
    report.add_argument("data", nargs="?")
    report.add_argument("-o", "--output", required=True, help="HTML file to write")
    report.add_argument("--label-column", help="colour the code map by this pass-through column")
    report.add_argument("--clean", help="clean reference of DATA (a denoising model's PSNR)")
    add_common(report)

    export = sub.add_parser("export", help="write MODEL as one ONNX graph (scaling, network, "
                            "score and threshold inside), checked in onnxruntime")
    export.add_argument("model")
    export.add_argument("-o", "--output", required=True, help="ONNX file to write (.onnx)")
    export.add_argument("--check-data", metavar="DATA",
                        help="compare the graph with the model on rows of DATA (default: rows "
                             "drawn around the training data's scale)")
    export.add_argument("--check-rows", type=int, default=1000, metavar="N",
                        help="rows of --check-data to compare (default 1000)")
    add_common(export, threads=False)

    impute = sub.add_parser("impute", help="fill the missing entries of a table (CSV/Parquet) "
                            "from an autoencoder trained on it; observed entries are kept")
    impute.add_argument("data")
    impute.add_argument("-o", "--output", required=True, help="table to write (.csv, .parquet)")
    impute.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_columns(impute)
    add_common(impute)

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
    add_common(demo, threads=False)
