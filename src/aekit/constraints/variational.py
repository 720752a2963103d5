"""The variational constraint: a Gaussian code and its KL term (a VAE is an autoencoder with
this one constraint)."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real

from sklearn.utils._param_validation import Interval
from torch import Tensor, nn

from ..nn import VariationalCode
from .base import Constraint


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
    - ``loss="mse"``: ``||x - x_hat||^2`` is ``-log p(x|z)`` of a Gaussian of variance 1/2 in the
      scaled space, up to the constant ``(d/2) log(pi)``, so ``beta=1`` is again the ELBO of
      that model (``elbo`` adds the constant and the scaler's log-Jacobian);
    - ``loss="mae"``: ``|x - x_hat|`` summed is ``-log p(x|z)`` of a Laplace of scale 1 per
      scaled feature, up to ``d log 2`` (added by ``elbo``, with the log-Jacobian).

    ``beta`` other than 1 is the beta-VAE (Higgins et al., 2017): larger values trade
    reconstruction for a code closer to the prior. ``beta=0`` with the variance going to zero is
    the plain autoencoder. A fitted model gets ``elbo``, ``log_likelihood``, ``sample_codes``,
    ``sample``, ``interpolate`` and ``kl_per_unit``. It cannot be combined with another
    constraint that shapes the code (``TopK``) or that needs sigmoid code units
    (``KLSparsity``): the estimator refuses such a tuple at fit.
    """

    name = "variational"
    code_activation = "linear"
    _parameter_constraints = {"beta": [Interval(Real, 0.0, None, closed="left")]}

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = beta

    def bottleneck(self) -> nn.Module:
        return VariationalCode()

    def penalty(self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
                extras: dict[str, Tensor] | None = None) -> Tensor:
        if not extras or "mean" not in extras:
            raise RuntimeError("Variational's penalty needs the code's mean and log-variance; "
                               "the network has no VariationalCode bottleneck.")
        mean, log_var = extras["mean"].float(), extras["log_var"].float()
        return float(self.beta) * kl_gaussian(mean, log_var).sum(dim=1).mean()
