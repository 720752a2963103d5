"""Likelihoods, sampling and interpolation for autoencoders fitted with ``Variational``.

The methods exist only on a fitted model whose code is variational (like scikit-learn's
``available_if``); elsewhere they raise ``AttributeError`` saying what to fit instead.

What the numbers mean, per row, in nats (natural logarithms):

- ``loss="bce"``: ``log p(x|z) = sum_j x_j log x_hat_j + (1 - x_j) log(1 - x_hat_j)``, the
  Bernoulli log-likelihood of the grey levels in [0, 1]. For grey levels that are not 0/1 it is
  the usual cross-entropy bound, not a normalised density (the figures of the VAE papers on
  MNIST are of this kind, on binarized or grey pixels).
- ``loss="mse"``: a Gaussian of variance v per feature in the scaled space, so
  ``log p(x|z) = -||x - x_hat||^2 / (2 v) - (d/2) log(2 pi v)``, and the scaler's log-Jacobian
  ``-sum_j log(scale_j)`` turns it into a density of x in the data's own units. v is 1/2 by
  default (the variance that makes the training loss ``||x - x_hat||^2`` its negative
  log-likelihood), the one given by ``Variational(variance=v)``, or with
  ``variance="learned"`` the one learned in training (``output_variance_``).
- ``loss="mae"``: a Laplace distribution of scale 1 per feature in the scaled space (its
  negative log-likelihood is ``|x - x_hat|`` summed, the training loss, plus ``d log 2``), with
  the same log-Jacobian.

``elbo(X)`` is ``E_q[log p(x|z)] - KL(q(z|x) || N(0, I))`` with z drawn from q(z|x) (the
reparameterisation trick; ``n_samples`` draws averaged), a lower bound on ``log p(x)``;
The draws are shared by all rows (each row's estimate is unbiased, and a row gets the same
value alone or in any batch). ``log_likelihood(X, n_samples=K)`` is the importance-weighted
bound (Burda et al., 2016),
``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)``, which equals the ELBO in expectation for K = 1
and tightens towards ``log p(x)`` as K grows. Both use beta = 1 whatever ``Variational(beta)``
trained with: they are properties of the model, not of its training loss.
"""

from __future__ import annotations

import functools
import math
import types

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from ..constraints import Variational, kl_gaussian
from ..training.runtime import torch_threads
from .runtime import make_generator, seed_from_random_state

_ROWS = 256  # rows per batch of sampled codes (n_samples x rows x features in memory)


def _is_variational(model) -> bool:
    check_is_fitted(model)
    bottleneck = getattr(model.module_, "bottleneck", None)
    if not hasattr(bottleneck, "generator"):
        raise AttributeError(
            f"This {type(model).__name__} has no variational code; fit it with "
            "constraints=(aekit.Variational(),) to get elbo, log_likelihood, sample_codes, "
            "sample and interpolate."
        )
    if getattr(model, "table_", None) is not None:
        raise AttributeError("The likelihood of a table with text or gaps is not defined here "
                             "(per-column losses); fit on numeric data.")
    return True


class variational_only:  # noqa: N801 - a decorator, named like available_if
    """``available_if(_is_variational)``, but the ``AttributeError`` says why (scikit-learn's
    says only "has no attribute"): ``hasattr(model, "elbo")`` is False on other models."""

    def __init__(self, fn) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        _is_variational(obj)
        return types.MethodType(self.fn, obj)


