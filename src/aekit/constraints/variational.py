"""The variational constraint: a Gaussian code and its KL term (a VAE is an autoencoder with
this one constraint)."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import Tensor, nn

from ..nn import VariationalCode
from .base import Constraint

#: the learned decoder variance's floor (in the scaled space) and its moving average's momentum
MIN_VARIANCE = 1e-6
VARIANCE_MOMENTUM = 0.9


def kl_gaussian(mean: Tensor, log_var: Tensor) -> Tensor:
    """``KL(N(mean, exp(log_var)) || N(0, 1))`` per unit, in nats:
    ``(mean^2 + exp(log_var) - 1 - log_var) / 2``."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var)


class Variational(Constraint):
    """A variational code (a VAE), trained on, averaged over the batch,
    ``loss = sum_features L(x, x_hat) + beta * sum_units KL(q(z|x) || N(0, I))``.

    The encoder gives each row a mean and a log-variance per code unit; training decodes a code
    sampled with the reparameterisation trick; ``transform`` gives the mean. Both terms are
    summed per row (the reconstruction over features, the KL over code units) and averaged over
    the batch, so they are on one per-row scale:

    - ``loss="bce"`` (data in [0, 1]): the first term is ``-log p(x|z)`` of independent
      Bernoullis, and with ``beta=1`` the loss is the negative ELBO, ``-E_q[log p(x|z)] +
      KL(q(z|x) || p(z))``, in nats;
    - ``loss="mse"``: with the default ``variance=0.5``, ``||x - x_hat||^2`` is ``-log p(x|z)``
      of a Gaussian of variance 1/2 in the scaled space, up to the constant ``(d/2) log(pi)``,
      so ``beta=1`` is again the ELBO of that model (``elbo`` adds the constant and the
      scaler's log-Jacobian). With another ``variance`` v the term is
      ``||x - x_hat||^2 / (2 v) + (d/2) log(2 v)`` (the same constant left out).
      ``variance="learned"``: v is each batch's maximum-likelihood variance,
      ``||x - x_hat||^2 / d`` averaged over the batch (held fixed for the gradient: the
      "optimal sigma" decoder of Rivera et al., 2021), so the reconstruction term is weighted by
      how well the model reconstructs rather than by the data's units; the model keeps a moving
      average of it (over about the last 10 batches) for ``elbo`` and ``log_likelihood``. A
      fixed v of 1/2 suits standardized data; grey levels in [0, 1] are reconstructed to
      within a few hundredths, where the learned variance weighs the reconstruction far more;
    - ``loss="mae"``: ``|x - x_hat|`` summed is ``-log p(x|z)`` of a Laplace of scale 1 per
      scaled feature, up to ``d log 2`` (added by ``elbo``, with the log-Jacobian).
      ``variance`` other than 0.5 needs ``loss="mse"`` (the fit says so).

    ``beta`` other than 1 is the beta-VAE (Higgins et al., 2017): larger values trade
    reconstruction for a code closer to the prior. ``beta=0`` with the variance going to zero is
    the plain autoencoder. A fitted model gets ``elbo``, ``log_likelihood``, ``sample_codes``,
    ``sample``, ``interpolate`` and ``kl_per_unit``. It cannot be combined with another
    constraint that shapes the code (``TopK``) or that needs sigmoid code units
    (``KLSparsity``): the estimator refuses such a tuple at fit.
    """

    name = "variational"
    code_activation = "linear"
    _parameter_constraints = {"beta": [Interval(Real, 0.0, None, closed="left")],
                              "variance": [Interval(Real, 0.0, None, closed="neither"),
                                           StrOptions({"learned"})]}

    def __init__(self, beta: float = 1.0, variance: float | str = 0.5) -> None:
        self.beta = beta
        self.variance = variance

    def bottleneck(self) -> nn.Module:
        return VariationalCode(learned_output_variance=self.variance == "learned")

    def check_loss(self, loss) -> None:
        if self.variance != 0.5 and loss != "mse":
            shown = repr(loss) if isinstance(loss, str) else "a table's per-column loss"
            raise ValueError(
                f"Variational(variance={self.variance!r}) is the variance of a Gaussian "
                f"decoder and needs loss='mse'; got {shown}. Use variance=0.5 (the default) "
                "with this loss."
            )

    def reconstruction_term(self, term: Tensor, *, n_entries: int,
                            extras: dict[str, Tensor]) -> Tensor:
        if self.variance == 0.5:
            return term
        if self.variance != "learned":
            v = float(self.variance)
            return term / (2.0 * v) + 0.5 * n_entries * math.log(2.0 * v)
        stored = extras["output_log_var"]
        v = (term.detach().to(stored.dtype) / n_entries).clamp_min(MIN_VARIANCE)
        with torch.no_grad():  # the moving average starts at the first batch's value
            average = torch.log(VARIANCE_MOMENTUM * stored.exp() + (1 - VARIANCE_MOMENTUM) * v)
            stored.copy_(torch.where(torch.isnan(stored), v.log(), average))
        return term / (2.0 * v) + 0.5 * n_entries * torch.log(2.0 * v)

    def penalty(self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
                extras: dict[str, Tensor] | None = None) -> Tensor:
        if not extras or "mean" not in extras:
            raise RuntimeError("Variational's penalty needs the code's mean and log-variance; "
                               "the network has no VariationalCode bottleneck.")
        mean, log_var = extras["mean"].float(), extras["log_var"].float()
        return float(self.beta) * kl_gaussian(mean, log_var).sum(dim=1).mean()
