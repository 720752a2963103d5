"""Input corruption for denoising autoencoders (Vincent et al., 2008).

Each noise corrupts a training batch; the loss compares the reconstruction of the corrupted input
with the ORIGINAL input. Noise is drawn from the fit's generator, never from the global RNG.
"""

from __future__ import annotations

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import Tensor

from .base import Constraint


def _rand_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


class _ValueNoise(Constraint):
    """Noise on values: on a table it corrupts the numeric values only (categories and missing
    indicators are left as they are; ``MaskingNoise`` makes entries missing)."""

    def reset(self) -> None:
        self._input_range = None
        self._table = None

    def set_input_range(self, input_range: tuple[float, float] | None) -> None:
        self._input_range = input_range

    def set_table(self, table) -> None:
        self._table = table

    def _noisy(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def corrupt(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        table = getattr(self, "_table", None)
        if table is None:
            return self._noisy(x, generator)
        out = x.clone()
        slots = table.numeric_slots
        out[:, slots] = self._noisy(x[:, slots], generator)
        return out


class GaussianNoise(_ValueNoise):
    """Additive Gaussian noise: ``x_tilde = clip(x + std * eps)``, ``eps ~ N(0, 1)``.

    ``std`` is in the units the network sees (after the estimator's scaling).

    ``clip`` keeps the corrupted input in the data's domain:

    - ``"auto"`` (default): clip to [0, 1] when the network's input lies in [0, 1] (images and
      other data the estimator leaves unscaled or min-max scales), so that a noisy training image
      is a valid image, as noisy images met later are; no clipping for standardized data;
    - ``(low, high)``: clip to these values (network units);
    - ``None``: never clip (zero-mean noise, as in Vincent et al., 2008).

    Unclipped noise on [0, 1] images has mean 0, but clipped noise, which is what a noisy image
    is, brightens black pixels by ``std * E[max(z, 0)]`` (0.2 for ``std=0.5``); a model trained
    on the one denoises the other badly (benchmarks/README.md: 15.3 vs 18.9 dB PSNR).
    """

    name = "gaussian_noise"
    _parameter_constraints = {
        "std": [Interval(Real, 0.0, None, closed="left")],
        "clip": [StrOptions({"auto"}), tuple, list, None],
    }

    def __init__(self, std: float = 0.1, clip: str | tuple[float, float] | None = "auto") -> None:
        self.std = std
        self.clip = clip

    def validate(self) -> None:
        super().validate()
        if self.clip is None or isinstance(self.clip, str):
            return
        bounds = self.clip
        ok = len(bounds) == 2 and all(isinstance(b, Real) and not isinstance(b, bool)
                                      for b in bounds)
        if not ok or not bounds[0] < bounds[1]:
            raise ValueError(
                "The 'clip' parameter of GaussianNoise must be 'auto', None or (low, high) with "
                f"low < high; got {self.clip!r}."
            )

    def _bounds(self) -> tuple[float, float] | None:
        if self.clip is None:
            return None
        if isinstance(self.clip, str):  # "auto": the range the estimator declared, if any
            return getattr(self, "_input_range", None)
        return float(self.clip[0]), float(self.clip[1])

    def _noisy(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        noisy = x + self.std * noise
        bounds = self._bounds()
        return noisy if bounds is None else noisy.clamp_(bounds[0], bounds[1])


class SaltAndPepperNoise(_ValueNoise):
    """Set a fraction ``rate`` of the entries to the low or the high value (each half the time).

    The values are the data's own domain where the estimator knows it: on data whose network
    input lies in [0, 1] (images and other data left unscaled or min-max scaled) pepper is 0 and
    salt is 1, as in a salt-and-pepper corrupted image. Where no domain is known (standardized
    data), they are each feature's minimum and maximum over the batch. Give ``low``/``high`` to
    fix them (in network units).
    """

    name = "salt_and_pepper_noise"
    _parameter_constraints = {
        "rate": [Interval(Real, 0.0, 1.0, closed="both")],
        "low": [Real, None],
        "high": [Real, None],
    }

    def __init__(self, rate: float = 0.1, low: float | None = None, high: float | None = None):
        self.rate = rate
        self.low = low
        self.high = high

    def validate(self) -> None:
        super().validate()
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(
                f"SaltAndPepperNoise needs low <= high; got low={self.low}, high={self.high}."
            )

    def _values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The pepper and salt values: given, the data's domain, or the batch's extremes."""
        domain = getattr(self, "_input_range", None)
        if self.low is not None:
            low = torch.tensor(float(self.low))
        elif domain is not None:
            low = torch.tensor(float(domain[0]))
        else:
            low = x.amin(dim=0, keepdim=True)
        if self.high is not None:
            high = torch.tensor(float(self.high))
        elif domain is not None:
            high = torch.tensor(float(domain[1]))
        else:
            high = x.amax(dim=0, keepdim=True)
        return low.to(x), high.to(x)

    def _noisy(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        low, high = self._values(x)
        u = _rand_like(x, generator)
        hit = u < self.rate  # which entries are corrupted
        salt = u < self.rate / 2  # half of them (u is uniform) go high
        out = torch.where(salt, high.expand_as(x), low.expand_as(x))
        return torch.where(hit, out, x)


class MaskingNoise(Constraint):
    """Masking (dropout-style) corruption: set a fraction ``rate`` of the entries to 0.

    On a table (an ``Autoencoder`` in table mode) it makes a fraction ``rate`` of the entries
    missing, as a gap would be (a numeric value with its missing indicator, a category as an
    all-zero block), so the model learns to fill gaps from the other columns.
    """

    name = "masking_noise"
    _parameter_constraints = {"rate": [Interval(Real, 0.0, 1.0, closed="both")]}

    def __init__(self, rate: float = 0.25) -> None:
        self.rate = rate

    def reset(self) -> None:
        self._table = None

    def set_table(self, table) -> None:
        self._table = table

    def corrupt(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        table = getattr(self, "_table", None)
        if table is not None:  # a table: whole entries become missing (values and categories)
            return table.mask_entries(x, self.rate, generator)
        keep = _rand_like(x, generator) >= self.rate
        return x * keep.to(x.dtype)