class VariationalMixin:
    """The variational methods of ``BaseAutoencoder`` (see the module docstring)."""

    # ------------------------------------------------------------------ helpers
    def _network_rows(self, X) -> Tensor:
        import os

        from ..io import is_source

        if isinstance(X, (str, os.PathLike)) or is_source(X):
            raise TypeError("The variational methods take data in memory (an array); load the "
                            "file first, e.g. np.load(path), or a chunk of it at a time.")
        rows = self._check_X(X, reset=False)
        return self._network_input(np.asarray(rows))

    def _posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        net = self.module_
        return net.bottleneck.split(net.encoder(x))

    def _log_p_x_given_z(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """``log p(x|z)`` per row (last dims summed), in float64."""
        x_hat, x = x_hat.double(), x.double().flatten(1)  # (K, rows, d) and (rows, d)
        if self.loss == "bce":
            p = x_hat.clamp(1e-7, 1 - 1e-7)
            return (x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(-1)
        d = x.shape[-1]
        jacobian = float(np.log(self.scaler_.factor).sum())
        if self.loss == "mae":
            return -(x_hat - x).abs().sum(-1) - d * math.log(2.0) - jacobian
        v = self.output_variance_
        return (-(x_hat - x).pow(2).sum(-1) / (2.0 * v) - 0.5 * d * math.log(2.0 * math.pi * v)
                - jacobian)

    @property
    def output_variance_(self) -> float:
        """The decoder's variance per entry, in the scaled space, for ``loss="mse"``: the
        ``Variational(variance=...)`` given, or the one learned in training (a moving average of
        the batches' mean squared error per entry)."""
        _is_variational(self)
        stored = getattr(self.module_.bottleneck, "output_log_var", None)
        if stored is not None:
            return float(stored.exp())
        (constraint,) = [c for c in self.constraints_ if isinstance(c, Variational)]
        return float(constraint.variance)

    def _bounds(self, X, n_samples: int, random_state, importance: bool) -> np.ndarray:
        if not (isinstance(n_samples, (int, np.integer)) and n_samples >= 1):
            raise ValueError(f"n_samples must be an int >= 1; got {n_samples!r}.")
        x_all = self._network_rows(X)
        gen = make_generator(seed_from_random_state(random_state))
        # the same draws of eps for every row: each row's estimate is unbiased, and a row gets
        # the same value alone, in any batch and in any order
        eps = torch.randn((n_samples, 1, self.n_components_), generator=gen)
        out = np.empty(x_all.shape[0])
        net = self.module_
        was_training = net.training
        net.eval()
        try:
            with torch.inference_mode(), torch_threads(self._threads_for_sampling()):
                for start in range(0, x_all.shape[0], _ROWS):
                    x = x_all[start:start + _ROWS].to(self.device_)
                    mean, log_var = self._posterior(x)
                    std = torch.exp(0.5 * log_var)
                    z = mean + std * eps.to(mean)  # (K, rows, k)
                    x_hat = net.decode(z.flatten(0, 1)).reshape(n_samples, x.shape[0], -1)
                    log_px = self._log_p_x_given_z(x_hat.cpu(), x.cpu())  # (K, rows)
                    if importance:
                        log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)
                        log_qz = (-0.5 * eps.to(mean).pow(2) - 0.5 * log_var
                                  - 0.5 * math.log(2 * math.pi)).sum(-1)
                        w = log_px + (log_pz - log_qz).double().cpu()
                        bound = torch.logsumexp(w, dim=0) - math.log(n_samples)
                    else:
                        kl = kl_gaussian(mean, log_var).sum(-1)
                        bound = log_px.mean(0) - kl.double().cpu()
                    out[start:start + x.shape[0]] = bound.numpy()
        finally:
            net.train(was_training)
        return out

    def _threads_for_sampling(self) -> int:
        from ..training.runtime import choose_threads

        return choose_threads(self.n_threads, self._workload.flops(_ROWS))

    def _decode_to_data(self, z: np.ndarray) -> np.ndarray:
        """Codes -> samples in data units, images as images."""
        out = self.inverse_transform(z.astype(np.float32))
        if getattr(self, "input_ndim_", 2) == 4:
            return out.reshape(len(out), *self.image_shape_)
        return out

    # ------------------------------------------------------------------ likelihoods
    @variational_only
    def elbo(self, X, *, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Per-row evidence lower bound on ``log p(x)``, in nats, float64 (module docstring).

        ``n_samples`` codes are drawn from q(z|x) per row and their ``log p(x|z)`` averaged;
        the KL term is in closed form. For ``loss="bce"`` the values are <= 0.
        """
        return self._bounds(X, n_samples, random_state, importance=False)

    @variational_only
    def log_likelihood(self, X, *, n_samples: int = 50, random_state=None) -> np.ndarray:
        """Per-row importance-weighted estimate of ``log p(x)`` (the IWAE bound with
        ``n_samples`` draws), in nats, float64; >= the ELBO in expectation, tighter as
        ``n_samples`` grows."""
        return self._bounds(X, n_samples, random_state, importance=True)

    @variational_only
    def kl_per_unit(self, X) -> np.ndarray:
        """Mean ``KL(q(z_j|x) || N(0, 1))`` of each code unit over the rows of X, in nats.

        Units near 0 (below about 0.01) carry no information about x: the prior swallowed them
        ("posterior collapse")."""
        x = self._network_rows(X)
        kl = self._map(lambda b: kl_gaussian(*self._posterior(b)), x)
        return kl.double().mean(dim=0).numpy()

    # ------------------------------------------------------------------ sampling
    @variational_only
    def sample_codes(self, X, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Codes drawn from q(z|x): shape (n_rows, n_components) for ``n_samples=1``, else
        (n_samples, n_rows, n_components). ``transform`` gives the mean instead."""
        x = self._network_rows(X)
        stats = self._map(lambda b: torch.cat(self._posterior(b), dim=1), x).double()
        mean, log_var = stats.chunk(2, dim=1)
        gen = make_generator(seed_from_random_state(random_state))
        eps = torch.randn((n_samples, *mean.shape), generator=gen, dtype=torch.float64)
        z = (mean + torch.exp(0.5 * log_var) * eps).numpy()
        return z[0] if n_samples == 1 else z

    @variational_only
    def sample(self, n: int, random_state=None) -> np.ndarray:
        """``n`` new samples: codes from the prior N(0, I) decoded, in data units (images come
        back as (n, C, H, W) for a model fitted on images). Reproducible by ``random_state``."""
        if not (isinstance(n, (int, np.integer)) and n >= 1):
            raise ValueError(f"n must be an int >= 1; got {n!r}.")
        gen = make_generator(seed_from_random_state(random_state))
        z = torch.randn((int(n), self.n_components_), generator=gen).numpy()
        return self._decode_to_data(z)

    @variational_only
    def interpolate(self, x_a, x_b, n_steps: int = 8) -> np.ndarray:
        """Decodes ``n_steps`` codes evenly spaced from the code (mean) of ``x_a`` to that of
        ``x_b``, both ends included, in data units: shape (n_steps, *sample shape)."""
        if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 2):
            raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
        ends = np.concatenate([np.asarray(x_a, dtype=np.float64)[None],
                               np.asarray(x_b, dtype=np.float64)[None]])
        codes = self.transform(ends.reshape(2, -1) if getattr(self, "input_ndim_", 2) == 2
                               else ends).astype(np.float64)
        t = np.linspace(0.0, 1.0, int(n_steps))[:, None]
        return self._decode_to_data((1 - t) * codes[0] + t * codes[1])
