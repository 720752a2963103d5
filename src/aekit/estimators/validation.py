"""Readable input errors: scikit-learn's and numpy's messages rewritten into one sentence each.

The estimators validate with scikit-learn's ``validate_data``; a few of its messages dump the
whole array or come straight from numpy. ``readable_input_errors`` rewrites those (keeping the
exception type) and leaves every other message as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


def _rewrite(message: str, name: str) -> str | None:
    if message.startswith("Expected 2D array, got 1D array"):
        return (f"{name} must be 2-D (n_samples, n_features); got a 1-D array. Reshape your "
                f"data: {name}.reshape(-1, 1) for one feature, {name}.reshape(1, -1) for one "
                "sample.")
    if message.startswith("Expected 2D array, got scalar array"):
        return f"{name} must be 2-D (n_samples, n_features); got a single number."
    if message.startswith(f"Input {name} contains infinity"):
        return (f"{name} contains infinity or a value too large to represent; replace or drop "
                "those values.")
    if message.startswith("Complex data not supported"):
        return (f"Complex data not supported: {name} contains complex numbers; aekit needs "
                f"real values (use np.real({name}) or np.abs({name})).")
    match = re.match(r"could not convert string to float: (.*)", message)
    if match:
        return (f"{name} contains text ({match.group(1)[:40]}); aekit needs numbers. Encode "
                "text columns as numbers (e.g. OneHotEncoder) or drop them.")
    match = re.search(r"argument must be a string or a (real )?number, not '(\w+)'", message)
    if match:
        return (f"{name} contains a value of type {match.group(2)}, not a number "
                f"(argument must be a string or a number); convert {name} to numbers first.")
    if message.startswith("Found array with dim"):
        found = re.match(r"Found array with dim (\d+)", message)
        dims = found.group(1) if found else "more than 2"
        return (f"{name} must be 2-D (n_samples, n_features); got {dims} dimensions. Flatten "
                "each sample, or use ConvAutoencoder for images.")
    return None


@contextmanager
def readable_input_errors(name: str = "X") -> Iterator[None]:
    """Re-raise validation errors from numpy/scikit-learn as one clear sentence."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        rewritten = _rewrite(str(exc), name)
        if rewritten is None:
            raise
        raise type(exc)(rewritten) from None


def check_sample_shape(shape, expected, *, owner: str, what: str = "X",
                       fitted: bool = False) -> None:
    """Refuse samples of another shape than ``expected`` (None: anything goes).

    ``fitted``: ``expected`` is what the estimator was fitted on (else what its parameters
    ask for). One message for arrays and for data on disk.
    """
    if expected is None or tuple(shape) == tuple(expected):
        return
    kind = "images" if len(tuple(shape)) == 3 else "samples"
    source = f"the {kind} it was fitted on" if fitted else "image_shape"
    fix = "." if fitted else " or change image_shape."
    raise ValueError(
        f"{what} holds {kind} of shape {tuple(shape)}, but {owner} expects {tuple(expected)} "
        f"({source}); pass {kind} of that shape{fix}"
    )


def resolve_activations(estimator, low: float, high: float, constraints) -> tuple[str, str]:
    """An estimator's code and output activations, or the reason they cannot work with its
    loss; ``low``/``high``: the range of the scaled data."""
    code_acts = {c.code_activation for c in constraints if c.code_activation}
    if len(code_acts) > 1:
        raise ValueError(
            f"The constraints {constraints} need different code activations {code_acts}; "
            "drop one of them."
        )
    code_activation = code_acts.pop() if code_acts else "linear"
    if getattr(estimator, "table_", None) is not None:  # numeric values and logits
        if estimator.loss == "bce" or estimator.output_activation == "sigmoid":
            raise ValueError(
                "A table with text, dates or gaps is learned with per-column losses; use "
                "loss='mse' and output_activation='auto' (or give numbers without gaps)."
            )
        return code_activation, "linear"
    in_unit = low >= 0.0 and high <= 1.0
    output = estimator.output_activation
    if output == "auto":
        output = "sigmoid" if in_unit else "linear"
    if output == "sigmoid" and not in_unit:
        raise ValueError(
            f"output_activation='sigmoid' can only produce values in (0, 1), but X after "
            f"scaling={estimator.scaling_!r} ranges over [{low:.3g}, {high:.3g}]. Use "
            "scaling='minmax' or output_activation='linear'."
        )
    if estimator.loss == "bce":
        if not in_unit:
            raise ValueError(
                f"loss='bce' needs X in [0, 1]; X after scaling={estimator.scaling_!r} ranges over "
                f"[{low:.3g}, {high:.3g}]. Use loss='mse' or scaling='minmax'."
            )
        if output != "sigmoid":
            raise ValueError(
                "loss='bce' needs output_activation='sigmoid' (or 'auto'); got 'linear'."
            )
    return code_activation, output
