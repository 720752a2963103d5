"""What every aekit autoencoder shares: parameters, validation, scaling, seeding and the fit.

Subclasses say how to build the network (``_build_module``), how to size it
(``_resolve_architecture``) and what one sample looks like (``sample_shape_``: ``(n_features,)``
for dense models, ``(C, H, W)`` for images, ``(C, L)`` for sequences); inference
(``InferenceMixin``) and model files (``ModelFileMixin``) are shared too.
"""

from __future__ import annotations

import math
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import validate_data
from torch import Tensor, nn

from ..constraints import resolve_constraints
from ..io import FLOAT32_MAX, is_source
from ..training import Checkpointing, ReconstructionObjective, TrainingConfig, train
from ..training.checkpoint import saved_seed
from ..training.distributed import check_same_everywhere, init_from_env, rank_and_world
from ..training.runtime import Workload, choose_precision, choose_threads, torch_threads
from .data import ArrayData, BatchPlan, SourceData, check_source
from .inference import InferenceMixin
from .runtime import make_generator, resolve_device, seed_from_random_state
from .scaling import SCALINGS, Scaler, choose_scaling, input_range_of
from .state import ModelFileMixin
from .table_mode import TableMixin
from .validation import readable_input_errors, resolve_activations
from .variational import VariationalMixin


