"""What every aekit estimator shares: validation, scaling, seeding, the fit, and inference.

Subclasses say how to build the network (``_build_module``) and, for images, how to lay out the
network's input (``_to_network``/``_from_network``); everything else lives here once.
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import Tensor, nn

from ..constraints import resolve_constraints
from ..io.sources import is_source
from ..training import (
    Checkpointing,
    ReconstructionObjective,
    TrainingConfig,
    map_batches,
    per_sample_error,
    train,
)
from ..training.checkpoint import saved_seed
from ..training.distributed import init_from_env, rank_and_world
from ..training.runtime import Workload, choose_precision, choose_threads, torch_threads
from ._fit_data import ArrayData, StreamedData, check_source, over_rows
from ._runtime import make_generator, resolve_device, seed_from_random_state
from ._scaling import (
    SCALINGS,
    apply_scaler,
    choose_scaling,
    fit_scaler,
    input_range_of,
    scaled_range,
    undo_scaler,
)
from ._validation import readable_input_errors

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the scikit-learn autoencoders; not for direct use."""

    _parameter_constraints: dict = {
        "constraints": [list, tuple, None],
        "loss": [StrOptions({"mse", "bce"})],
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
        code_layer: nn.Module | None,
    ) -> nn.Module:
        raise NotImplementedError

    def _resolve_architecture(self, n_features: int) -> None:
        """Set the fitted architecture attributes (e.g. ``n_components_``) from the data."""
        raise NotImplementedError

    def _fit_scaler(self, stats, scaling: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature ``(offset, factor)`` for ``scaling`` from ``ColumnStats`` (image models
        pool each channel)."""
        return fit_scaler(stats, scaling)

    def _to_network(self, X: Tensor) -> Tensor:
        """Rows of scaled features -> the network's input layout (identity for dense models)."""
        return X

    def _from_network(self, X: Tensor) -> Tensor:
        return X

    # ------------------------------------------------------------------ scikit-learn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self) -> int:
        return self.n_components_

    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        with readable_input_errors("X"):
            X = validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
            )
        if X.size and X.dtype == np.float64:
            peak = float(np.abs(X).max())
            if peak > _FLOAT32_MAX:
                raise ValueError(
                    f"X has values too large for float32 (max |x| = {peak:.3g} > 3.4e38); "
                    "rescale X (e.g. divide by its maximum) before fitting."
                )
        return X

    def _network_input(self, X: np.ndarray) -> Tensor:
        scaled = apply_scaler(X, self._scale_offset, self._scale_factor)
        if not np.isfinite(scaled).all():
            raise ValueError(
                "X has values that overflow float32 once scaled like the training data (they "
                "lie far outside its range); check those rows or refit on comparable data."
            )
        return self._to_network(torch.from_numpy(np.ascontiguousarray(scaled)))

    @staticmethod
    def _check_finite(result: Tensor, what: str) -> Tensor:
        if not bool(torch.isfinite(result).all()):
            rows = torch.nonzero(~torch.isfinite(result.reshape(result.shape[0], -1)).all(1))
            first = ", ".join(str(int(r)) for r in rows[:5, 0])
            raise ValueError(
                f"The model's {what} overflowed for some rows of X (first: {first}); their "
                "values are far outside the training data's range."
            )
        return result

    # ------------------------------------------------------------------ fit
    def _resolve_activations(self, low: float, high: float, constraints) -> tuple[str, str]:
        """Code and output activations; ``low``/``high``: the range of the scaled data."""
        code_acts = {c.code_activation for c in constraints if c.code_activation}
        if len(code_acts) > 1:
            raise ValueError(
                f"The constraints {constraints} need different code activations {code_acts}; "
                "drop one of them."
            )
        code_activation = code_acts.pop() if code_acts else "linear"
        lo, hi = low, high
        in_unit = lo >= 0.0 and hi <= 1.0
        output = self.output_activation
        if output == "auto":
            output = "sigmoid" if in_unit else "linear"
        if output == "sigmoid" and not in_unit:
            raise ValueError(
                f"output_activation='sigmoid' can only produce values in (0, 1), but X after "
                f"scaling={self.scaling_!r} ranges over [{lo:.3g}, {hi:.3g}]. Use "
                "scaling='minmax' or output_activation='linear'."
            )
        if self.loss == "bce":
            if not in_unit:
                raise ValueError(
                    f"loss='bce' needs X in [0, 1]; X after scaling={self.scaling_!r} ranges over "
                    f"[{lo:.3g}, {hi:.3g}]. Use loss='mse' or scaling='minmax'."
                )
            if output != "sigmoid":
                raise ValueError(
                    "loss='bce' needs output_activation='sigmoid' (or 'auto'); got 'linear'."
                )
        return code_activation, output

    def _fit_data(self, X, *, reset: bool, digest: bool = False, scan: bool = True):
        """``ArrayData`` for an array, ``StreamedData`` for a path, source or ``np.memmap`` (a
        memmap is read into memory for greedy pretraining, which needs all rows anyway)."""
        in_memory = isinstance(X, np.memmap) and getattr(self, "pretraining", None) == "greedy"
        if is_source(X) and not in_memory:
            source = self._check_source(X, reset=reset)
            return StreamedData(source, digest=digest, scan=scan, min_rows=2 if reset else 1)
        return ArrayData(self._check_X(X, reset=reset))

    def _check_source(self, X, *, reset: bool):
        """Open ``X`` as a source and check (``reset=False``) or record its features."""
        return check_source(self, X, reset=reset)

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
            for constraint in self.constraints_:
                constraint.set_input_range(getattr(self, "input_range_", None))
        with torch_threads(choose_threads(self.n_threads, self._workload.flops(self.batch_size))):
            if incremental:
                self._train_one_epoch(data, first)
            else:
                self._train(data)
        return self

    def _train(self, data) -> None:
        device, generator = torch.device(self.device_), self._generator
        rank, world_size = rank_and_world()
        config = self._training_config(self.max_iter, early_stopping=self.early_stopping)
        fraction = self.validation_fraction if self.early_stopping else None
        train_batches, val_batches = data.batches(
            self, generator, validation_fraction=fraction, device=device, rank=rank,
            world_size=world_size,
        )
        self._pretrain(data, train_batches, val_batches, config)
        result = train(
            self.module_,
            ReconstructionObjective(self.loss, self.constraints_),
            train_batches,
            config,
            validation_data=val_batches,
            generator=generator,
            noise_generator=self._noise_generator,
            checkpointing=self._checkpointing(data),
        )
        self._optimizer = result.optimizer
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
        from ._pretraining import greedy_pretrain

        if data.streamed:
            raise ValueError(
                "pretraining='greedy' trains each level on the codes of the level below, "
                "which needs the data in memory; load X as an array, or stream it with "
                "pretraining=None."
            )
        self.pretraining_loss_curves_ = greedy_pretrain(
            self.module_, train_batches.data,
            None if val_batches is None else val_batches.data,
            loss=self.loss, constraints=self.constraints_, input_range=self.input_range_,
            batch_size=self.batch_size, device=torch.device(self.device_), config=config,
            generator=self._generator, noise_generator=self._noise_generator,
        )

    def _train_one_epoch(self, data, first: bool) -> None:
        if first:
            self.n_iter_, self.loss_curve_, self.best_loss_ = 0, [], float("inf")
            self.validation_scores_ = self.best_validation_score_ = None
            if hasattr(self, "pretraining"):
                self.pretraining_loss_curves_ = None
        rank, world_size = rank_and_world()
        batches, _ = data.batches(self, self._generator, validation_fraction=None,
                                  device=torch.device(self.device_), rank=rank,
                                  world_size=world_size)
        self.module_.train()
        with warnings.catch_warnings():  # one epoch by design, not a failure to converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = train(
                self.module_, ReconstructionObjective(self.loss, self.constraints_), batches,
                self._training_config(1, early_stopping=False), generator=self._generator,
                noise_generator=self._noise_generator, optimizer=getattr(self, "_optimizer", None),
            )
        self._optimizer = result.optimizer
        self.n_iter_ += 1
        self.loss_curve_ = [*self.loss_curve_, *result.loss_curve]
        self.best_loss_ = min(self.best_loss_, result.best_loss)

    @property
    def _workload(self) -> Workload:
        """The size of the network's work per sample (measured once per network)."""
        cached = getattr(self, "_workload_cache", None)
        if cached is None or cached[0] is not self.module_:
            sample = self._to_network(torch.zeros(1, self.n_features_in_)).shape[1:]
            cached = self._workload_cache = (self.module_, Workload(self.module_, sample))
        return cached[1]

    def _initialise(self, data) -> None:
        """From the training data: scaling, activations, architecture, constraints, the network
        on its device, and the random streams."""
        constraints = resolve_constraints(self.constraints)
        code_layers = [m for m in (c.code_layer() for c in constraints) if m is not None]
        if len(code_layers) > 1:
            raise ValueError("Only one constraint may act on the code layer (e.g. one TopK).")
        self.scaling_ = choose_scaling(data.stats, self.scaling, self.loss, self.output_activation)
        self._scale_offset, self._scale_factor = self._fit_scaler(data.stats, self.scaling_)
        low, high = scaled_range(data.stats, self._scale_offset, self._scale_factor)
        self.code_activation_, self.output_activation_ = self._resolve_activations(
            low, high, constraints
        )
        self._resolve_architecture(data.n_features)
        device = init_from_env(resolve_device(self.device, type(self).__name__))
        seed = seed_from_random_state(self.random_state)
        if self.checkpoint_dir is not None and self.resume and self.random_state is None:
            seed = saved_seed(self._checkpointing(data)) or seed  # continue the saved streams
        self._make_generators(seed, device)
        with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
            module = self._build_module(
                data.n_features, self.code_activation_, self.output_activation_,
                code_layers[0] if code_layers else None,
            )
        module.reset_parameters(self._generator)
        self.input_range_ = input_range_of(low, high)
        for constraint in constraints:
            constraint.set_input_range(self.input_range_)
            constraint.prepare(module)
        self.module_ = module.to(device)
        self.constraints_ = constraints
        self.device_ = str(device)
        autocast = choose_precision(self.precision, device, self._workload, self.batch_size)
        self.precision_ = "bfloat16" if autocast is not None else "float32"
        self._optimizer = None

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
        skip = {"verbose", "checkpoint_dir", "checkpoint_every", "resume", "max_iter", "device"}
        params = {k: repr(v) for k, v in self.get_params(deep=False).items() if k not in skip}
        fingerprint = {
            "estimator": type(self).__name__,
            "params": params,
            "data_shape": [data.n_rows, data.n_features],
            "data_sha256": data.digest(self),
        }
        checkpointing = Checkpointing(folder, every=self.checkpoint_every,
                                      resume=bool(self.resume), fingerprint=fingerprint)
        checkpointing.seed = getattr(self, "_seed", None)
        return checkpointing

    # ------------------------------------------------------------------ inference
    def _inference_batch_size(self) -> int:
        return 512

    def _map(self, fn, X: Tensor) -> Tensor:
        """Batched inference in chunks of one fixed size, the last one zero-padded.

        Matrix-product and convolution kernels pick their blocking by batch size, which moves
        results by a float32 ulp; a fixed size makes each row's output independent of the rows
        it came with (the same row gives the same code alone, in a subset or in any order).
        """
        size = self._inference_batch_size()
        memory_format = getattr(self, "_memory_format", torch.contiguous_format)

        def padded(batch: Tensor) -> Tensor:
            n = batch.shape[0]
            if n < size:  # (n, ...) -> (size, ...): rows, images, or codes for decode
                batch = torch.cat([batch, batch.new_zeros((size - n, *batch.shape[1:]))])
                if batch.dim() == 4:
                    batch = batch.contiguous(memory_format=memory_format)
            return fn(batch)[:n]

        threads = choose_threads(self.n_threads, self._workload.flops(size))
        with torch_threads(threads):
            return map_batches(self.module_, padded, X, size, self.device_)

    @staticmethod
    def _as_dtype(result: Tensor, like: np.ndarray) -> np.ndarray:
        dtype = like.dtype if like.dtype in (np.float32, np.float64) else np.float64
        return result.numpy().astype(dtype, copy=False)

    def _over_rows(self, X, compute) -> np.ndarray:
        """``compute(rows)`` on a checked array, or chunk by chunk on data streamed from disk
        (memory: one chunk and the result)."""
        return over_rows(X, compute, check_array=lambda X: self._check_X(X, reset=False),
                         check_source=lambda X: self._check_source(X, reset=False))

    def transform(self, X):
        """The codes of ``X`` (an array, or data on disk as for ``fit``): array of shape
        (n_samples, n_components)."""
        check_is_fitted(self)

        def codes_of(rows: np.ndarray) -> np.ndarray:
            codes = self._map(self.module_.encode, self._network_input(rows))
            return self._as_dtype(self._check_finite(codes, "codes"), rows)

        return self._over_rows(X, codes_of)

    def inverse_transform(self, X):
        """Decode codes back to the input space (original units)."""
        check_is_fitted(self)
        codes = self._check_codes(X)
        recon = self._map(self.module_.decode, torch.from_numpy(codes.astype(np.float32)))
        recon = self._from_network(recon).flatten(1).numpy()
        return undo_scaler(recon, self._scale_offset, self._scale_factor).astype(
            codes.dtype, copy=False
        )

    def _check_codes(self, codes) -> np.ndarray:
        from sklearn.utils import check_array

        with readable_input_errors("codes"):
            codes = check_array(codes, dtype=[np.float64, np.float32], input_name="codes")
        if codes.shape[1] != self.n_components_:
            raise ValueError(
                f"The codes have {codes.shape[1]} columns, but {type(self).__name__} has "
                f"n_components_={self.n_components_}; pass the output of transform()."
            )
        return codes

    def reconstruct(self, X):
        """``inverse_transform(transform(X))`` in one pass: the model's reconstruction of X."""
        check_is_fitted(self)

        def reconstruction_of(rows: np.ndarray) -> np.ndarray:
            recon = self._map(lambda x: self.module_(x)[0], self._network_input(rows))
            recon = self._from_network(self._check_finite(recon, "reconstruction"))
            recon = undo_scaler(recon.flatten(1).numpy(), self._scale_offset, self._scale_factor)
            return recon.astype(rows.dtype if rows.dtype in (np.float32, np.float64)
                                else np.float64, copy=False)

        return self._over_rows(X, reconstruction_of)

    def reconstruction_error(self, X):
        """Per-sample reconstruction error (positive; higher is worse), float64 (n_samples,).

        The mean over features of the training loss (squared error, or cross-entropy for
        ``loss="bce"``), measured in the scaled space the network sees. ``X``: an array, or
        data on disk as for ``fit`` (scored a chunk at a time).
        """
        check_is_fitted(self)

        def errors_of(rows: np.ndarray) -> np.ndarray:
            errors = self._map(  # in float64 on the CPU: squares of large errors overflow float32
                lambda x: per_sample_error(self.module_(x)[0].cpu().double(), x.cpu().double(),
                                           self.loss),
                self._network_input(rows),
            )
            return self._check_finite(errors, "reconstruction error").numpy()  # float64

        return self._over_rows(X, errors_of)

    def score_samples(self, X):
        """Negative per-sample reconstruction error: higher is more normal."""
        return -self.reconstruction_error(X)

    def score(self, X, y=None) -> float:
        """Mean of ``score_samples``: higher is better, for ``GridSearchCV`` without labels."""
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------------ model files
    def save(self, path, *, metadata: dict[str, Any] | None = None) -> None:
        """Write the fitted model to one safetensors file (weights + JSON config); no pickle.

        ``metadata``: JSON-able notes kept in the file, back as ``metadata_`` after loading.
        """
        from ..io.model_file import save_model

        save_model(self, path, metadata)

    def _fitted_state(self) -> dict[str, Any]:
        """JSON-able fitted attributes, for model files."""
        names = ["n_features_in_", "n_components_", "scaling_", "code_activation_",
                 "output_activation_", "n_iter_", "loss_curve_", "best_loss_",
                 "validation_scores_", "best_validation_score_", "precision_"]
        state = {name: getattr(self, name) for name in names}
        state["input_range_"] = getattr(self, "input_range_", None)
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        state["constraints_"] = [c.to_config() for c in self.constraints_]
        return state

    def _restore_fitted_state(self, state: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        for name, value in state.items():
            if name == "feature_names_in_":
                value = np.asarray(value, dtype=object)
            elif name == "constraints_":
                value = resolve_constraints(value)
            elif name == "input_range_" and value is not None:
                value = tuple(value)
            setattr(self, name, value)
        self._scale_offset = tensors.pop("scaler.offset").double().numpy()
        self._scale_factor = tensors.pop("scaler.factor").double().numpy()
        code_layers = [m for m in (c.code_layer() for c in self.constraints_) if m is not None]
        with torch.random.fork_rng(devices=[]):
            module = self._build_module(
                self.n_features_in_, self.code_activation_, self.output_activation_,
                code_layers[0] if code_layers else None,
            )
        weights = {k.removeprefix("module."): v for k, v in tensors.items()}
        module.load_state_dict(weights)
        device = resolve_device(self.device, type(self).__name__)
        self.module_ = module.to(device).eval()
        self.device_ = str(device)

    def _tensors(self) -> dict[str, Tensor]:
        tensors = {f"module.{k}": v.detach().cpu() for k, v in self.module_.state_dict().items()}
        tensors["scaler.offset"] = torch.from_numpy(np.asarray(self._scale_offset, np.float64))
        tensors["scaler.factor"] = torch.from_numpy(np.asarray(self._scale_factor, np.float64))
        return tensors
