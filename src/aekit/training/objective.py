"""What training minimises: reconstruction error against the clean input, plus penalties."""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..constraints import Constraint
from ..nn import AutoencoderNet

LOSSES = ("mse", "mae", "bce")


class Loss(Protocol):
    """A structured reconstruction loss (e.g. a table's per-column losses): the output and the
    input may differ in width, and entries may be missing."""

    def per_entry(self, x_hat: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(losses, observed)`` per sample and entry."""

    def per_sample(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """Each sample's mean loss over its observed entries: shape (batch,)."""

    def batch(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """The training loss of a batch: summed over entries, averaged over the batch."""


def elementwise_loss(x_hat: Tensor, x: Tensor, loss: str | Loss) -> Tensor:
    """Per-entry reconstruction loss, in float32 (also under bf16 autocast) or float64."""
    if not isinstance(loss, str):
        return loss.per_entry(x_hat, x)[0]
    x_hat = x_hat if x_hat.dtype == torch.float64 else x_hat.float()
    if loss == "mse":
        return (x_hat - x).pow(2)
    if loss == "mae":  # absolute error: robust to outliers, sharper images (less blur)
        return (x_hat - x).abs()
    if loss == "bce":  # the seed's cross-entropy, for x in [0, 1] and a sigmoid output
        # (a row scored later may lie outside the training range: its targets are clamped)
        return F.binary_cross_entropy(x_hat.clamp(1e-7, 1 - 1e-7), x.clamp(0, 1),
                                      reduction="none")
    raise ValueError(f"Unknown loss {loss!r}; use one of {LOSSES}.")


def per_sample_error(x_hat: Tensor, x: Tensor, loss: str | Loss) -> Tensor:
    """Mean reconstruction loss of each sample over its (observed) features: shape (batch,)."""
    if not isinstance(loss, str):
        return loss.per_sample(x_hat, x)
    return elementwise_loss(x_hat, x, loss).flatten(1).mean(dim=1)


def per_sample_error_float64(x_hat: Tensor, x: Tensor, loss: str | Loss) -> Tensor:
    """``per_sample_error`` as float64, on the CPU: computed in float32 (float64 arithmetic
    costs several times the forward pass on wide rows), and again in float64 for the rows
    whose float32 result overflowed (squares of errors beyond 1.8e19)."""
    x_hat, x = x_hat.cpu(), x.cpu()
    if not isinstance(loss, str):
        return per_sample_error(x_hat.double(), x.double(), loss)
    err = per_sample_error(x_hat.float(), x.float(), loss).double()
    overflowed = torch.isinf(err)
    if overflowed.any():
        err[overflowed] = per_sample_error(x_hat[overflowed].double(),
                                           x[overflowed].double(), loss)
    return err


class ReconstructionObjective:
    """``L(x, g(f(corrupt(x)))) + sum of penalties(code, extras)``, the reconstruction term as
    the constraints model it (``Constraint.reconstruction_term``).

    The reconstruction term sums the loss over each sample's features (the seed's
    ``||x - x_hat||^2``) and averages over the batch, so penalty weights mean what they mean in
    the seed's formulas. The input is corrupted by every constraint that corrupts, in order; the
    loss is always taken against the CLEAN input.
    """

    def __init__(self, loss: str | Loss, constraints: Sequence[Constraint] = ()) -> None:
        if isinstance(loss, str) and loss not in LOSSES:
            raise ValueError(f"Unknown loss {loss!r}; use one of {LOSSES}.")
        self.loss = loss
        self.constraints = list(constraints)
        self.corrupters = [c for c in constraints if c.corrupts]
        self.penalizers = [c for c in constraints if c.penalizes]
        self.rescalers = [c for c in constraints if c.rescales_reconstruction]
        self._logit_sources: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def corrupt(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        for c in self.corrupters:
            x = c.corrupt(x, generator)
        return x

    def _logit_source(self, module: nn.Module) -> bool | nn.Module | None:
        """For cross-entropy on the logits, looked up once per network (not at every step):
        True when the network returns them itself (``AutoencoderNet.has_logits``: its final
        sigmoid is then skipped), else its final ``nn.Sigmoid`` to hook, or None."""
        if module not in self._logit_sources:
            net = getattr(module, "module", module)  # unwrap DistributedDataParallel
            self._logit_sources[module] = True if isinstance(net, AutoencoderNet) and \
                net.has_logits else _final_sigmoid(module)
        return self._logit_sources[module]

    def batch_loss(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """Per-sample loss summed over features, averaged over the batch (one fused op)."""
        if not isinstance(self.loss, str):
            return self.loss.batch(x_hat, x)
        x_hat = x_hat if x_hat.dtype == torch.float64 else x_hat.float()
        if self.loss == "mse":
            return F.mse_loss(x_hat, x, reduction="sum") / x.shape[0]
        if self.loss == "mae":
            return F.l1_loss(x_hat, x, reduction="sum") / x.shape[0]
        return F.binary_cross_entropy(x_hat.clamp(1e-7, 1 - 1e-7), x, reduction="sum") / x.shape[0]

    def forward_and_loss(
        self,
        module: nn.Module,
        x: Tensor,
        generator: torch.Generator | None,
        autocast_dtype: torch.dtype | None = None,
    ) -> Tensor:
        """The training loss of one batch (a scalar tensor with a graph)."""
        x_in = self.corrupt(x, generator)
        kwargs = {"return_extras": True} if isinstance(
            getattr(module, "module", module), AutoencoderNet) else {}  # else: (x_hat, code)
        sigmoid = self._logit_source(module) if self.loss == "bce" else None
        if sigmoid is True:  # the network hands over its logits: no sigmoid, no hook
            kwargs["logits"], sigmoid = True, None
        seen: dict[str, Tensor] = {}
        hook = sigmoid.register_forward_hook(
            lambda _m, inputs, output: seen.update(logits=inputs[0], output=output)
        ) if sigmoid is not None else None
        try:
            if autocast_dtype is None:
                out = module(x_in, **kwargs)
            else:
                with torch.autocast(x.device.type, dtype=autocast_dtype):
                    out = module(x_in, **kwargs)
        finally:
            if hook is not None:
                hook.remove()
        x_hat, code, extras = out if len(out) == 3 else (*out, {})
        if kwargs.get("logits"):
            logits = x_hat if x_hat.dtype == torch.float64 else x_hat.float()
        else:
            logits = _logits_of(x_hat, seen)
        if logits is not None:  # BCE on the logits: one fused op, exact where sigmoid saturates
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        else:
            loss = self.batch_loss(x_hat, x)
        for c in self.rescalers:  # e.g. a variational decoder's variance
            loss = c.reconstruction_term(loss, n_entries=math.prod(x.shape[1:]), extras=extras)
        if self.penalizers:
            encode = getattr(module, "module", module).encode  # unwrap DistributedDataParallel
            for c in self.penalizers:
                loss = loss + c.penalty(code, x=x_in, encode=encode, extras=extras)
        return loss


def _final_sigmoid(module: nn.Module) -> nn.Module | None:
    """The last ``nn.Sigmoid`` of the network's decoder (its input holds the logits), if any."""
    decoder = getattr(getattr(module, "module", module), "decoder", None)  # unwrap DDP
    if decoder is None:
        return None
    found = None
    for m in decoder.modules():
        if isinstance(m, nn.Sigmoid):
            found = m
    return found


def _logits_of(x_hat: Tensor, seen: dict[str, Tensor]) -> Tensor | None:
    """The logits behind ``x_hat``, when ``x_hat`` IS the final sigmoid's output (the same
    memory, in the same order: a contiguous view); None otherwise (e.g. cropped after it)."""
    out = seen.get("output")
    if (out is None or out.data_ptr() != x_hat.data_ptr() or out.numel() != x_hat.numel()
            or not (out.is_contiguous() and x_hat.is_contiguous())):
        return None
    logits = seen["logits"].reshape(x_hat.shape)
    return logits if logits.dtype == torch.float64 else logits.float()
