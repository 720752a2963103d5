"""``ReconstructionDisplay``: originals above their reconstructions (and noisy vs denoised)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..metrics import as_image_batch
from ._base import estimator_name, image_shape_of, pyplot, require_fitted


class ReconstructionDisplay:
    """A grid of images: originals, optionally their noisy versions, and the model's output.

    One column per image; the rows are "original", "noisy" (when given) and "reconstruction"
    (or "denoised" when noisy images are given). Under each output (and each noisy image) its
    PSNR against the original is written. All images share one grey scale (or RGB for three
    channels), set from the originals, so the rows can be compared by eye.

    Parameters
    ----------
    originals, reconstructions : ndarray of shape (n_images, channels, height, width)
    noisy : ndarray of the same shape or None, default=None
    data_range : float, default=1.0
        The span of pixel values, for the PSNR and the grey scale.
    estimator_name : str or None, default=None

    Attributes
    ----------
    psnr : ndarray of shape (n_images,)
        PSNR of each reconstruction (denoised image) against its original, in dB.
    noisy_psnr : ndarray of shape (n_images,) or None
        PSNR of each noisy image against its original.
    images_ : list of matplotlib AxesImage
        Every image drawn, row by row.
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_images)
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import Autoencoder, GaussianNoise
    >>> from aekit.datasets import load_digits
    >>> from aekit.plotting import ReconstructionDisplay
    >>> X = load_digits()
    >>> model = Autoencoder(16, constraints=(GaussianNoise(0.2),), max_iter=5).fit(X)
    >>> noisy = (X + 0.2 * np.random.default_rng(0).normal(size=X.shape)).clip(0, 1)
    >>> ReconstructionDisplay.from_estimator(model, X, X_noisy=noisy)  # doctest: +SKIP
    """

    def __init__(self, *, originals, reconstructions, noisy=None, data_range=1.0,
                 estimator_name=None):
        self.originals = originals
        self.reconstructions = reconstructions
        self.noisy = noisy
        self.data_range = data_range
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls, estimator, X, *, X_noisy=None, n_images=8, indices=None, image_shape=None,
        data_range=None,
    ):
        """Reconstruct (or denoise) some rows of ``X`` with a fitted model and plot them.

        Parameters
        ----------
        estimator : fitted estimator
            Anything with ``reconstruct`` (aekit autoencoders) or with ``transform`` and
            ``inverse_transform`` (e.g. ``sklearn.decomposition.PCA``).
        X : array-like, 2-D rows of flattened images, or images (n, H, W) / (n, C, H, W)
            The clean images.
        X_noisy : array-like of X's shape or None, default=None
            Noisy versions of ``X``: then the model's output for ``X_noisy`` is shown as
            "denoised" (a denoising autoencoder's ``reconstruct`` is its denoiser).
        n_images : int, default=8
            Number of columns: the first ``n_images`` rows of ``X`` (or fewer if X is shorter).
        indices : array-like of int or None, default=None
            Which rows to show instead of the first ones.
        image_shape : tuple of int or None, default=None
            ``(height, width)`` or ``(channels, height, width)`` of 2-D rows; None: the
            estimator's ``image_shape_`` (or ``image_shape``), else square single-channel images.
        data_range : float or None, default=None
            None: 1.0 for images in [0, 1], else the range of the shown originals.

        Returns
        -------
        ReconstructionDisplay
        """
        if not callable(getattr(estimator, "reconstruct", None)):
            require_fitted(estimator, "ReconstructionDisplay",
                           attributes=("transform", "inverse_transform"))
        else:
            require_fitted(estimator, "ReconstructionDisplay")
        if X_noisy is not None and np.shape(X_noisy) != np.shape(X):
            raise ValueError(
                f"X_noisy must have X's shape {np.shape(X)}; got {np.shape(X_noisy)}. Pass the "
                "noisy version of each row of X."
            )
        rows = _choose_rows(X, n_images, indices)
        X_shown = _take(X, rows)
        source = X_shown if X_noisy is None else _take(X_noisy, rows)
        if callable(getattr(estimator, "reconstruct", None)):
            output = estimator.reconstruct(source)
        else:
            output = estimator.inverse_transform(estimator.transform(source))
        return cls.from_predictions(
            X_shown, output, X_noisy=None if X_noisy is None else source,
            image_shape=image_shape_of(estimator, image_shape), data_range=data_range,
            estimator_name=estimator_name(estimator),
        )

    @classmethod
    def from_predictions(
        cls, X, X_reconstructed, *, X_noisy=None, n_images=None, image_shape=None,
        data_range=None, estimator_name=None,
    ):
        """Plot images and given reconstructions (from any method: a filter, PCA, a model).

        Parameters
        ----------
        X, X_reconstructed : array-like of images, same shape
            Originals and outputs (layouts as in :meth:`from_estimator`).
        X_noisy : array-like or None, default=None
            The inputs the outputs were made from, shown in the middle row.
        n_images : int or None, default=None
            Show only the first ``n_images`` (None: all).
        image_shape, data_range, estimator_name :
            As in :meth:`from_estimator`.

        Returns
        -------
        ReconstructionDisplay
        """
        originals = as_image_batch(X, image_shape, name="X")
        outputs = as_image_batch(X_reconstructed, image_shape, name="X_reconstructed")
        noisy = None if X_noisy is None else as_image_batch(X_noisy, image_shape, name="X_noisy")
        for name, images in (("X_reconstructed", outputs), ("X_noisy", noisy)):
            if images is not None and images.shape != originals.shape:
                raise ValueError(
                    f"{name} holds images of shape {images.shape} (n, channels, height, width) "
                    f"but X holds {originals.shape}; pass one output per row of X."
                )
        if n_images is not None:
            rows = _choose_rows(originals, n_images, None)
            originals, outputs = originals[rows], outputs[rows]
            noisy = None if noisy is None else noisy[rows]
        if data_range is None:
            lo, hi = float(originals.min()), float(originals.max())
            data_range = 1.0 if lo >= 0.0 and hi <= 1.0 else max(hi - lo, 1e-12)
        display = cls(originals=originals, reconstructions=outputs, noisy=noisy,
                      data_range=data_range, estimator_name=estimator_name)
        return display.plot()

    def plot(self, *, axes=None, cmap="gray"):
        """Draw the grid.

        Parameters
        ----------
        axes : ndarray of matplotlib Axes of shape (n_rows, n_images) or None, default=None
            Where to draw; None makes a new figure sized to the grid.
        cmap : str, default="gray"
            Colour map of single-channel images.

        Returns
        -------
        ReconstructionDisplay
        """
        from ..metrics import psnr

        originals = np.asarray(self.originals, dtype=np.float64)
        outputs = np.asarray(self.reconstructions, dtype=np.float64)
        rows = [("original", originals)]
        if self.noisy is not None:
            rows.append(("noisy", np.asarray(self.noisy, dtype=np.float64)))
        rows.append(("denoised" if self.noisy is not None else "reconstruction", outputs))
        channels = originals.shape[1]
        if channels not in (1, 3):
            raise ValueError(
                f"ReconstructionDisplay shows images with 1 (grey) or 3 (RGB) channels; got "
                f"{channels}. Pass image_shape=(channels, height, width) if the rows are laid out "
                "differently, or select the channels to show."
            )
        self.psnr = psnr(originals, outputs, data_range=self.data_range, per_image=True)
        self.noisy_psnr = (
            None if self.noisy is None
            else psnr(originals, rows[1][1], data_range=self.data_range, per_image=True)
        )
        n_rows, n_images = len(rows), originals.shape[0]
        plt = pyplot("ReconstructionDisplay")
        if axes is None:
            figure, axes = plt.subplots(
                n_rows, n_images, figsize=(max(1.3 * n_images + 0.6, 3.6), 1.5 * n_rows + 0.6),
                squeeze=False,
            )
        else:
            axes = np.asarray(axes, dtype=object).reshape(n_rows, -1)
            if axes.shape != (n_rows, n_images):
                raise ValueError(
                    f"axes must be an array of shape ({n_rows}, {n_images}) (rows x images); "
                    f"got {axes.shape}."
                )
            figure = axes[0, 0].figure
        low = float(originals.min()) if originals.min() < 0 or originals.max() > 1 else 0.0
        high = low + self.data_range
        self.images_ = []
        for r, (label, images) in enumerate(rows):
            for c in range(n_images):
                ax = axes[r, c]
                image = images[c]
                if channels == 1:
                    drawn = ax.imshow(image[0], cmap=cmap, vmin=low, vmax=high)
                else:  # (3, H, W) -> (H, W, 3), scaled to [0, 1] for imshow
                    rgb = np.clip((np.moveaxis(image, 0, -1) - low) / (high - low), 0.0, 1.0)
                    drawn = ax.imshow(rgb)
                self.images_.append(drawn)
                ax.set_xticks([])
                ax.set_yticks([])
                if label != "original":
                    value = (self.psnr if r == n_rows - 1 else self.noisy_psnr)[c]
                    ax.set_xlabel(f"{value:.1f} dB", fontsize=8)
                if c == 0:
                    ax.set_ylabel(label)
        if self.estimator_name:
            title = f"{self.estimator_name}\nmean PSNR {np.mean(self.psnr):.2f} dB"
            if self.noisy_psnr is not None:
                title += f" (noisy: {np.mean(self.noisy_psnr):.2f} dB)"
            figure.suptitle(title, fontsize="medium")
        self.axes_, self.figure_ = axes, figure
        return self


def _choose_rows(X, n_images, indices) -> np.ndarray:
    n = len(X)
    if indices is not None:
        rows = np.asarray(indices)
        if rows.ndim != 1 or rows.size == 0 or rows.dtype.kind not in "iu" or (
            rows.min() < -n or rows.max() >= n
        ):
            raise ValueError(
                f"indices must be a non-empty 1-D array of row numbers of X (0 to {n - 1}); "
                f"got {indices!r}."
            )
        return rows
    if isinstance(n_images, bool) or not isinstance(n_images, Integral) or n_images < 1:
        raise ValueError(f"n_images must be a positive int, e.g. 8; got {n_images!r}.")
    if n == 0:
        raise ValueError("X holds no images; pass at least one row.")
    return np.arange(min(int(n_images), n))


def _take(X, rows: np.ndarray):
    if hasattr(X, "iloc"):  # pandas: keep the frame (and its column names) for the estimator
        return X.iloc[rows]
    return np.asarray(X)[rows]
