"""Penalties on the code, added to the reconstruction loss."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval
from torch import Tensor, nn

from ..nn import TopKCode
from .base import Constraint

_EPS = 1e-6


def kl_bernoulli(rho: float, rho_hat: Tensor) -> Tensor:
    """``KL(rho || rho_hat_j)`` between Bernoulli(rho) and Bernoulli(rho_hat_j), per unit j."""
    # clamp the value but keep the gradient, so a unit that died can still be revived
    rho_hat = rho_hat + (rho_hat.clamp(_EPS, 1 - _EPS) - rho_hat).detach()
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


class KLSparsity(Constraint):
    """The seed's sparsity penalty: ``weight * sum_j KL(target || rho_hat_j)``.

    ``rho_hat_j`` is the mean activation of code unit ``j`` over the training set. The code units
    become sigmoid (activations in (0, 1), near 0 meaning inactive), so the code may be wider than
    the input.

    How ``rho_hat`` is estimated in mini-batches: an exponential moving average of the batch
    means with ``momentum`` (0.9: roughly the last ten batches, closer to the seed's "averaged over
    the whole training set" than one batch). The penalty's value is taken at that running estimate
    and its gradient flows through the current batch's mean, so each step follows
    ``dKL/drho_hat`` evaluated at the running estimate, as in full-batch training.
    ``momentum=0`` uses the current batch alone.
    """

    name = "kl_sparsity"
    code_activation = "sigmoid"
    _parameter_constraints = {
        "target": [Interval(Real, 0.0, 1.0, closed="neither")],
        "weight": [Interval(Real, 0.0, None, closed="left")],
        "momentum": [Interval(Real, 0.0, 1.0, closed="left")],
    }

    def __init__(self, target: float = 0.05, weight: float = 3.0, momentum: float = 0.9):
        self.target = target
        self.weight = weight
        self.momentum = momentum

    def reset(self) -> None:
        self._running: Tensor | None = None

    def prepare(self, module: nn.Module) -> None:
        """Start the code units at the target: the code layer's bias is set to logit(target).

        Otherwise the penalty (about ``weight * 0.5 * n_units`` at the start) drives every unit
        to the target for every input before the reconstruction can shape them.
        """
        encoder = getattr(module, "encoder", module)
        linears = [m for m in encoder.modules() if isinstance(m, nn.Linear)]
        if linears and linears[-1].bias is not None:
            with torch.no_grad():
                linears[-1].bias.fill_(math.log(self.target / (1 - self.target)))

    def get_state(self) -> dict[str, Tensor]:
        running = getattr(self, "_running", None)
        return {} if running is None else {"running": running}

    def set_state(self, state: dict[str, Tensor]) -> None:
        self._running = state.get("running")

    def penalty(
        self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
        extras: dict[str, Tensor] | None = None,
    ) -> Tensor:
        batch_mean = code.float().mean(dim=0)  # (code_size,)
        running = getattr(self, "_running", None)
        if running is None or running.shape != batch_mean.shape:
            running = batch_mean.detach()
        else:
            running = self.momentum * running + (1 - self.momentum) * batch_mean.detach()
        self._running = running
        # value at the running estimate, gradient through this batch's mean
        rho_hat = running + (batch_mean - batch_mean.detach())
        return self.weight * kl_bernoulli(self.target, rho_hat).sum()


class L1Activity(Constraint):
    """L1 activity penalty: ``weight * sum_j |h_j|``, averaged over the batch."""

    name = "l1_activity"
    _parameter_constraints = {"weight": [Interval(Real, 0.0, None, closed="left")]}

    def __init__(self, weight: float = 1e-3) -> None:
        self.weight = weight

    def penalty(
        self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
        extras: dict[str, Tensor] | None = None,
    ) -> Tensor:
        return self.weight * code.float().abs().sum(dim=-1).mean()


class TopK(Constraint):
    """k-sparse code: keep the ``k`` largest code units per sample and zero the rest.

    Unlike a penalty this is part of the model: it also acts in ``transform``.
    """

    name = "top_k"
    _parameter_constraints = {"k": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, k: int = 8) -> None:
        self.k = k

    def check_code_size(self, code_size: int) -> None:
        if self.k > code_size:
            raise ValueError(
                f"TopK(k={self.k}) keeps more units than the code has ({code_size}); use "
                f"k <= {code_size} or a larger n_components."
            )

    def bottleneck(self) -> nn.Module:
        return TopKCode(self.k)


class Contractive(Constraint):
    """Contractive penalty (Rifai et al., 2011): ``weight * ||J_f(x)||_F^2``, batch-averaged.

    ``J_f`` is the Jacobian of the code with respect to the (possibly corrupted) input, computed
    exactly with ``torch.func`` (one Jacobian row per code unit: cost grows with the code size).
    """

    name = "contractive"
    _parameter_constraints = {"weight": [Interval(Real, 0.0, None, closed="left")]}

    def __init__(self, weight: float = 1e-3) -> None:
        self.weight = weight

    def penalty(
        self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
        extras: dict[str, Tensor] | None = None,
    ) -> Tensor:
        def encode_one(sample: Tensor) -> Tensor:
            return encode(sample.unsqueeze(0)).squeeze(0)

        jac = torch.func.vmap(torch.func.jacrev(encode_one))(x)  # (batch, code, *input_shape)
        return self.weight * jac.float().pow(2).flatten(1).sum(dim=1).mean()
