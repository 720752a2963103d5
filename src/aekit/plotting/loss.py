"""``LossCurveDisplay``: the training (and validation, and pretraining) loss per epoch."""

from __future__ import annotations

import numpy as np

from ._base import as_float_array, estimator_name, new_axes


class LossCurveDisplay:
    """Loss per epoch of a fitted autoencoder, scikit-learn Display style.

    Create it with :meth:`from_estimator`; :meth:`plot` draws it. Epochs run along the x axis in
    the order they were trained: with greedy pretraining, each level's curve first (bottom up),
    then the end-to-end training, with dotted lines between the phases.

    Parameters
    ----------
    loss_curve : array-like of float
        Training objective per epoch (``loss_curve_``).
    validation_errors : array-like of float or None, default=None
        Held-out reconstruction error per epoch, in the units of ``loss_curve`` (see
        :meth:`from_estimator`).
    pretraining_loss_curves : list of array-like or None, default=None
        One loss curve per pretrained level, bottom up (``pretraining_loss_curves_``).
    estimator_name : str or None, default=None
        Shown in the title.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training curve.
    validation_line_ : matplotlib Line2D or None
    pretraining_lines_ : list of matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from aekit import Autoencoder
    >>> from aekit.datasets import load_digits
    >>> from aekit.plotting import LossCurveDisplay
    >>> model = Autoencoder(8, max_iter=20, early_stopping=True, random_state=0)
    >>> display = LossCurveDisplay.from_estimator(model.fit(load_digits()))  # doctest: +SKIP
    """

    def __init__(
        self, *, loss_curve, validation_errors=None, pretraining_loss_curves=None,
        estimator_name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_errors = validation_errors
        self.pretraining_loss_curves = pretraining_loss_curves
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, log_scale=False):
        """Read the curves of a fitted estimator and plot them.

        Parameters
        ----------
        estimator : fitted estimator with ``loss_curve_``
            An aekit autoencoder (or, e.g., scikit-learn's ``MLPRegressor``: then only
            ``loss_curve_`` is drawn, since its ``validation_scores_`` are R^2 values).
            For aekit models, ``validation_scores_`` (early stopping: the negative held-out error
            averaged over features) is drawn as the held-out error summed over features, the
            units of ``loss_curve_``; the training curve also holds the input noise and the
            penalties, so a gap between the two is expected with constraints.
        ax : matplotlib Axes or None, default=None
        log_scale : bool, default=False
            Logarithmic y axis (useful when pretraining levels have losses of different sizes).

        Returns
        -------
        LossCurveDisplay
        """
        curve = getattr(estimator, "loss_curve_", None)
        if curve is None:
            raise TypeError(
                "LossCurveDisplay.from_estimator needs a fitted estimator with loss_curve_ (e.g. "
                f"an aekit autoencoder); got {type(estimator).__name__} without it. For an "
                "OutlierDetector or a Pipeline pass the autoencoder: detector.estimators_[0] or "
                "pipeline[0]."
            )
        validation = None
        scores = getattr(estimator, "validation_scores_", None)
        is_aekit = callable(getattr(estimator, "reconstruction_error", None))
        if scores is not None and is_aekit:
            n_features = int(estimator.n_features_in_)
            validation = [-float(s) * n_features for s in scores]
        display = cls(
            loss_curve=list(curve),
            validation_errors=validation,
            pretraining_loss_curves=getattr(estimator, "pretraining_loss_curves_", None),
            estimator_name=estimator_name(estimator),
        )
        return display.plot(ax=ax, log_scale=log_scale)

    def plot(self, ax=None, *, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Logarithmic y axis.

        Returns
        -------
        LossCurveDisplay
            ``self``, with the artists as attributes.
        """
        from matplotlib.ticker import MaxNLocator

        curve = as_float_array(self.loss_curve, "loss_curve", ndim=1)
        if curve.size == 0:
            raise ValueError("loss_curve is empty; fit the estimator for at least one epoch.")
        figure, ax = new_axes(ax, "LossCurveDisplay")
        start = 0
        self.pretraining_lines_ = []
        levels = self.pretraining_loss_curves or []
        for k, level in enumerate(levels):
            level = as_float_array(level, f"pretraining_loss_curves[{k}]", ndim=1)
            epochs = np.arange(start + 1, start + level.size + 1)
            (line,) = ax.plot(epochs, level, linestyle="--",
                              label=f"pretraining, level {k + 1} of {len(levels)}")
            self.pretraining_lines_.append(line)
            start += level.size
            ax.axvline(start + 0.5, color="0.6", linestyle=":", linewidth=1)
        epochs = np.arange(start + 1, start + curve.size + 1)
        training = "training loss" if not levels else "end-to-end training loss"
        (self.line_,) = ax.plot(epochs, curve, color="C0" if not levels else f"C{len(levels)}",
                                label=training)
        self.validation_line_ = None
        if self.validation_errors is not None:
            validation = as_float_array(self.validation_errors, "validation_errors", ndim=1)
            if validation.size != curve.size:
                raise ValueError(
                    f"validation_errors has {validation.size} epochs but loss_curve has "
                    f"{curve.size}; pass one value per epoch."
                )
            (self.validation_line_,) = ax.plot(
                epochs, validation, color="C3", label="held-out reconstruction error"
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("loss per sample (summed over features)")
        if log_scale:
            ax.set_yscale("log")
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: loss per epoch")
        ax.legend()
        self.ax_, self.figure_ = ax, figure
        return self
