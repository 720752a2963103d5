"""Displays of the codes: a 2-D map (t-SNE) and the mean activation of each code unit."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ._base import as_float_array, estimator_name, new_axes, require_fitted

_MAX_CLASSES = 20  # more distinct labels than this are coloured on a continuous scale


class CodeMapDisplay:
    """A 2-D map of the codes (t-SNE by default), coloured by label when labels are given.

    Create it with :meth:`from_estimator`. Discrete labels (at most 20 distinct values, or any
    non-float labels) get one colour per class and a legend; float labels get a colour bar.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,) or None, default=None
    method : str, default="tsne"
        How the embedding was made, for the axis labels: "tsne", "pca" or "code".
    estimator_name : str or None, default=None

    Attributes
    ----------
    indices : ndarray of int or None
        Rows of X that were mapped (set by :meth:`from_estimator` when it subsamples).
    collections_ : list of matplotlib PathCollection
        One scatter per class (or a single one).
    legend_ : matplotlib Legend or None
    colorbar_ : matplotlib Colorbar or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from aekit import Autoencoder
    >>> from aekit.datasets import load_digits
    >>> from aekit.plotting import CodeMapDisplay
    >>> X, y = load_digits(return_y=True)
    >>> model = Autoencoder(16, max_iter=5, random_state=0).fit(X)
    >>> CodeMapDisplay.from_estimator(model, X, y, random_state=0)  # doctest: +SKIP
    """

    def __init__(self, *, embedding, y=None, method="tsne", estimator_name=None):
        self.embedding = embedding
        self.y = y
        self.method = method
        self.estimator_name = estimator_name
        self.indices = None

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, method="tsne", max_samples=2000, pca_components=50,
        perplexity=30.0, tsne_params=None, random_state=None, ax=None,
    ):
        """Encode ``X``, map the codes to 2-D and plot them.

        Parameters
        ----------
        estimator : fitted estimator with ``transform``
            An aekit autoencoder (or any transformer, e.g. PCA, for comparison).
        X : array-like
            Data the estimator accepts.
        y : array-like of shape (n_samples,) or None, default=None
            Labels to colour the points by.
        method : {"tsne", "pca"}, default="tsne"
            "tsne": ``sklearn.manifold.TSNE`` (``init="pca"``); "pca": the first two principal
            components of the codes. Codes with exactly two units are drawn as they are.
        max_samples : int or None, default=2000
            Map a random subset of this many rows (t-SNE is quadratic-ish in the rows); None
            maps all of them. The chosen rows are in ``indices``.
        pca_components : int, default=50
            Codes wider than this are first reduced to this many principal components before
            t-SNE (the usual speed-up; it removes little but noise).
        perplexity : float, default=30.0
            t-SNE's perplexity, lowered to ``(n_samples - 1) / 3`` for small samples.
        tsne_params : dict or None, default=None
            Other ``TSNE`` parameters (e.g. ``{"max_iter": 500}``).
        random_state : int, RandomState or None, default=None
            Seeds the subsample, t-SNE and the PCA.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        CodeMapDisplay
        """
        require_fitted(estimator, "CodeMapDisplay", attributes=("transform",))
        if method not in ("tsne", "pca"):
            raise ValueError(f"method must be 'tsne' or 'pca'; got {method!r}.")
        if max_samples is not None and (
            isinstance(max_samples, bool) or not isinstance(max_samples, Integral)
            or max_samples < 3
        ):
            raise ValueError(
                f"max_samples must be an int >= 3 or None; got {max_samples!r}."
            )
        if isinstance(pca_components, bool) or not isinstance(pca_components, Integral) or (
            pca_components < 2
        ):
            raise ValueError(f"pca_components must be an int >= 2; got {pca_components!r}.")
        if not isinstance(perplexity, Real) or not perplexity > 0:
            raise ValueError(f"perplexity must be a positive number; got {perplexity!r}.")
        n = len(X)
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != n:
                raise ValueError(
                    f"y must hold one label per row of X ({n}); got an array of shape {y.shape}."
                )
        rng = check_random_state(random_state)
        indices = None
        if max_samples is not None and n > max_samples:
            indices = np.sort(rng.choice(n, size=max_samples, replace=False))
            X = X.iloc[indices] if hasattr(X, "iloc") else np.asarray(X)[indices]
            y = None if y is None else y[indices]
        codes = np.asarray(estimator.transform(X), dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] < 1:
            raise ValueError(
                f"CodeMapDisplay needs 2-D codes; {estimator_name(estimator)} gives codes of "
                f"shape {codes.shape}."
            )
        if codes.shape[1] == 1:  # one code unit: its value, spread by a random jitter
            jitter = rng.uniform(-0.5, 0.5, size=(len(codes), 1))
            display = cls(embedding=np.hstack([codes, jitter]), y=y, method="code1",
                          estimator_name=estimator_name(estimator))
            display.indices = indices
            return display.plot(ax=ax)
        embedding, used = _embed(codes, method, pca_components, perplexity, tsne_params or {},
                                 rng)
        display = cls(embedding=embedding, y=y, method=used,
                      estimator_name=estimator_name(estimator))
        display.indices = indices
        return display.plot(ax=ax)

    def plot(self, ax=None, *, s=8.0, alpha=0.8, cmap=None):
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
        s : float, default=8.0
            Marker size.
        alpha : float, default=0.8
        cmap : str or None, default=None
            Colour map: "tab10"/"tab20" for classes, "viridis" for float labels.

        Returns
        -------
        CodeMapDisplay
        """
        embedding = as_float_array(self.embedding, "embedding", ndim=2)
        if embedding.shape[1] != 2:
            raise ValueError(f"embedding must have 2 columns; got shape {embedding.shape}.")
        figure, ax = new_axes(ax, "CodeMapDisplay")
        self.collections_, self.legend_, self.colorbar_ = [], None, None
        y = None if self.y is None else np.asarray(self.y)
        if y is None:
            self.collections_.append(ax.scatter(embedding[:, 0], embedding[:, 1], s=s,
                                                alpha=alpha, color="C0", linewidths=0))
        elif y.dtype.kind == "f" and len(np.unique(y)) > _MAX_CLASSES:
            points = ax.scatter(embedding[:, 0], embedding[:, 1], c=y, s=s, alpha=alpha,
                                cmap=cmap or "viridis", linewidths=0)
            self.collections_.append(points)
            self.colorbar_ = figure.colorbar(points, ax=ax, label="y")
        else:
            import matplotlib as mpl

            classes = np.unique(y)
            palette = mpl.colormaps[cmap or ("tab10" if len(classes) <= 10 else "tab20")]
            for i, label in enumerate(classes):
                mask = y == label
                self.collections_.append(ax.scatter(
                    embedding[mask, 0], embedding[mask, 1], s=s, alpha=alpha, linewidths=0,
                    color=palette(i % palette.N), label=str(label),
                ))
            self.legend_ = ax.legend(title="y", markerscale=2, fontsize="small",
                                     loc="center left", bbox_to_anchor=(1.0, 0.5))
        names = {"tsne": "t-SNE", "pca": "PC", "code": "code unit"}
        prefix = names.get(self.method, str(self.method))
        if self.method == "code1":
            ax.set_xlabel("the code (one unit)")
            ax.set_ylabel("random jitter")
        else:
            ax.set_xlabel(f"{prefix} 1")
            ax.set_ylabel(f"{prefix} 2")
        if self.estimator_name:
            what = {"tsne": "t-SNE of the codes", "pca": "PCA of the codes",
                    "code": "the codes", "code1": "the codes"}.get(self.method, "codes")
            ax.set_title(f"{self.estimator_name}: {what}")
        self.ax_, self.figure_ = ax, figure
        return self


