"""Training throughput of ``aekit.Autoencoder`` against the tutorial PyTorch loop and PyOD.

The network is 784-256-32-256-784 (ReLU hidden layers, linear code, sigmoid output, MSE, Adam
with lr 1e-3, batch 256) trained for the same number of epochs on the same MNIST-like images by

* ``tutorial``: the loop of the PyTorch tutorials, ``DataLoader(TensorDataset(X), batch_size=256,
  shuffle=True)``, ``torch.optim.Adam`` (default, per-parameter implementation), fp32;
* ``hand-written``: a DataLoader-free fp32 loop (shuffled index, ``index_select`` per batch,
  fused Adam): a ceiling for what any fp32 loop over this network can reach here;
* ``aekit``: ``aekit.Autoencoder(n_components=32, hidden_layer_sizes=(256,))`` with early
  stopping disabled in effect (``tol=0``, ``n_iter_no_change=max_iter``), so it runs every epoch,
  at its default ``precision="auto"`` (bf16 on CPUs with native bf16, for this model);
* ``aekit fp32``: the same with ``precision="float32"``;
* ``aekit bf16`` (``--bf16``): the same with ``precision="bfloat16"`` (bf16 autocast, fp32
  master weights);
* ``pyod``: ``pyod.models.auto_encoder.AutoEncoder(hidden_neuron_list=[256, 32])`` with batch
  norm, dropout and weight decay off and ``preprocessing=False`` (the pixels stay in [0, 1]).
  What PyOD cannot match: its code layer has a ReLU, its output layer is linear (no sigmoid),
  its loader drops the last incomplete batch, and its ``fit`` also scores the training set.

Throughput is samples seen per second of ``fit`` (wall clock). The methods run interleaved in
each repeat so that load from other processes hits them alike; the table gives every repeat's
time, the ratios on the best (least disturbed) run of each method and on the medians.
Held-out MSE is ``mean((reconstruction - X_test) ** 2)`` over all pixels of the held-out images,
in [0, 1] pixel units, computed by the same function from each model's reconstruction.

Example::

    python benchmarks/bench_throughput.py --data-dir ../shared/datasets/mnist --repeats 2
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _common import format_table, median, print_machine_info, seed_everything, timed
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

N_COMPONENTS, HIDDEN = 32, 256


def tutorial_network(n_features: int) -> nn.Sequential:
    """784-256-32-256-784: ReLU hidden layers, linear code, sigmoid output."""
    return nn.Sequential(
        nn.Linear(n_features, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, N_COMPONENTS),
        nn.Linear(N_COMPONENTS, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, n_features),
        nn.Sigmoid(),
    )


@torch.no_grad()
def torch_reconstruct(model: nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(X)).numpy()


def heldout_mse(reconstruction: np.ndarray, X: np.ndarray) -> float:
    """Mean squared error over every entry, in the units of X ([0, 1] pixels)."""
    return float(np.mean((reconstruction.astype(np.float64) - X.astype(np.float64)) ** 2))


# ---------------------------------------------------------------------------- the contenders
def fit_tutorial(X: np.ndarray, args, seed: int):
    seed_everything(seed)
    model = tutorial_network(X.shape[1])
    loader = DataLoader(
        TensorDataset(torch.from_numpy(X)), batch_size=args.batch_size, shuffle=True
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.MSELoss()
    model.train()
    for _ in range(args.epochs):
        for (xb,) in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), xb)
            loss.backward()
            optimizer.step()
    return lambda Z: torch_reconstruct(model, Z)


def fit_handwritten(X: np.ndarray, args, seed: int):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = tutorial_network(X.shape[1])
    data = torch.from_numpy(X)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)
    n, bs = data.shape[0], args.batch_size
    model.train()
    for _ in range(args.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, bs):
            xb = data.index_select(0, order[start : start + bs])
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(model(xb), xb).backward()
            optimizer.step()
    return lambda Z: torch_reconstruct(model, Z)


def make_aekit_fit(precision: str):
    def fit_aekit(X: np.ndarray, args, seed: int):
        from aekit import Autoencoder

        est = Autoencoder(
            n_components=N_COMPONENTS,
            hidden_layer_sizes=(HIDDEN,),
            activation="relu",
            scaling="none",
            output_activation="sigmoid",
            loss="mse",
            max_iter=args.epochs,
            batch_size=args.batch_size,
            learning_rate_init=args.lr,
            tol=0.0,
            n_iter_no_change=args.epochs,
            precision=precision,
            device="cpu",
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: every epoch runs by design
            est.fit(X)
        if est.n_iter_ != args.epochs:
            raise RuntimeError(f"aekit ran {est.n_iter_} epochs instead of {args.epochs}.")
        return est.reconstruct

    return fit_aekit


def fit_pyod(X: np.ndarray, args, seed: int):
    from pyod.models.auto_encoder import AutoEncoder

    det = AutoEncoder(
        hidden_neuron_list=[HIDDEN, N_COMPONENTS],
        hidden_activation_name="relu",
        batch_norm=False,
        dropout_rate=0.0,
        optimizer_params={"weight_decay": 0.0},
        preprocessing=False,
        epoch_num=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device="cpu",
        random_state=seed,
        verbose=0,
    )
    det.fit(X)
    return lambda Z: torch_reconstruct(det.model, Z)


CONTENDERS = {
    "tutorial": fit_tutorial,
    "hand-written": fit_handwritten,
    "aekit": make_aekit_fit("auto"),  # the default: the policy picks precision and threads
    "aekit fp32": make_aekit_fit("float32"),
    "aekit bf16": make_aekit_fit("bfloat16"),
    "pyod": fit_pyod,
}


def samples_per_epoch(name: str, n: int, batch_size: int) -> int:
    if name == "pyod":  # DataLoader(drop_last=True)
        return (n // batch_size) * batch_size
    return n


# ---------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data-dir",
        required=True,
        help="folder with MNIST-style IDX files ({split}-images-idx3-ubyte[.gz])",
    )
    p.add_argument("--split", default="t10k", help="IDX file prefix (default: t10k)")
    p.add_argument("--n-train", type=int, default=8000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="timed runs of each method (seeds seed, seed+1, ...); best and median reported",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument(
        "--bf16",
        action="store_true",
        help="add an aekit row with precision='bfloat16' (slow on CPUs without AVX512-BF16/AMX)",
    )
    p.add_argument(
        "--bf16-epochs",
        type=int,
        default=None,
        help="epochs for the bf16 row (default: --epochs); its throughput is per "
        "sample, but its MSE is only comparable at equal epochs",
    )
    p.add_argument(
        "--skip", nargs="*", default=[], choices=sorted(CONTENDERS), help="methods to leave out"
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from aekit.datasets import load_mnist_like

    X, _ = load_mnist_like(args.data_dir, split=args.split)
    if X.shape[0] < args.n_train + args.n_test:
        raise SystemExit(
            f"--n-train + --n-test = {args.n_train + args.n_test} but {args.data_dir} has only "
            f"{X.shape[0]} images; lower them."
        )
    order = np.random.default_rng(args.seed).permutation(X.shape[0])
    X_train = np.ascontiguousarray(X[order[: args.n_train]])
    X_test = np.ascontiguousarray(X[order[args.n_train : args.n_train + args.n_test]])

    names = [n for n in CONTENDERS if n not in args.skip and (n != "aekit bf16" or args.bf16)]
    epochs = {n: args.epochs for n in names}
    if "aekit bf16" in names and args.bf16_epochs:
        epochs["aekit bf16"] = args.bf16_epochs

    print("Machine:")
    print_machine_info()
    print(
        f"Data: {args.data_dir} ({args.split}), {len(X_train)} train / {len(X_test)} held-out "
        f"images of {X.shape[1]} pixels; batch {args.batch_size}, lr {args.lr}, "
        f"{args.epochs} epochs, {args.repeats} repeat(s)"
    )

    # Warm-up: first calls pay one-off costs (oneDNN/BLAS setup, imports).
    warm = argparse.Namespace(**{**vars(args), "epochs": 1})
    for name in names:
        CONTENDERS[name](X_train[:512], warm, args.seed)

    times: dict[str, list[float]] = {n: [] for n in names}
    cpu_times: dict[str, list[float]] = {n: [] for n in names}
    mses: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.repeats):
        for name in names:  # interleaved, so load from other processes hits all alike
            run_args = argparse.Namespace(**{**vars(args), "epochs": epochs[name]})
            seconds, cpu, reconstruct = timed(CONTENDERS[name], X_train, run_args, args.seed + r)
            times[name].append(seconds)
            cpu_times[name].append(cpu)
            mses[name].append(heldout_mse(reconstruct(X_test), X_test))
            print(
                f"  repeat {r + 1}: {name:<12} {seconds:7.2f} s (CPU {cpu:6.2f} s)  held-out MSE "
                f"{mses[name][-1]:.5f}  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

    def throughput(name: str, pick=min, clock=times) -> float:
        seen = samples_per_epoch(name, len(X_train), args.batch_size) * epochs[name]
        return seen / pick(clock[name])

    base = throughput("tutorial") if "tutorial" in names else None
    base_median = throughput("tutorial", median) if "tutorial" in names else None
    base_cpu = throughput("tutorial", clock=cpu_times) if "tutorial" in names else None
    base_mse = float(np.mean(mses["tutorial"])) if "tutorial" in names else None
    rows = []
    for name in names:
        mse = float(np.mean(mses[name]))
        rows.append(
            [
                name,
                epochs[name],
                " / ".join(f"{t:.2f}" for t in times[name]),
                f"{throughput(name):,.0f}",
                f"{throughput(name) / base:.2f}x" if base else "-",
                f"{throughput(name, median) / base_median:.2f}x" if base else "-",
                " / ".join(f"{t:.2f}" for t in cpu_times[name]),
                f"{throughput(name, clock=cpu_times) / base_cpu:.2f}x" if base else "-",
                f"{mse:.5f}",
                f"{100 * (mse / base_mse - 1):+.1f}%"
                if base_mse and epochs[name] == args.epochs
                else "- (other epochs)",
            ]
        )
    print()
    print(
        format_table(
            [
                "method",
                "epochs",
                "fit s (each repeat)",
                "samples/s (best)",
                "vs tutorial (best)",
                "vs tutorial (median)",
                "CPU s (each repeat)",
                "vs tutorial (best CPU s)",
                "held-out MSE (mean)",
                "MSE vs tutorial",
            ],
            rows,
        )
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if "aekit" in names and base:
        ratio = throughput("aekit") / base
        gap = abs(float(np.mean(mses["aekit"])) / base_mse - 1)
        verdict = "met" if ratio >= 3 and gap <= 0.02 else "NOT met"
        print(
            f"\nTarget (>= 3x the tutorial loop, held-out MSE within 2%): {verdict} "
            f"(aekit at its defaults {ratio:.2f}x on best times, MSE gap {100 * gap:.1f}%)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
