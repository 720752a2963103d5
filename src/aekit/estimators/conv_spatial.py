"""``ConvAutoencoder(code="spatial")``: a code map, resize-convolutions, images of any size.

The network is ``aekit.nn.SpatialEncoder`` + ``SpatialDecoder`` (fully convolutional), so a
model trained on patches of ``image_shape`` runs on a whole photo at once: the result has no
tile seams by construction, and its size is the photo's (odd sizes included).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..nn import AutoencoderNet, SpatialDecoder, SpatialEncoder
from ..nn.conv import level_shapes
from ..training.runtime import choose_threads, torch_threads


class SpatialCodeMixin:
    """The spatial-code parts of ``ConvAutoencoder``."""

    @property
    def code_shape_(self) -> tuple[int, ...]:
        """``(channels, h, w)`` of the code map (``code="spatial"``)."""
        check_is_fitted(self)
        if self.code != "spatial":
            raise AttributeError("code_shape_ exists with code='spatial' only.")
        return self._code_shape()

    def _code_shape(self) -> tuple[int, ...]:
        shapes = level_shapes(self.image_shape_, self.conv_channels_, int(self.kernel_size))
        return (self._code_channels, *shapes[-1][1:])

    def _resolve_spatial_code(self, channels) -> None:
        if not channels:
            raise ValueError("code='spatial' needs at least one level in conv_channels.")
        if self.pretraining is not None:
            raise ValueError("code='spatial' trains end to end; use pretraining=None (greedy "
                             "pretraining needs code='dense').")
        self.conv_channels_ = tuple(int(c) for c in channels)
        k = self.n_components
        # default: half the input's size (C * 4^L / 2 channels at 1 / 2^L of each side)
        default = max(1, int(self.image_shape_[0]) * 4 ** len(channels) // 2)
        self._code_channels = int(k) if k is not None else default
        shape = self._code_shape()
        self.n_components_ = int(np.prod(shape))

    def _spatial_module(self, code_activation: str, output_activation: str,
                        bottleneck) -> AutoencoderNet:
        if bottleneck is not None:
            raise ValueError("A constraint that shapes the code (TopK, Variational) needs "
                             "code='dense'; a spatial code is a feature map.")
        if not hasattr(self, "_code_channels"):  # loaded from a file: n_components_ holds it
            shapes = level_shapes(self.image_shape_, self.conv_channels_, int(self.kernel_size))
            self._code_channels = int(self.n_components_ // int(np.prod(shapes[-1][1:])))
        k = int(self.kernel_size)
        encoder = SpatialEncoder(self.image_shape_, self.conv_channels_, self._code_channels, k,
                                 self.activation, code_activation)
        decoder = SpatialDecoder(encoder.code_shape, self.image_shape_, self.conv_channels_, k,
                                 self.activation, output_activation)
        return AutoencoderNet(encoder, decoder)

    # ------------------------------------------------------------------ whole images
    def _other_size(self, X) -> bool:
        shape = getattr(X, "shape", None)
        return (hasattr(self, "module_") and shape is not None and len(shape) == 4
                and tuple(shape[1:]) != tuple(self.image_shape_))

    def reconstruct_image(self, image) -> np.ndarray:
        """The reconstruction (denoised, for a denoising model) of ONE image of any size.

        ``image``: ``(channels, height, width)`` (or ``(height, width)`` for one channel) in the
        units the model was fitted on; the result has the same shape and dtype (float).
        With ``code="spatial"`` the network runs on the whole image at once (memory grows with
        the image: about ``4 * max(conv_channels) * H * W / 4`` bytes for the largest feature
        map). With ``code="dense"`` an image of the training size is reconstructed as it is;
        any other size is cut into patches of the training size overlapping by half, each
        reconstructed, and blended with Hann windows (which add up to one where patches
        overlap), so no seam marks where patches join; the image is mirrored at its borders
        first, so every pixel lies under whole windows.
        """
        check_is_fitted(self)
        arr = np.asarray(image, dtype=np.float64)
        squeeze = arr.ndim == 2
        if squeeze:
            arr = arr[None]
        channels = int(self.image_shape_[0])
        if arr.ndim != 3 or arr.shape[0] != channels or min(arr.shape[1:]) < 1:
            raise ValueError(f"image must be ({channels}, height, width) like the training "
                             f"images {tuple(self.image_shape_)}; got shape {np.shape(image)}.")
        if not np.isfinite(arr).all():
            raise ValueError("image has NaN or infinite values; fill them first.")
        if self.code != "spatial":
            same = tuple(arr.shape[1:]) == tuple(int(s) for s in self.image_shape_[1:])
            result = (self.reconstruct(arr[None].astype(np.float32))[0].astype(np.float64)
                      if same else self._blend_patches(arr))
            return result[0] if squeeze else result
        offset = self.scaler_.offset.reshape(channels, -1)[:, 0][:, None, None]
        factor = self.scaler_.factor.reshape(channels, -1)[:, 0][:, None, None]
        x = torch.from_numpy(((arr - offset) / factor).astype(np.float32))[None]
        net = self.module_
        was_training = net.training
        net.eval()
        work = self._workload.flops(1) * arr[0].size / max(1, int(np.prod(self.image_shape_[1:])))
        try:
            with torch.inference_mode(), torch_threads(choose_threads(self.n_threads, work)):
                x = x.to(self.device_)
                out = net.decoder.from_map(net.encoder.feature_map(x), arr.shape[1:])
        finally:
            net.train(was_training)
        result = out[0].float().cpu().numpy().astype(np.float64) * factor + offset
        return result[0] if squeeze else result

    def _blend_patches(self, image: np.ndarray) -> np.ndarray:
        """A dense-code model on an image of any size: overlapping patches, Hann-blended."""
        channels, h, w = (int(s) for s in self.image_shape_)
        if h < 2 or w < 2:
            raise ValueError(f"Blending patches needs training images of at least 2x2 pixels; "
                             f"this model was trained on {h}x{w}.")
        step_y, step_x = h // 2, w // 2
        H, W = image.shape[1:]
        # mirror the borders by half a patch (plus what completes the last step), so every
        # pixel lies under whole windows; 'symmetric' also works for images smaller than it
        pad_y = (step_y, step_y + (-(H + step_y) % step_y) + h)
        pad_x = (step_x, step_x + (-(W + step_x) % step_x) + w)
        padded = np.pad(image, ((0, 0), pad_y, pad_x), mode="symmetric")
        window = np.outer(np.sin(np.pi * (np.arange(h) + 0.5) / h) ** 2,
                          np.sin(np.pi * (np.arange(w) + 0.5) / w) ** 2)
        ys = range(0, padded.shape[1] - h + 1, step_y)
        xs = range(0, padded.shape[2] - w + 1, step_x)
        out = np.zeros_like(padded)
        weight = np.zeros(padded.shape[1:])
        for y in ys:  # a row of patches at a time keeps the memory at one row's patches
            row = np.stack([padded[:, y:y + h, x:x + w] for x in xs])
            recon = self.reconstruct(row.astype(np.float32)).reshape(len(xs), channels, h, w)
            for x, patch in zip(xs, recon):
                out[:, y:y + h, x:x + w] += patch * window
                weight[y:y + h, x:x + w] += window
        out /= np.maximum(weight, 1e-12)
        return out[:, pad_y[0]:pad_y[0] + H, pad_x[0]:pad_x[0] + W]
