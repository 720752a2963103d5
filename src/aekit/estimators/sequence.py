"""``SequenceAutoencoder``: a 1-D convolutional autoencoder for windows of a time series.

A sibling of ``ConvAutoencoder`` rather than a mode of it: a sample is ``(channels, length)``
(each channel a variable, the length the window), the convolutions run along time only, and
the scaling pools each channel over its positions. ``ConvAutoencoder`` keeps images; both are
``BaseAutoencoder``s on the same fit and inference paths, with ``nn.ConvEncoder`` built for
one spatial dimension.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..nn import ACTIVATIONS, AutoencoderNet, ConvDecoder, ConvEncoder
from ..saving import register_estimator
from .base import BaseAutoencoder
from .scaling import Scaler
from .state import as_count, as_counts
from .validation import check_sample_shape


@register_estimator
class SequenceAutoencoder(BaseAutoencoder):
    """A 1-D convolutional autoencoder: ``(C, L) -> convs along time -> code -> (C, L)``.

    Every encoder level is a stride-2 convolution along time (length 288 -> 144 -> 72 with the
    default levels); a dense layer maps the last feature map to the code, and the decoder
    mirrors it back to exactly ``(C, L)``. Constraints compose as for ``Autoencoder``.

    X is 3-D, ``(n_samples, channels, length)``, or 2-D rows of flattened windows (channel by
    channel, ``C * L`` features) with ``sample_shape`` given (one channel of ``n_features``
    positions when not).

    Parameters
    ----------
    n_components : int or None, default=None
        Size of the code. None: ``max(1, min(32, n_features // 4))``.
    sample_shape : (int, int) or None, default=None
        ``(channels, length)`` of 2-D X's rows; None: ``(1, n_features)``.
    conv_channels : tuple of int, default=(16, 32)
        Output channels of the encoder's stride-2 convolutions, in order.
    kernel_size : int, default=7
        Kernel length along time, padded by ``kernel_size // 2``.
    activation : str, default="relu"
    scaling : {"auto", "standard", "minmax", "none"}, default="auto"
        As for ``Autoencoder``, pooled per channel over its positions.
    max_iter : int, default=50
    batch_size : int, default=64
    learning_rate_init : float, default=2e-3
    constraints, loss, output_activation, early_stopping, validation_fraction, n_iter_no_change,
    tol, precision, n_threads, random_state, device, verbose, checkpoint_dir, checkpoint_every,
    resume :
        As for ``Autoencoder``.

    Attributes
    ----------
    sample_shape_ : (int, int)
        ``(channels, length)`` of a sample.
    input_ndim_ : int
        2 or 3: the layout ``fit`` was given (``inverse_transform`` returns it).
    conv_channels_ : tuple of int
    n_components_, n_features_in_, n_iter_, loss_curve_, scaling_, precision_, ... :
        As for ``Autoencoder``.
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "sample_shape": [list, tuple, None],
        "conv_channels": [list, tuple],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
    }
    sample_kind = "sequence"
    _fitted_schema = {"input_ndim_": as_count, "conv_channels_": as_counts}

    def __init__(self, n_components=None, *, sample_shape=None, conv_channels=(16, 32),
                 kernel_size=7, activation="relu", constraints=(), loss="mse", scaling="auto",
                 output_activation="auto", max_iter=50, batch_size=64, learning_rate_init=2e-3,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 precision="auto", n_threads=None, random_state=None, device="auto", verbose=0,
                 checkpoint_dir=None, checkpoint_every=1, resume=False):
        self.n_components = n_components
        self.sample_shape = sample_shape
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.activation = activation
        self.constraints = constraints
        self.loss = loss
        self.scaling = scaling
        self.output_activation = output_activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ layouts
    def _given_shape(self) -> tuple[int, int] | None:
        if self.sample_shape is None:
            return None
        shape = tuple(self.sample_shape)
        if len(shape) != 2 or not all(isinstance(s, Integral) and not isinstance(s, bool)
                                      and s > 0 for s in shape):
            raise ValueError("sample_shape must be (channels, length) with positive ints, e.g. "
                             f"(1, 288); got {self.sample_shape!r}.")
        return int(shape[0]), int(shape[1])

    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        ndim = getattr(X, "ndim", None)
        if ndim == 3:
            X = np.asarray(X)
            shape = tuple(int(s) for s in X.shape[1:])
            expected = self._given_shape() if reset else tuple(self.sample_shape_)
            check_sample_shape(shape, expected, owner=type(self).__name__, fitted=not reset)
            X = X.reshape(X.shape[0], -1)
        X = super()._check_X(X, reset=reset)
        if reset:
            given = self._given_shape()
            if ndim == 3:
                self.sample_shape_ = shape
            elif given is not None:
                if math.prod(given) != X.shape[1]:
                    raise ValueError(f"sample_shape={given} holds {math.prod(given)} values, but "
                                     f"X has {X.shape[1]} features.")
                self.sample_shape_ = given
            else:
                self.sample_shape_ = (1, X.shape[1])
            self.input_ndim_ = 3 if ndim == 3 else 2
        return X

    def _check_source(self, X, *, reset: bool):
        source = super()._check_source(X, reset=reset)
        if reset:
            self.sample_shape_ = self._given_shape() or (1, source.n_features)
            self.input_ndim_ = 2
        return source

    def _fit_scaler(self, stats, scaling: str) -> Scaler:
        """Per-channel statistics, repeated over each channel's positions."""
        if scaling not in ("standard", "minmax"):
            return super()._fit_scaler(stats, scaling)
        channels, length = self.sample_shape_
        return Scaler.fit(stats.pooled(channels), scaling).repeated(length)

    # ------------------------------------------------------------------ architecture
    def _resolve_architecture(self, n_features: int) -> None:
        k = self.n_components
        self.n_components_ = int(k) if k is not None else max(1, min(32, n_features // 4))
        channels = tuple(self.conv_channels)
        if not all(isinstance(c, Integral) and not isinstance(c, bool) and c > 0
                   for c in channels):
            raise ValueError("conv_channels must be a tuple of positive ints, e.g. (16, 32); "
                             f"got {self.conv_channels!r}.")
        self.conv_channels_ = tuple(int(c) for c in channels)

    def _build_module(self, n_features: int, code_activation: str, output_activation: str,
                      bottleneck: nn.Module | None) -> AutoencoderNet:
        shape, k = tuple(self.sample_shape_), int(self.kernel_size)
        width = self.n_components_ if bottleneck is None else bottleneck.encoder_width(
            self.n_components_)
        encoder = ConvEncoder(shape, self.conv_channels_, width, k, self.activation,
                              code_activation)
        decoder = ConvDecoder(self.n_components_, shape, self.conv_channels_, k,
                              self.activation, output_activation)
        return AutoencoderNet(encoder, decoder, bottleneck)

    def _inference_batch_size(self) -> int:
        return 256

    # ------------------------------------------------------------------ layouts out
    def reconstruct(self, X, **kwargs):
        """The reconstruction of X, in X's layout (3-D in, 3-D out; 2-D in, 2-D out)."""
        recon = super().reconstruct(X, **kwargs)
        if getattr(X, "ndim", 2) == 3:
            return recon.reshape(recon.shape[0], *self.sample_shape_)
        return recon

    def inverse_transform(self, X):
        recon = super().inverse_transform(X)
        return recon.reshape(recon.shape[0], *self.sample_shape_) if self.input_ndim_ == 3 \
            else recon
