"""``Autoencoder``: the dense autoencoder as a scikit-learn transformer."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..nn import ACTIVATIONS, AutoencoderNet, DenseDecoder, DenseEncoder, TiedDenseDecoder
from ..saving import register_estimator
from .base import BaseAutoencoder
from .state import as_activations, as_counts, as_curves, as_table


@register_estimator
class Autoencoder(BaseAutoencoder):
    """A dense autoencoder: ``n_features -> hidden... -> n_components -> ...hidden -> n_features``.

    The seed's simple autoencoder is ``Autoencoder(n_components=k, hidden_layer_sizes=())``;
    constraints (noise, sparsity, ...) compose as a tuple, e.g.
    ``Autoencoder(64, constraints=(GaussianNoise(0.3), KLSparsity(0.05)))``.

    Parameters
    ----------
    n_components : int or None, default=None
        Size of the code. None: ``max(1, min(32, n_features // 2))``. It may exceed the number of
        features (an overcomplete code); then add a constraint such as ``KLSparsity`` or noise,
        or the model learns little more than the identity.
    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Encoder layers before the code; the decoder mirrors them. ``()`` is the seed's one
        hidden layer model. "auto": one layer of ``min(256, max(2 * n_components, n_features))``
        units (784 inputs, 32 components: 784-256-32-256-784).
    activation : str or tuple of str, default="relu"
        Activation of the hidden layers (one name, or one per encoder layer; the decoder
        mirrors). The code layer is linear unless a constraint needs otherwise (``KLSparsity``
        makes it sigmoid).
    tied_weights : bool, default=False
        Decoder weights are the transposed encoder weights (one shared storage; only the decoder
        biases are its own), halving the weights to learn.
    pretraining : {None, "greedy"}, default=None
        None: train the whole network end to end. "greedy": first train each level as a
        shallow autoencoder on the codes of the level below (input noise applied at every level,
        penalties at the code level: the stacked denoising autoencoder), then fine-tune end to
        end. Each level runs up to ``max_iter`` epochs; see ``pretraining_loss_curves_``.
    categorical_features : list of str or int, default=None
        Columns to treat as categorical although they hold numbers (integer codes); text,
        ``category`` and boolean columns of a DataFrame are categorical anyway. Giving it puts
        the model in table mode (see ``table_``).
    missing : {"mask", "error"}, default="mask"
        "mask": missing values (NaN, None, ``pd.NA``, NaT) are allowed in fit and in every
        method: a missing numeric entry reaches the network as 0 (its column's centre) with a
        missing-indicator input, a missing category as an all-zero one-hot block, and missing
        entries count in no loss; a row's error is the mean over its observed entries.
        "error": refuse them, as before.
    constraints : tuple, default=()
        Constraint objects or names from ``aekit.constraints``; they are cloned at fit.
    loss : {"mse", "mae", "bce"}, default="mse"
        Squared error, absolute error (robust to outliers; sharper denoised images), or the
        seed's cross-entropy (needs X in [0, 1] after scaling). Tables
        with text or gaps use per-column losses (squared error for numbers, cross-entropy for
        categories, each divided by its baseline; see ``aekit.estimators.table``).
    scaling : {"auto", "standard", "robust", "minmax", "none"}, default="auto"
        How X is scaled before the network sees it (outputs are scaled back). "auto" keeps data
        already in [0, 1] (images, probabilities) and standardizes other data (min-max scales
        it with ``loss="bce"`` or a sigmoid output). "robust": median and IQR / 1.349 (data in
        memory). In table mode numeric columns are standardized ("robust" and "none" apply too).
    output_activation : {"auto", "linear", "sigmoid"}, default="auto"
        "auto": sigmoid when the scaled data lies in [0, 1], else linear.
    max_iter : int, default=200
        Maximum number of epochs.
    batch_size : int, default=256
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its reconstruction score stops
        improving and restore the best weights.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
        Epochs without a relative improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Relative improvement of the monitored loss/score that counts as progress.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Training precision. "auto" uses bf16 (fp32 master weights: autocast, or on a CPU for
        dense layers fp32 tensors whose matrix products oneDNN computes in bf16) only where it
        is faster and as accurate: CUDA GPUs with bf16, and CPUs with AVX512-BF16/AMX for models
        and batches with enough matrix work per step (about 1e8 floating-point operations,
        e.g. 784-256-32 at batch 256; see ``aekit.training.runtime``). The choice depends on the
        hardware, the layer sizes and the batch size only (never on a timing) and is recorded in
        ``precision_``. Inference is always float32.
    n_threads : int or None, default=None
        torch intra-op threads for fitting and inference. None: one thread for small work
        (below about 2e7 floating-point operations per step, where a second thread only adds
        waiting), else the threads torch has (``torch.get_num_threads()``); -1: always those;
        an int: that many. The process's own setting is restored when each call returns. On
        a machine shared with other busy processes, ``n_threads=1`` avoids threads that spin
        waiting for a taken core.
    random_state : int, RandomState or None, default=None
        Seeds weights, shuffling and noise through a private generator (global RNGs untouched).
    device : str, default="auto"
        "auto" (CUDA, else MPS, else CPU), "cpu", "cuda", "cuda:N" or "mps".
    verbose : int, default=0
        1 shows a progress bar over epochs.
    checkpoint_dir : str or path, default=None
        Save the whole training state (weights, optimizer, RNG states) to
        ``checkpoint_dir/checkpoint.safetensors`` every ``checkpoint_every`` epochs, atomically.
    checkpoint_every : int, default=1
    resume : bool, default=False
        Continue from the checkpoint in ``checkpoint_dir`` if there is one (after a crash or a
        kill): on the CPU with the same data and seed, the result equals an uninterrupted fit.
        A checkpoint from a different run (data, parameters, seed) is refused.

    Attributes
    ----------
    module_ : aekit.nn.AutoencoderNet
        The trained torch module (in eval mode).
    n_components_ : int
    hidden_layer_sizes_ : tuple of int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    table_ : aekit.estimators.table.TableEncoder or None
        In table mode (X had text, booleans, dates or gaps, or ``categorical_features`` was
        given): each column's kind and encoding. ``reconstruct`` and ``inverse_transform`` then
        return DataFrames with X's columns and dtypes. None for plain numeric data.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Training objective per epoch (per-sample loss summed over features, plus penalties).
    pretraining_loss_curves_ : list of list of float or None
        With ``pretraining="greedy"``: the loss curve of each level's shallow autoencoder,
        bottom up (``loss_curve_`` is then the fine-tuning). None otherwise.
    validation_scores_ : list of float or None
        Negative mean reconstruction error on the held-out part per epoch (early stopping only).
    best_validation_score_ : float or None
    scaling_, output_activation_, code_activation_, precision_, device_ : str
        What "auto" resolved to.
    constraints_ : tuple
        The fitted copies of the constraints.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from aekit import Autoencoder
    >>> X = load_digits().data / 16
    >>> codes = Autoencoder(n_components=8, max_iter=5, random_state=0).fit_transform(X)
    >>> codes.shape
    (1797, 8)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_layer_sizes": [StrOptions({"auto"}), list, tuple],
        "activation": [StrOptions(set(ACTIVATIONS)), list, tuple],
        "tied_weights": ["boolean"],
        "pretraining": [StrOptions({"greedy"}), None],
        "categorical_features": [list, tuple, None],
        "missing": [StrOptions({"mask", "error"})],
    }
    supports_tables = True
    _fitted_schema = {"hidden_layer_sizes_": as_counts, "activations_": as_activations,
                      "pretraining_loss_curves_": as_curves, "table_": as_table}

    def __init__(
        self,
        n_components=None,
        *,
        hidden_layer_sizes="auto",
        activation="relu",
        tied_weights=False,
        pretraining=None,
        categorical_features=None,
        missing="mask",
        constraints=(),
        loss="mse",
        scaling="auto",
        output_activation="auto",
        max_iter=200,
        batch_size=256,
        learning_rate_init=1e-3,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.tied_weights = tied_weights
        self.pretraining = pretraining
        self.categorical_features = categorical_features
        self.missing = missing
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

    def _resolve_architecture(self, n_features: int) -> None:
        self.sample_shape_ = (int(n_features),)
        k = self.n_components  # a table's code is sized from its columns, not its encoding
        default = max(1, min(32, self.n_features_in_ // 2))
        self.n_components_ = int(k) if k is not None else default
        if isinstance(self.hidden_layer_sizes, str):  # "auto"
            self.hidden_layer_sizes_ = (min(256, max(2 * self.n_components_, n_features)),)
        else:
            sizes = tuple(self.hidden_layer_sizes)
            if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0
                       for s in sizes):
                raise ValueError(
                    "hidden_layer_sizes must be 'auto' or a tuple of positive ints, e.g. "
                    f"(256, 64); got {self.hidden_layer_sizes!r}."
                )
            self.hidden_layer_sizes_ = tuple(int(s) for s in sizes)
        activation = self.activation
        if not isinstance(activation, str):
            activation = tuple(activation)
            if len(activation) != len(self.hidden_layer_sizes_) or not all(
                a in ACTIVATIONS for a in activation
            ):
                raise ValueError(
                    f"activation must be one name or one per hidden layer "
                    f"({len(self.hidden_layer_sizes_)}) from {sorted(ACTIVATIONS)}; got "
                    f"{self.activation!r}."
                )
        self.activations_ = activation

    def _build_module(
        self, n_features: int, code_activation: str, output_activation: str,
        bottleneck: nn.Module | None,
    ) -> AutoencoderNet:
        hidden = list(self.hidden_layer_sizes_)
        act = self.activations_
        decoder_act = act if isinstance(act, str) else list(reversed(act))
        width = self.n_components_ if bottleneck is None else bottleneck.encoder_width(
            self.n_components_)
        table = getattr(self, "table_", None)
        n_outputs = n_features if table is None else table.n_outputs
        encoder = DenseEncoder(n_features, hidden, width, act, code_activation)
        if self.tied_weights:
            if n_outputs != n_features:
                raise ValueError(
                    "tied_weights=True needs a decoder that mirrors the encoder exactly; X has "
                    "text or missing values (NaN), whose table encoding has other widths. Use "
                    "tied_weights=False, or fill the gaps."
                )
            decoder = TiedDenseDecoder(encoder, decoder_act, output_activation,
                                       code_size=self.n_components_)  # variational: the means
        else:
            decoder = DenseDecoder(
                self.n_components_, list(reversed(hidden)), n_outputs, decoder_act,
                output_activation,
            )
        return AutoencoderNet(encoder, decoder, bottleneck)
