"""Bottlenecks: what stands between the encoder's output and the decoder's input.

A bottleneck turns the encoder's output ``h`` into the code and may return more than the code:
``forward(h)`` gives ``(code, extras)``, where ``extras`` is a dict of tensors the training
objective hands to the constraints' penalties (a variational code returns its mean and
log-variance there, and a code sampled with the reparameterisation trick in training). It may
ask the encoder for more units than the code has (``encoder_width``): two per code unit for a
mean and a log-variance. In eval mode a bottleneck is deterministic (``transform`` gives the
same code for the same row).

``TopKCode`` is the k-sparse code, active at inference too.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Bottleneck(nn.Module):
    """Base class: the identity, with nothing extra."""

    def encoder_width(self, code_size: int) -> int:
        """How many units the encoder must output for a code of ``code_size`` units."""
        return int(code_size)

    def forward(self, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return h, {}


class TopKCode(Bottleneck):
    """k-sparse code (Makhzani & Frey, 2013): keep the ``k`` largest units of each sample."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"TopKCode needs k >= 1; got {k}.")
        self.k = int(k)

    def forward(self, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if self.k >= h.shape[-1]:
            return h, {}
        kth = torch.topk(h, self.k, dim=-1).values[..., -1:]  # (batch, 1)
        return h * (h >= kth).to(h.dtype), {}

    def extra_repr(self) -> str:
        return f"k={self.k}"


class VariationalCode(Bottleneck):
    """A Gaussian code q(z|x) = N(mean, diag(exp(log_var))) (Kingma & Welling, 2014).

    The encoder outputs ``2 * code_size`` units: the first half is the mean, the second the
    log-variance (clamped to [-30, 20] so that exp stays finite). In training the code is
    sampled with the reparameterisation trick, ``z = mean + exp(log_var / 2) * eps``, with
    ``eps`` from ``generator`` when one is set (the estimator sets its noise generator, so a
    seeded fit is reproducible); in eval mode the code is the mean. ``extras`` hold
    ``"mean"`` and ``"log_var"`` for the KL penalty.

    With ``learned_output_variance`` the module also keeps the decoder's variance: the buffer
    ``output_log_var`` (the log of one variance shared by every output entry; NaN until the
    training objective first sets it), handed to the objective in ``extras`` as well.
    """

    generator: torch.Generator | None = None

    def __init__(self, learned_output_variance: bool = False) -> None:
        super().__init__()
        if learned_output_variance:
            self.register_buffer("output_log_var", torch.tensor(float("nan")))

    def __getstate__(self):  # copies and pickles leave the estimator's generator behind
        state = self.__dict__.copy()
        state.pop("generator", None)
        return state

    def encoder_width(self, code_size: int) -> int:
        return 2 * int(code_size)

    @staticmethod
    def split(h: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_var = h.chunk(2, dim=-1)
        return mean, log_var.clamp(-30.0, 20.0)

    def forward(self, h: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        mean, log_var = self.split(h)
        extras = {"mean": mean, "log_var": log_var}
        if hasattr(self, "output_log_var"):
            extras["output_log_var"] = self.output_log_var
        if not self.training:
            return mean, extras
        eps = torch.randn(mean.shape, generator=self.generator, device=mean.device,
                          dtype=mean.dtype)
        return mean + torch.exp(0.5 * log_var) * eps, extras