class BaseAutoencoder(TableMixin, InferenceMixin, VariationalMixin, ModelFileMixin,
                      ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the scikit-learn autoencoders; not for direct use."""

    #: what one sample is to the network: "vector" (dense models: flat rows) or "image"
    sample_kind: str = "vector"

    _parameter_constraints: dict = {
        "constraints": [list, tuple, None],
        "loss": [StrOptions({"mse", "mae", "bce"})],
        "scaling": [StrOptions(set(SCALINGS))],
        "output_activation": [StrOptions({"auto", "linear", "sigmoid"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "resume": ["boolean"],
    }

    # ------------------------------------------------------------------ hooks for subclasses
    def _build_module(
        self, n_features: int, code_activation: str, output_activation: str,
        bottleneck: nn.Module | None,
    ) -> nn.Module:
        raise NotImplementedError

    def _resolve_architecture(self, n_features: int) -> None:
        """Set the fitted architecture attributes (``n_components_``, ``sample_shape_``)."""
        raise NotImplementedError

    def _fit_scaler(self, stats, scaling: str) -> Scaler:
        """The scaler for ``scaling`` from ``ColumnStats`` (image models pool each channel)."""
        return Scaler.fit(stats, scaling)

    # ------------------------------------------------------------------ scikit-learn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        if (self.supports_tables and getattr(self, "missing", "error") == "mask"
                and not getattr(self, "tied_weights", False)):  # tied: input width = output's
            tags.input_tags.allow_nan = True
        return tags

    @property
    def _loss_fn(self):
        """The training loss: ``loss`` ("mse", "mae", "bce"), or the table's per-column loss."""
        table = getattr(self, "table_", None)
        return self.loss if table is None else table.loss

    @property
    def _n_features_out(self) -> int:
        return self.n_components_

    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        if self._table_mode(X, reset):
            return self._check_table(X, reset=reset)
        if reset and hasattr(self, "table_"):
            self.table_ = None
        # scikit-learn's finiteness check sums X: inf and -inf give numpy's "invalid value"
        # warning before its clear error
        with readable_input_errors("X"), np.errstate(invalid="ignore", over="ignore"):
            X = validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
            )
        if X.size and X.dtype == np.float64:
            peak = float(np.abs(X).max())
            if peak > FLOAT32_MAX:
                raise ValueError(
                    f"X has values too large for float32 (max |x| = {peak:.3g} > 3.4e38); "
                    "rescale X (e.g. divide by its maximum) before fitting."
                )
        return X

    def _check_source(self, X, *, reset: bool):
        """Open ``X`` as a source and check (``reset=False``) or record its features."""
        return check_source(self, X, reset=reset)

    def transform(self, X):
        """The codes of ``X`` (an array, or data on disk as for ``fit``): array of shape
        (n_samples, n_components). Defined here (not in ``InferenceMixin``) because
        scikit-learn's ``set_output`` wraps only the ``transform`` a class defines itself."""
        return self.infer(X, ("code",)).code

    def _to_network(self, X: Tensor) -> Tensor:
        """Rows of scaled features -> the network's input, ``(n, *sample_shape_)``."""
        return X.reshape(X.shape[0], *self.sample_shape_)

    def check_params(self):
        """Check the parameters and constraints as ``fit`` would, before any data: a bad value
        is refused in scikit-learn's words (the command line calls it before reading data)."""
        self._validate_params()
        constraints = resolve_constraints(self.constraints)
        self._bottleneck(constraints)
        if getattr(self, "n_components", None) is not None:
            for constraint in constraints:
                constraint.check_code_size(int(self.n_components))
        for constraint in constraints:
            constraint.check_loss(self.loss)
        return self

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` (``y`` is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk
            An array, or data streamed from disk a chunk at a time (memory bounded by the chunk
            size, not the number of rows): a path to a ``.npy`` file, a Parquet file or folder,
            a folder of images, an ``aekit.io`` source (``NpySource(path, chunk_rows=...)``),
            or a ``np.memmap``. Streamed epochs shuffle the order of the chunks and the rows
            within each chunk.
        y : ignored

        Returns
        -------
        self
        """
        return self._fit(X, incremental=False)

    def partial_fit(self, X, y=None):
        """Train one epoch on ``X`` (an array or data on disk, as for ``fit``), continuing.

        The first call (on an unfitted model) fixes the architecture and the scaling from the
        data it is given, so it should be representative; later calls keep both and continue
        the optimizer's state. ``n_iter_`` counts the calls and ``loss_curve_`` gets one value per
        call. Early stopping does not apply (no validation split), nor does greedy pretraining.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, *, incremental: bool):
        """The one fit path: ``fit`` (``incremental=False``) trains from scratch up to
        ``max_iter`` epochs; ``partial_fit`` trains one epoch, continuing a fitted model."""
        first = not incremental or not hasattr(self, "module_")
        if first:
            self._validate_params()
        data = self._fit_data(X, reset=first, scan=first,  # later calls need no statistics
                              digest=not incremental and self.checkpoint_dir is not None)
        if first:
            self._initialise(data)
        else:  # under torchrun, a loaded model joins the process group too
            init_from_env(torch.device(self.device_))
            if not hasattr(self, "_generator"):  # a loaded model: fresh streams and optimizer
                self._make_generators(seed_from_random_state(self.random_state))
            self._tell_constraints(self.constraints_)
        with torch_threads(choose_threads(self.n_threads, self._workload.flops(self.batch_size))):
            if incremental:
                self._train_one_epoch(data, first)
            else:
                self._train(data)
        return self

    def _fit_data(self, X, *, reset: bool, digest: bool = False, scan: bool = True):
        """``ArrayData`` for an array, ``SourceData`` for a path, source or ``np.memmap`` (a
        memmap is read into memory for greedy pretraining, which needs all rows anyway)."""
        in_memory = isinstance(X, np.memmap) and getattr(self, "pretraining", None) == "greedy"
        if is_source(X) and not in_memory:
            source = self._check_source(X, reset=reset)
            return SourceData(source, digest=digest, scan=scan, min_rows=2 if reset else 1)
        return ArrayData(self._check_X(X, reset=reset))

    def _batch_plan(self) -> BatchPlan:
        rank, world_size = rank_and_world()
        return BatchPlan(self.batch_size, self._generator, self._order_generator,
                         torch.device(self.device_), rank, world_size)

    def _train(self, data) -> None:
        config = self._training_config(self.max_iter, early_stopping=self.early_stopping)
        fraction = self.validation_fraction if self.early_stopping else None
        train_batches, val_batches = data.batches(self.scaler_, self._to_network,
                                                  self._batch_plan(), fraction)
        self._pretrain(data, train_batches, val_batches, config)
        result = train(
            self.module_, ReconstructionObjective(self._loss_fn, self.constraints_), train_batches,
            config, validation_data=val_batches, generator=self._generator,
            noise_generator=self._noise_generator, checkpointing=self._checkpointing(data),
        )
        self._optimizer = result.optimizer
        self.interrupted_ = result.interrupted  # Ctrl-C stopped it (the model is kept)
        self.n_iter_ = result.n_iter
        self.loss_curve_ = result.loss_curve
        self.best_loss_ = result.best_loss
        self.validation_scores_ = result.validation_scores
        self.best_validation_score_ = result.best_validation_score

    def _pretrain(self, data, train_batches, val_batches, config) -> None:
        """Greedy layer-wise pretraining (stacked autoencoders) where the model asks for it."""
        if not hasattr(self, "pretraining"):
            return
        self.pretraining_loss_curves_ = None
        if self.pretraining != "greedy":
            return
        from .pretraining import greedy_pretrain

        if data.streamed:
            raise ValueError(
                "pretraining='greedy' trains each level on the codes of the level below, "
                "which needs the data in memory; load X as an array, or stream it with "
                "pretraining=None."
            )
        self.pretraining_loss_curves_ = greedy_pretrain(
            self.module_, train_batches.data,
            None if val_batches is None else val_batches.data,
            loss=self._loss_fn, constraints=self.constraints_, input_range=self.input_range_,
            table=None if getattr(self, "table_", None) is None else self.table_.loss,
            batch_size=self.batch_size, device=torch.device(self.device_), config=config,
            generator=self._generator, noise_generator=self._noise_generator,
        )

    def _train_one_epoch(self, data, first: bool) -> None:
        if first:
            self.n_iter_, self.loss_curve_, self.best_loss_ = 0, [], float("inf")
            self.validation_scores_ = self.best_validation_score_ = None
            if hasattr(self, "pretraining"):
                self.pretraining_loss_curves_ = None
        batches, _ = data.batches(self.scaler_, self._to_network, self._batch_plan(), None)
        self.module_.train()
        with warnings.catch_warnings():  # one epoch by design, not a failure to converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = train(
                self.module_, ReconstructionObjective(self._loss_fn, self.constraints_), batches,
                self._training_config(1, early_stopping=False), generator=self._generator,
                noise_generator=self._noise_generator, optimizer=getattr(self, "_optimizer", None),
            )
        self._optimizer = result.optimizer
        self.n_iter_ += 1
        self.loss_curve_ = [*self.loss_curve_, *result.loss_curve]
        self.best_loss_ = min(self.best_loss_, result.best_loss)

    @staticmethod
    def _bottleneck(constraints) -> nn.Module | None:
        """The one bottleneck the constraints ask for (a second one is refused)."""
        shapers = [c for c in constraints if c.bottleneck() is not None]
        if len(shapers) > 1:
            names = ", ".join(type(c).__name__ for c in shapers)
            raise ValueError(
                f"Only one constraint may shape the code, but {names} all do; keep one of them."
            )
        return shapers[0].bottleneck() if shapers else None

    def _initialise(self, data) -> None:
        """From the training data: scaling, activations, architecture, constraints, the network
        on its device, and the random streams."""
        constraints = resolve_constraints(self.constraints)
        bottleneck = self._bottleneck(constraints)
        self._resolve_architecture(data.n_features)
        if getattr(self, "table_", None) is not None:  # the table encoder scales each column
            self.scaling_ = self.table_.scaling
            self.scaler_ = Scaler(np.zeros(data.n_features), np.ones(data.n_features))
        else:
            self.scaling_ = choose_scaling(data.stats, self.scaling, self.loss,
                                           self.output_activation)
            self.scaler_ = (data.robust_scaler() if self.scaling_ == "robust"
                            else self._fit_scaler(data.stats, self.scaling_))
        low, high = self.scaler_.scaled_range(data.stats)
        self.code_activation_, self.output_activation_ = resolve_activations(
            self, low, high, constraints)
        for constraint in constraints:
            constraint.check_code_size(self.n_components_)
            constraint.check_loss(self._loss_fn)
        device = init_from_env(resolve_device(self.device, type(self).__name__))
        check_same_everywhere([data.n_rows, data.n_features], "rows, features")
        seed = seed_from_random_state(self.random_state)
        if self.checkpoint_dir is not None and self.resume and self.random_state is None:
            seed = saved_seed(self._checkpointing(data)) or seed  # continue the saved streams
        self._make_generators(seed, device)
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            module = self._build_module(data.n_features, self.code_activation_,
                                        self.output_activation_, bottleneck)
        module.reset_parameters(self._generator)
        if hasattr(module.bottleneck, "generator"):  # a sampled code draws like the noise
            module.bottleneck.generator = self._noise_generator
        self.input_range_ = input_range_of(low, high)
        self._tell_constraints(constraints)
        for constraint in constraints:
            constraint.prepare(module)
        self.module_ = module.to(device)
        self.constraints_ = constraints
        self.device_ = str(device)
        n_steps = self.max_iter * math.ceil(data.n_rows / max(1, min(self.batch_size, data.n_rows)))
        autocast = choose_precision(self.precision, device, self._workload, self.batch_size,
                                    n_steps)
        self.precision_ = "bfloat16" if autocast is not None else "float32"
        self._optimizer = None

    def _tell_constraints(self, constraints) -> None:
        """What the constraints need to know of the data: its range and its table layout."""
        table = getattr(self, "table_", None)
        for constraint in constraints:
            constraint.set_input_range(getattr(self, "input_range_", None))
            constraint.set_table(None if table is None else table.loss)

    def _make_generators(self, seed: int, device: torch.device | None = None) -> None:
        device = torch.device(self.device_) if device is None else device
        self._seed = seed
        self._generator = make_generator(seed)  # shuffling, splits and weights: on the CPU
        self._order_generator = make_generator(seed + 1)  # streamed chunk order (all ranks)
        self._noise_generator = (  # input corruption: on the batches' device
            self._generator if device.type == "cpu" else make_generator(seed, device)
        )

    def _training_config(self, max_iter: int, *, early_stopping: bool) -> TrainingConfig:
        return TrainingConfig(
            max_iter=max_iter,
            learning_rate_init=float(self.learning_rate_init),
            tol=float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=early_stopping,
            autocast_dtype=torch.bfloat16 if self.precision_ == "bfloat16" else None,
            verbose=int(self.verbose),
            owner=type(self).__name__,
        )

    def _checkpointing(self, data) -> Checkpointing | None:
        """Checkpoint settings for this fit; the fingerprint ties a checkpoint to its run."""
        folder = getattr(self, "checkpoint_dir", None)
        if folder is None:
            return None
        skip = {"verbose", "checkpoint_dir", "checkpoint_every", "resume", "max_iter", "device",
                "n_threads"}
        params = {k: repr(v) for k, v in self.get_params(deep=False).items() if k not in skip}
        fingerprint = {
            "estimator": type(self).__name__,
            "params": params,
            "data_shape": [data.n_rows, data.n_features],
            "data_sha256": data.digest(self.scaler_),
        }
        checkpointing = Checkpointing(folder, every=self.checkpoint_every,
                                      resume=bool(self.resume), fingerprint=fingerprint)
        checkpointing.seed = getattr(self, "_seed", None)
        return checkpointing

    @property
    def _workload(self) -> Workload:
        """The size of the network's work per sample (measured once per network)."""
        cached = getattr(self, "_workload_cache", None)
        if cached is None or cached[0] is not self.module_:
            cached = self._workload_cache = (self.module_,
                                             Workload(self.module_, self.sample_shape_))
        return cached[1]
