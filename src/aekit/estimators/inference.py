"""One inference path for every autoencoder: ``infer`` and the methods built on it.

``infer(X, outputs)`` runs the network once over ``X`` (an array, or data on disk a chunk at a
time) in fixed-size batches and returns what was asked, as numpy arrays of rows:

- ``"code"``: the codes (``transform``),
- ``"reconstruction"``: the reconstruction in the data's units, rows of ``n_features``
  (``reconstruct``),
- ``"error"``: each row's mean reconstruction loss in the scaled space, float64
  (``reconstruction_error``, the anomaly score of ``score_samples``),
- ``"feature_errors"``: each entry's reconstruction loss in the scaled space, float64 rows of
  ``n_features`` (explanations).

``OutlierDetector`` scores its members through ``infer`` too, so every score comes from the
same code.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from ..training import elementwise_loss, map_batches, per_sample_error_float64
from ..training.runtime import choose_threads, torch_threads
from .data import rows_of
from .validation import readable_input_errors

OUTPUTS = ("code", "reconstruction", "error", "feature_errors")


class InferenceMixin:
    """Inference for ``BaseAutoencoder`` (see the module docstring)."""

    def _inference_batch_size(self) -> int:
        return 512

    def _network_input(self, X: np.ndarray) -> Tensor:
        scaled = self.scaler_.apply(X, copy=False)
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

    def _map(self, fn, X: Tensor):
        """Batched inference in chunks of one fixed size, the last one zero-padded.

        Matrix-product and convolution kernels pick their blocking by batch size, which moves
        results by a float32 ulp; a fixed size makes each row's output independent of the rows
        it came with (the same row gives the same code alone, in a subset or in any order).
        """
        size = self._inference_batch_size()
        memory_format = getattr(self, "_memory_format", torch.contiguous_format)

        def padded(batch: Tensor):
            n = batch.shape[0]
            if n < size:  # (n, ...) -> (size, ...): rows, images, or codes for decode
                batch = torch.cat([batch, batch.new_zeros((size - n, *batch.shape[1:]))])
                if batch.dim() == 4:
                    batch = batch.contiguous(memory_format=memory_format)
            out = fn(batch)
            return {k: v[:n] for k, v in out.items()} if isinstance(out, dict) else out[:n]

        threads = choose_threads(self.n_threads, self._workload.flops(size))
        with torch_threads(threads):
            return map_batches(self.module_, padded, X, size, self.device_)

    def _batch_outputs(self, x: Tensor, outputs: tuple[str, ...]) -> dict[str, Tensor]:
        """The requested outputs of one batch of network inputs, from one forward pass."""
        if outputs == ("code",):
            return {"code": self.module_.encode(x)}
        x_hat, code = self.module_(x)
        out: dict[str, Tensor] = {}
        if "code" in outputs:
            out["code"] = code
        if "reconstruction" in outputs:
            out["reconstruction"] = x_hat
        loss = self._loss_fn
        if "error" in outputs:  # float64, on the CPU
            out["error"] = per_sample_error_float64(x_hat, x, loss)
        if "feature_errors" in outputs:
            out["feature_errors"] = elementwise_loss(x_hat, x, loss)
        return out

    def infer(self, X, outputs=("code",)) -> Bunch:
        """Run the network once over ``X`` and return the requested ``outputs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk as for ``fit``
            (inferred a chunk at a time; memory holds a chunk and the results)
        outputs : sequence of str, default=("code",)
            Any of "code", "reconstruction", "error", "feature_errors" (module docstring).

        Returns
        -------
        sklearn.utils.Bunch
            One array per requested output, rows in the order of ``X``.
        """
        check_is_fitted(self)
        outputs = tuple(outputs)
        unknown = sorted(set(outputs) - set(OUTPUTS))
        if unknown or not outputs:
            raise ValueError(f"outputs must be some of {list(OUTPUTS)}; got {list(outputs)}.")

        def compute(rows: np.ndarray) -> dict[str, np.ndarray]:
            raw = self._map(lambda x: self._batch_outputs(x, outputs), self._network_input(rows))
            return {name: self._to_numpy(name, raw[name], rows) for name in outputs}

        found = rows_of(X, compute, check_array=lambda X: self._check_X(X, reset=False),
                        check_source=lambda X: self._check_source(X, reset=False))
        return Bunch(**found)

    def _to_numpy(self, name: str, value: Tensor, rows: np.ndarray) -> np.ndarray:
        dtype = rows.dtype if rows.dtype in (np.float32, np.float64) else np.float64
        if name == "code":
            return self._check_finite(value, "codes").numpy().astype(dtype, copy=False)
        if name == "reconstruction":
            flat = self._check_finite(value, "reconstruction").flatten(1).numpy()
            if getattr(self, "table_", None) is not None:  # the network's outputs; see decode
                return flat
            return self.scaler_.undo(flat).astype(dtype, copy=False)
        if name == "error":
            return self._check_finite(value, "reconstruction error").numpy()  # float64
        return value.flatten(1).numpy().astype(np.float64)

    def inverse_transform(self, X):
        """Decode codes back to the input space (original units)."""
        check_is_fitted(self)
        codes = self._check_codes(X)
        recon = self._map(self.module_.decode, torch.from_numpy(codes.astype(np.float32)))
        if getattr(self, "table_", None) is not None:  # back to the table fit was given
            like = X if hasattr(X, "index") else codes
            return self._decode_table(recon.flatten(1).numpy(), like)
        return self.scaler_.undo(recon.flatten(1).numpy()).astype(codes.dtype, copy=False)

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

    def reconstruct(self, X, *, probabilities: bool = False):
        """``inverse_transform(transform(X))`` in one pass: the model's reconstruction of X.

        For a table (``table_``) it is a DataFrame with X's columns and dtypes, categories as
        the most likely category; ``probabilities=True`` adds each category's probability in a
        ``"<column>_proba"`` column.
        """
        raw = self.infer(X, ("reconstruction",)).reconstruction
        if getattr(self, "table_", None) is not None:
            return self._decode_table(raw, X, probabilities)
        return raw

    def reconstruction_error(self, X):
        """Per-sample reconstruction error (positive; higher is worse), float64 (n_samples,).

        The mean over features of the training loss (squared error, absolute error for
        ``loss="mae"``, cross-entropy for ``loss="bce"``), measured in the scaled space the
        network sees. ``X``: an array, or data on disk as for ``fit`` (scored a chunk at a
        time).
        """
        return self.infer(X, ("error",)).error

    def score_samples(self, X):
        """Negative per-sample reconstruction error: higher is more normal."""
        return -self.reconstruction_error(X)

    def score(self, X, y=None) -> float:
        """Mean of ``score_samples``: higher is better, for ``GridSearchCV`` without labels."""
        return float(np.mean(self.score_samples(X)))
