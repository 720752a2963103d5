"""``ConvAutoencoder``: the convolutional autoencoder as a scikit-learn transformer."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import Tensor, nn

from ..io import is_source, open_source
from ..nn import ACTIVATIONS, AutoencoderNet, ConvDecoder, ConvEncoder
from ..saving import register_estimator
from .base import BaseAutoencoder
from .conv_spatial import SpatialCodeMixin
from .runtime import resolve_device
from .scaling import Scaler
from .state import as_count, as_counts, as_curves
from .validation import check_sample_shape

_INFERENCE_CHUNK = 64  # rows per inference batch (see BaseAutoencoder._map)


def _ndim(X) -> int | None:
    """The number of dimensions of array-likes (None when it cannot tell, e.g. sparse)."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, list | tuple):
        try:
            ndim = np.asarray(X).ndim
        except ValueError:  # ragged nested lists: let scikit-learn's validation explain
            return None
    return ndim


@register_estimator
class ConvAutoencoder(SpatialCodeMixin, BaseAutoencoder):
    """A convolutional autoencoder for images: ``(C, H, W) -> convs -> n_components -> (C, H, W)``.

    Every encoder level is a stride-2 convolution that halves height and width (28x28 -> 14x14 ->
    7x7 with the default two levels); a dense layer maps the last feature map to the code. The
    decoder mirrors it with transposed convolutions and returns exactly the input's shape, odd
    sizes included. Constraints (noise, sparsity, top-k, ...) compose as for ``Autoencoder``, and
    ``pretraining="greedy"`` makes it the stacked convolutional autoencoder.

    X is either 4-D, ``(n_samples, channels, height, width)``, or 2-D rows of flattened images
    (``C * H * W`` features in C-order, as ``images.reshape(n, -1)`` gives), which is what a
    ``Pipeline`` passes. ``reconstruct`` returns the layout it was given; ``inverse_transform``
    returns the layout ``fit`` was given.

    Parameters
    ----------
    n_components : int or None, default=None
        Size of the code. None: ``max(1, min(32, n_features // 2))``. With ``code="spatial"``:
        the channels of the code map (None: half the input's size, ``C * 4^L / 2``).
    code : {"dense", "spatial"}, default="dense"
        "dense": a vector of ``n_components`` units (dimensionality reduction, t-SNE).
        "spatial": the encoder keeps a small feature map, ``(n_components, H / 2^L, W / 2^L)``
        for L = ``len(conv_channels)`` levels, and the decoder upsamples by resize-convolutions
        (no transposed convolutions, no checkerboard); detail survives, and the model is fully
        convolutional, so ``reconstruct_image`` (and ``reconstruct`` of 4-D images of another
        size) runs it on photos of any size, trained on patches (``aekit.io.random_patches``).
        ``transform`` gives the map flattened (``n_components_`` = its size) and
        ``inverse_transform`` takes it back. Constraints that shape the code (``TopK``,
        ``Variational``) and ``pretraining`` need ``code="dense"``.
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` (or ``(height, width)`` for one channel) of the flattened
        rows of a 2-D X (for 4-D X, if given, it must match). None with 2-D X: a square one-channel
        image when ``n_features`` is a perfect square (784 -> (1, 28, 28)), else one row of pixels,
        ``(1, 1, n_features)`` (a 1-D signal). Give it for any other layout, e.g. ``(3, 32, 32)``.
    conv_channels : tuple of int, default=(32, 64)
        Output channels of the encoder's stride-2 convolutions, in order; the decoder mirrors
        them. Each level is one level of greedy pretraining.
    kernel_size : int, default=3
        Square kernels, padded by ``kernel_size // 2``.
    activation : str, default="relu"
        Activation after every convolution and of the decoder's dense layer.
    pretraining : {None, "greedy"}, default=None
        "greedy": train each level as a shallow (convolutional) autoencoder on the feature maps of
        the level below, then fine-tune end to end (the stacked convolutional autoencoder). Each
        level runs up to ``max_iter`` epochs; see ``pretraining_loss_curves_``.
    constraints : tuple, default=()
        Constraint objects or names from ``aekit.constraints``; they are cloned at fit.
    loss : {"mse", "mae", "bce"}, default="mse"
        Squared error, absolute error (robust to outliers; sharper denoised images, see
        ``benchmarks/bench_photos.py``), or cross-entropy (images in [0, 1]).
    scaling : {"auto", "standard", "minmax", "none"}, default="auto"
        As for ``Autoencoder``, but pooled per CHANNEL, not per pixel: "standard" subtracts each
        channel's mean and divides by its standard deviation over all its pixels, "minmax" maps
        each channel's range to [0, 1]. "auto" keeps images already in [0, 1] as they are.
    output_activation : {"auto", "linear", "sigmoid"}, default="auto"
        "auto": sigmoid when the scaled data lies in [0, 1], else linear.
    max_iter : int, default=20
        Maximum number of epochs (of every level, with greedy pretraining). Fewer than
        ``Autoencoder``'s 200: an epoch of convolutions costs more, and with the smaller batches
        and larger step below the model gets further per epoch (on 8,000 Fashion-MNIST images
        it passes the dense model's 200-epoch error within 20 epochs).
    batch_size : int, default=64
    learning_rate_init : float, default=2e-3
        Adam's learning rate.
    early_stopping : bool, default=False
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        As for ``Autoencoder``; "auto" also keeps float32 for networks with a one-position
        feature map (the CPU's bf16 convolution gradients are unreliable there).
    n_threads : int or None, default=None
        As for ``Autoencoder``.
    random_state : int, RandomState or None, default=None
    device : str, default="auto"
        "auto" (CUDA, else MPS, else CPU), "cpu", "cuda", "cuda:N" or "mps". On CPU and CUDA the
        network runs in the channels-last memory format (faster convolutions on CPU).
    verbose : int, default=0
    checkpoint_dir : str or path, default=None
        Save the end-to-end training state every ``checkpoint_every`` epochs, as for
        ``Autoencoder`` (greedy pretraining itself is not checkpointed: a resumed fit runs it
        again, then continues the fine-tuning from the checkpoint).
    checkpoint_every : int, default=1
    resume : bool, default=False

    Attributes
    ----------
    module_ : aekit.nn.AutoencoderNet
        ``ConvEncoder`` + ``ConvDecoder``, in eval mode.
    image_shape_ : tuple of int
        ``(channels, height, width)`` the model was fitted on.
    input_ndim_ : int
        2 or 4: the layout ``fit`` was given (``inverse_transform`` returns it).
    conv_channels_ : tuple of int
    n_components_, n_features_in_, n_iter_, loss_curve_, validation_scores_,
    best_validation_score_, scaling_, output_activation_, code_activation_, precision_, device_,
    constraints_ :
        As for ``Autoencoder``.
    pretraining_loss_curves_ : list of list of float or None
        With ``pretraining="greedy"``: each level's loss curve, bottom up.

    Examples
    --------
    >>> from aekit import ConvAutoencoder
    >>> from aekit.datasets import load_digits
    >>> X = load_digits().reshape(-1, 1, 8, 8)
    >>> model = ConvAutoencoder(n_components=8, max_iter=2, random_state=0).fit(X)
    >>> model.transform(X).shape, model.reconstruct(X).shape
    ((1797, 8), (1797, 1, 8, 8))
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "image_shape": [list, tuple, None],
        "conv_channels": [list, tuple],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "pretraining": [StrOptions({"greedy"}), None],
        "code": [StrOptions({"dense", "spatial"})],
    }
    sample_kind = "image"
    _fitted_schema = {"image_shape_": as_counts, "input_ndim_": as_count,
                      "conv_channels_": as_counts, "pretraining_loss_curves_": as_curves}

    def __init__(
        self,
        n_components=None,
        *,
        code="dense",
        image_shape=None,
        conv_channels=(32, 64),
        kernel_size=3,
        activation="relu",
        pretraining=None,
        constraints=(),
        loss="mse",
        scaling="auto",
        output_activation="auto",
        max_iter=20,
        batch_size=64,
        learning_rate_init=2e-3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        precision="auto",
        n_threads=None,
        random_state=None,
        device="auto",
        verbose=0,
        checkpoint_dir=None,
        checkpoint_every=1,
        resume=False,
    ):
        self.n_components = n_components
        self.code = code
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.activation = activation
        self.pretraining = pretraining
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
    def _given_image_shape(self) -> tuple[int, int, int] | None:
        """``image_shape`` as ``(C, H, W)``, validated; None when not given."""
        shape = self.image_shape
        if shape is None:
            return None
        shape = tuple(shape)
        if len(shape) not in (2, 3) or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in shape
        ):
            raise ValueError(
                "image_shape must be (channels, height, width) or (height, width) with positive "
                f"ints, e.g. (1, 28, 28); got {self.image_shape!r}."
            )
        shape = (1, *shape) if len(shape) == 2 else shape
        return tuple(int(s) for s in shape)  # type: ignore[return-value]

    def _infer_image_shape(self, n_features: int) -> tuple[int, int, int]:
        given = self._given_image_shape()
        if given is not None:
            if math.prod(given) != n_features:
                raise ValueError(
                    f"image_shape={given} holds {math.prod(given)} values, but X has "
                    f"{n_features} features; pass the (channels, height, width) of the "
                    "flattened images, or 4-D X of shape (n_samples, channels, height, width)."
                )
            return given
        side = math.isqrt(n_features)
        return (1, side, side) if side * side == n_features else (1, 1, n_features)

    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        ndim = _ndim(X)
        images = ndim == 4
        if ndim == 3 or (ndim is not None and ndim > 4):
            raise ValueError(
                f"{type(self).__name__} takes X of shape (n_samples, channels, height, width) or "
                f"(n_samples, n_features); got an array of shape {np.shape(X)}. For "
                "single-channel images of shape (n, height, width) use X[:, None]."
            )
        if images:
            X = np.asarray(X)
            shape = tuple(int(s) for s in X.shape[1:])
            expected = self._given_image_shape() if reset else self.image_shape_
            check_sample_shape(shape, expected, owner=type(self).__name__, fitted=not reset)
            X = X.reshape(X.shape[0], -1)
        X = super()._check_X(X, reset=reset)
        if reset:
            self.image_shape_ = shape if images else self._infer_image_shape(X.shape[1])
            self.input_ndim_ = 4 if images else 2
        return X

    def _check_source(self, X, *, reset: bool):
        source = super()._check_source(X, reset=reset)
        shape = source.image_shape
        what, owner = source.path or "X", type(self).__name__
        if reset:
            check_sample_shape(shape or (), self._given_image_shape() if shape else None,
                               owner=owner, what=what)
            self.image_shape_ = tuple(shape) if shape else self._infer_image_shape(
                source.n_features)
            self.input_ndim_ = 4 if shape else 2
        elif shape:
            check_sample_shape(shape, self.image_shape_, owner=owner, what=what, fitted=True)
        return source

    def _fit_scaler(self, stats, scaling: str) -> Scaler:
        """Per-channel statistics, repeated over each channel's pixels."""
        if scaling not in ("standard", "minmax"):
            return super()._fit_scaler(stats, scaling)
        channels, height, width = self.image_shape_
        return Scaler.fit(stats.pooled(channels), scaling).repeated(height * width)

    def _to_network(self, X: Tensor) -> Tensor:
        images = X.reshape(X.shape[0], *self.image_shape_)  # (n, C*H*W) -> (n, C, H, W)
        return images.contiguous(memory_format=self._memory_format)

    def _default_sample_shape(self) -> tuple[int, ...]:
        return tuple(self.image_shape_)

    # ------------------------------------------------------------------ architecture
    def _resolve_architecture(self, n_features: int) -> None:
        self.sample_shape_ = tuple(self.image_shape_)
        k = self.n_components
        self.n_components_ = int(k) if k is not None else max(1, min(32, n_features // 2))
        channels = tuple(self.conv_channels)
        if self.code == "spatial":
            self._resolve_spatial_code(channels)
            return
        if not all(isinstance(c, Integral) and not isinstance(c, bool) and c > 0
                   for c in channels):
            raise ValueError(
                "conv_channels must be a tuple of positive ints, e.g. (32, 64); got "
                f"{self.conv_channels!r}."
            )
        self.conv_channels_ = tuple(int(c) for c in channels)

    def _build_module(
        self, n_features: int, code_activation: str, output_activation: str,
        bottleneck: nn.Module | None,
    ) -> AutoencoderNet:
        shape, channels, k = self.image_shape_, self.conv_channels_, int(self.kernel_size)
        if self.code == "spatial":
            module = self._spatial_module(code_activation, output_activation, bottleneck)
        else:
            width = self.n_components_ if bottleneck is None else bottleneck.encoder_width(
                self.n_components_)
            encoder = ConvEncoder(shape, channels, width, k, self.activation, code_activation)
            decoder = ConvDecoder(self.n_components_, shape, channels, k, self.activation,
                                  output_activation)
            module = AutoencoderNet(encoder, decoder, bottleneck)
        # channels-last runs the convolutions 15-25% faster on CPU (oneDNN); MPS lacks it
        device = resolve_device(self.device, type(self).__name__)
        fast = device.type in ("cpu", "cuda")
        self._memory_format = torch.channels_last if fast else torch.contiguous_format
        return module.to(memory_format=self._memory_format)

    # ------------------------------------------------------------------ inference
    def _inference_batch_size(self) -> int:
        return _INFERENCE_CHUNK

    # ------------------------------------------------------------------ layouts out
    def _as_images(self, flat: np.ndarray) -> np.ndarray:
        return flat.reshape(flat.shape[0], *self.image_shape_)

    def reconstruct(self, X):
        """The model's reconstruction of X, in X's layout (4-D in, 4-D out; 2-D in, 2-D out).

        A spatial-code model also takes 4-D images of another size (see ``reconstruct_image``).
        """
        if self._other_size(X):
            return np.stack([self.reconstruct_image(image) for image in np.asarray(X)])
        images = _ndim(X) == 4 or (is_source(X) and open_source(X).image_shape is not None)
        recon = super().reconstruct(X)
        return self._as_images(recon) if images else recon

    def inverse_transform(self, X):
        """Decode codes back to images, in the layout ``fit`` was given (see ``input_ndim_``)."""
        recon = super().inverse_transform(X)
        return self._as_images(recon) if self.input_ndim_ == 4 else recon
