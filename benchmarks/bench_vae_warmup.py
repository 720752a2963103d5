"""Does a warm-up of beta help aekit's VAE? (issue 16, item 5: build it only if it helps.)

Protocol: ``bench_vae.py``'s (MNIST test split, 8,000 training / 2,000 held-out images, BCE,
784-400-20, batches of 128, Adam at 1e-3, 30 epochs), seeds 0 and 1. Each schedule trains one
epoch with ``fit`` and the other 29 with ``partial_fit`` (the Adam state carries over), setting
the fitted ``Variational``'s ``beta`` before each epoch: constant 1 (the plain ELBO), and a
linear warm-up from 0 to 1 over the first 10 or 20 epochs (Bowman et al., 2016). Reported: the
held-out -ELBO and IWAE-50 -log p (``bench_vae.evaluate``, nats per image) and the code units
that the prior did not swallow (mean KL over the held-out images above 0.01 nats).

Run::

    python benchmarks/bench_vae_warmup.py --data-dir ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch
from _common import format_table, print_machine_info
from bench_vae import evaluate

SCHEDULES = {
    "constant beta = 1": lambda epoch: 1.0,
    "warm-up over 10 epochs": lambda epoch: min(1.0, epoch / 10),
    "warm-up over 20 epochs": lambda epoch: min(1.0, epoch / 20),
}


def run(schedule, train, held, seed: int, epochs: int) -> list[str]:
    import aekit

    model = aekit.Autoencoder(20, hidden_layer_sizes=(400,), loss="bce",
                              constraints=(aekit.Variational(beta=schedule(0)),),
                              batch_size=128, learning_rate_init=1e-3, max_iter=1,
                              random_state=seed)
    model.fit(train)
    for epoch in range(1, epochs):
        model.constraints_[0].beta = schedule(epoch)
        model.partial_fit(train)
    active = int((np.asarray(model.kl_per_unit(held)) > 0.01).sum())
    net = model.module_.float().eval()
    elbo, nll = evaluate(lambda x: net.bottleneck.split(net.encoder(x)), net.decode,
                         torch.from_numpy(held))
    return [f"{elbo:.2f}", f"{nll:.2f}", str(active)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="MNIST folder (t10k-images-...)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from aekit.datasets import load_mnist_like

    print_machine_info()
    X, _ = load_mnist_like(args.data_dir)
    train, held = X[:8000], X[8000:]
    rows = [[name, str(seed), *run(schedule, train, held, seed, args.epochs)]
            for name, schedule in SCHEDULES.items() for seed in args.seeds]
    print(format_table(["schedule", "seed", "held-out -ELBO", "IWAE-50 -log p",
                        "active units (of 20)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
