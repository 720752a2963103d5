"""aekit's variational autoencoder against the pytorch/examples VAE, trained alike (issue 16).

Protocol: the MNIST test split, images 0-7,999 for training and 8,000-9,999 held out; grey
levels in [0, 1]; binary cross-entropy summed over pixels + KL (beta 1); 784-400-20 (ReLU
hidden layer, sigmoid output); batches of 128, Adam at 1e-3, 30 epochs; seed 0.

- reference: the model of pytorch/examples' ``vae/main.py`` (fc1 784-400, fc21/fc22 400-20,
  fc3 20-400, fc4 400-784), written here from its description, trained by a plain loop over
  ``torch.randperm`` slices;
- aekit: ``Autoencoder(20, hidden_layer_sizes=(400,), loss="bce",
  constraints=(Variational(),), batch_size=128, learning_rate_init=1e-3, max_iter=30)`` at
  its defaults otherwise (``precision="auto"``: bf16 on CPUs with AVX512-BF16/AMX when the
  step is large enough, float32 elsewhere).

Both are evaluated by the same code here on the held-out images: -ELBO (mean over 10 draws of
z per image) and the IWAE-50 negative log-likelihood, in nats per image; and aekit's own
``elbo``/``log_likelihood`` are printed beside them. Fit times are wall-clock, in the same run,
on torch's default threads, after one untimed warm-up epoch of each.

Run::

    python benchmarks/bench_vae.py --data-dir ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import torch
import torch.nn.functional as F
from _common import format_table, print_machine_info
from torch import nn


class ReferenceVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def train_reference(X: torch.Tensor, epochs: int, seed: int) -> tuple[ReferenceVAE, float]:
    torch.manual_seed(seed)
    model = ReferenceVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for i in range(0, len(X), 128):
            x = X[order[i:i + 128]]
            recon, mu, logvar = model(x)
            bce = F.binary_cross_entropy(recon, x, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (bce + kld) / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, time.perf_counter() - start


@torch.inference_mode()
def evaluate(encode, decode, X: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """Mean -ELBO (10 draws) and IWAE-50 -log p(x), nats per image."""
    gen = torch.Generator().manual_seed(seed)
    mu, logvar = encode(X)
    std = torch.exp(0.5 * logvar)

    def log_px(z):
        p = decode(z).clamp(1e-7, 1 - 1e-7).double()
        x = X.double()
        return (x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(-1)

    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1).double()
    elbo = torch.stack([log_px(mu + std * torch.randn(mu.shape, generator=gen))
                        for _ in range(10)]).mean(0) - kl
    weights = []
    for _ in range(50):
        eps = torch.randn(mu.shape, generator=gen)
        z = mu + std * eps
        log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)
        weights.append(log_px(z) + (log_pz - log_qz).double())
    iwae = torch.logsumexp(torch.stack(weights), 0) - math.log(50)
    return float(-elbo.mean()), float(-iwae.mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="MNIST folder (t10k-images-...)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import aekit
    from aekit.datasets import load_mnist_like

    print_machine_info()
    X, _ = load_mnist_like(args.data_dir)
    train, held = X[:8000], X[8000:]
    t_train, t_held = torch.from_numpy(train), torch.from_numpy(held)

    # one untimed epoch of each on 1,280 images first: both timings are then of warm kernels
    # (oneDNN's first bf16/AMX and float32 primitives cost about 1 s, once per process)
    train_reference(t_train[:1280], 1, args.seed)
    aekit.Autoencoder(20, hidden_layer_sizes=(400,), loss="bce",
                      constraints=(aekit.Variational(),), batch_size=128, max_iter=1,
                      random_state=args.seed).fit(train[:1280])
    ref, ref_seconds = train_reference(t_train, args.epochs, args.seed)
    ref.eval()
    ref_elbo, ref_nll = evaluate(ref.encode, ref.decode, t_held)

    rows = [["pytorch/examples VAE, plain loop", f"{ref_elbo:.2f}", f"{ref_nll:.2f}", "",
             f"{ref_seconds:.1f}", "1.00x"]]
    # "auto": this CPU's default; "float32": the path CPUs without AVX512-BF16 (AVX2) take
    for precision in ("auto", "float32"):
        model = aekit.Autoencoder(20, hidden_layer_sizes=(400,), loss="bce",
                                  constraints=(aekit.Variational(),), batch_size=128,
                                  learning_rate_init=1e-3, max_iter=args.epochs,
                                  random_state=args.seed, precision=precision)
        start = time.perf_counter()
        model.fit(train)
        ae_seconds = time.perf_counter() - start
        net = model.module_.float().eval()
        ae_elbo, ae_nll = evaluate(lambda x, net=net: net.bottleneck.split(net.encoder(x)),
                                   net.decode, t_held)
        own_elbo = -model.elbo(held, n_samples=10, random_state=0).mean()
        own_nll = -model.log_likelihood(held, n_samples=50, random_state=0).mean()
        rows.append([f"aekit Variational (precision={precision!r}: {model.precision_})",
                     f"{ae_elbo:.2f}", f"{ae_nll:.2f}", f"{own_elbo:.2f} / {own_nll:.2f}",
                     f"{ae_seconds:.1f}", f"{ref_seconds / ae_seconds:.2f}x"])
        if precision == "auto":
            gap = 100 * (ae_elbo - ref_elbo) / ref_elbo
    print(format_table(["model", "held-out -ELBO", "IWAE-50 -log p", "aekit's own elbo / "
                        "log_likelihood", "fit s", "speed vs reference"], rows))
    print(f"-ELBO gap (precision 'auto'): {gap:+.2f}% (target: within +1%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