def _embed(codes, method, pca_components, perplexity, tsne_params, rng):
    """2-D coordinates of the codes and the method actually used."""
    from sklearn.decomposition import PCA

    if codes.shape[1] == 2:
        return codes, "code"
    seed = int(rng.randint(2**31 - 1))
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(codes), "pca"
    from sklearn.manifold import TSNE

    if codes.shape[1] > pca_components:
        codes = PCA(min(pca_components, codes.shape[0]), random_state=seed).fit_transform(codes)
    n = codes.shape[0]
    params = {"init": "pca", "random_state": seed, **tsne_params}
    params.setdefault("perplexity", min(float(perplexity), (n - 1) / 3))
    return TSNE(2, **params).fit_transform(codes), "tsne"


class CodeActivationDisplay:
    """Mean activation of each code unit, against the sparsity target.

    For codes in [0, 1] (sigmoid codes, as ``KLSparsity`` makes them) the bars are the mean
    activation of each unit over X, the quantity ``rho_hat_j`` that ``KLSparsity`` pulls towards
    its target. Units whose mean is below ``dead_below`` are drawn as **dead** (they hardly ever
    fire) and units above ``always_on_above`` as **always on**; the target is a dashed line.
    For other codes (linear or ReLU, e.g. with ``L1Activity``) the bars are the mean absolute
    activation and only dead units are marked.

    Parameters
    ----------
    mean_activation : ndarray of shape (n_units,)
    target : float or None, default=None
    dead : ndarray of bool of shape (n_units,)
    always_on : ndarray of bool of shape (n_units,) or None, default=None
    absolute : bool, default=False
        Whether the bars are mean absolute activations (codes outside [0, 1]).
    estimator_name : str or None, default=None

    Attributes
    ----------
    bars_ : matplotlib BarContainer
    target_line_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from aekit import Autoencoder, KLSparsity
    >>> from aekit.datasets import load_digits
    >>> from aekit.plotting import CodeActivationDisplay
    >>> X = load_digits()
    >>> model = Autoencoder(32, constraints=(KLSparsity(0.05),), max_iter=5).fit(X)
    >>> CodeActivationDisplay.from_estimator(model, X)  # doctest: +SKIP
    """

    def __init__(self, *, mean_activation, target=None, dead, always_on=None, absolute=False,
                 estimator_name=None):
        self.mean_activation = mean_activation
        self.target = target
        self.dead = dead
        self.always_on = always_on
        self.absolute = absolute
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, X, *, target=None, dead_below=None, always_on_above=0.9,
                       ax=None):
        """Encode ``X`` and plot each unit's mean activation.

        Parameters
        ----------
        estimator : fitted estimator with ``transform``
            An aekit autoencoder.
        X : array-like
        target : float or None, default=None
            The sparsity target; None reads it from a ``KLSparsity`` in the estimator's
            ``constraints_`` (no line when there is none).
        dead_below : float or None, default=None
            Units with a mean (absolute) activation below it are dead. None: a tenth of the
            target, or 0.01 without a target.
        always_on_above : float, default=0.9
            Units of [0, 1] codes with a mean activation above it are always on.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        CodeActivationDisplay
        """
        require_fitted(estimator, "CodeActivationDisplay", attributes=("transform",))
        if target is None:
            for constraint in getattr(estimator, "constraints_", ()):
                if getattr(constraint, "name", None) == "kl_sparsity":
                    target = float(constraint.target)
        for name, value in (("target", target), ("dead_below", dead_below),
                            ("always_on_above", always_on_above)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, Real) or not value >= 0
            ):
                raise ValueError(f"{name} must be a non-negative number or None; got {value!r}.")
        codes = np.asarray(estimator.transform(X), dtype=np.float64)
        in_unit = codes.min() >= 0.0 and codes.max() <= 1.0
        mean = codes.mean(axis=0) if in_unit else np.abs(codes).mean(axis=0)
        if dead_below is None:
            dead_below = 0.1 * target if target else 0.01
        display = cls(
            mean_activation=mean,
            target=target,
            dead=mean < dead_below,
            always_on=(mean > always_on_above) if in_unit else None,
            absolute=not in_unit,
            estimator_name=estimator_name(estimator),
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the bars (blue: active, grey: dead, red: always on) and the target line.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        CodeActivationDisplay
        """
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator

        mean = as_float_array(self.mean_activation, "mean_activation", ndim=1)
        dead = np.asarray(self.dead, dtype=bool)
        on = (np.zeros_like(dead) if self.always_on is None
              else np.asarray(self.always_on, dtype=bool))
        if dead.shape != mean.shape or on.shape != mean.shape:
            raise ValueError(
                f"dead and always_on must have one flag per unit ({mean.size}); got shapes "
                f"{dead.shape} and {on.shape}."
            )
        figure, ax = new_axes(ax, "CodeActivationDisplay")
        colors = np.where(dead, "0.6", np.where(on, "C3", "C0"))
        units = np.arange(mean.size)
        self.bars_ = ax.bar(units, mean, color=list(colors), width=0.8)
        # dead bars are too short to see: mark them on the axis
        ax.plot(units[dead], np.zeros(int(dead.sum())), linestyle="none", marker="x",
                color="0.4", clip_on=False)
        handles = [Patch(color="C0", label=f"active ({int((~dead & ~on).sum())})"),
                   Patch(color="0.6", label=f"dead ({int(dead.sum())})")]
        if self.always_on is not None:
            handles.append(Patch(color="C3", label=f"always on ({int(on.sum())})"))
        self.target_line_ = None
        if self.target is not None:
            self.target_line_ = ax.axhline(self.target, color="k", linestyle="--", linewidth=1,
                                           label=f"sparsity target {self.target:g}")
            handles.append(self.target_line_)
        top = max(float(mean.max()), self.target or 0.0)
        ax.set_ylim(0.0, 1.3 * top if top > 0 else 1.0)  # headroom for the legend
        ax.legend(handles=handles, fontsize="small", loc="upper left", ncols=2)
        ax.set_xlabel("code unit")
        ax.set_ylabel("mean |activation|" if self.absolute else "mean activation")
        ax.set_xlim(-0.6, mean.size - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: mean activation per code unit")
        self.ax_, self.figure_ = ax, figure
        return self
