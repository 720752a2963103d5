"""The constraint protocol: small parameter objects that compose as a tuple on one model.

A constraint may implement any of four hooks:

- ``corrupt(x, generator)``: return a corrupted copy of the input batch (training only; the loss
  is always taken against the clean input),
- ``penalty(code, x=..., encode=..., extras=...)``: a scalar added to the training loss; it
  sees the code, the (corrupted) input, the encoder, and what the bottleneck returned beside
  the code (``extras``: a variational code's mean and log-variance),
- ``bottleneck()``: a module between the encoder and the decoder
  (``aekit.nn.Bottleneck``: top-k, a sampled variational code), active at inference too,
- ``reconstruction_term(term, n_entries=..., extras=...)``: the reconstruction term as the
  constraint models it (a variational code's decoder variance),

and may require an activation on the code units (``code_activation``, e.g. sigmoid for the KL
penalty). Parameters are declared the scikit-learn way (``_parameter_constraints``) and
checked by ``validate``; ``check_code_size`` checks them against the fitted code.
``fit`` clones constraints, so the objects a user passes are never mutated.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from sklearn.utils._param_validation import validate_parameter_constraints
from torch import Tensor, nn

#: every constraint class with a ``name``, by that name (they join when they are defined), so
#: that constraints can be given by name and model files can name them
REGISTRY: dict[str, type[Constraint]] = {}


class Constraint:
    """Base class. Subclasses store their ``__init__`` arguments as attributes of the same name;
    a subclass with a ``name`` joins ``REGISTRY`` (a second class of the same name is refused)."""

    name: ClassVar[str] = ""
    #: activation the code units must have for this constraint to make sense (None: any)
    code_activation: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name:
            existing = REGISTRY.get(name)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise ValueError(f"A constraint named {name!r} exists already ({existing}).")
            REGISTRY[name] = cls

    # -- parameters, scikit-learn style: get_params/set_params make sklearn.clone work ----------
    @classmethod
    def _param_names(cls) -> list[str]:
        """The ``__init__`` arguments (none for a subclass without its own ``__init__``)."""
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        sig = inspect.signature(cls.__init__)
        return [name for name, p in sig.parameters.items()
                if name != "self" and p.kind not in variadic]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params: Any) -> Constraint:
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}; valid ones: {valid}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _frozen_params(self) -> tuple:
        """Parameters as a hashable tuple; a list (a tuple after a JSON round trip) as a tuple."""
        params = self.get_params()
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._frozen_params() == other._frozen_params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._frozen_params()))

    # -- validation: called by fit, so that __init__ only stores ---------------------------------
    #: scikit-learn parameter constraints, e.g. ``{"std": [Interval(Real, 0, None, ...)]}``
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    def validate(self) -> None:
        """Raise ``ValueError``/``TypeError`` naming the bad parameter, in scikit-learn's words
        ("The 'std' parameter of GaussianNoise must be a float in the range [0.0, inf). Got -1
        instead."); subclasses may add checks that involve several parameters."""
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(), caller_name=type(self).__name__
        )

    def check_code_size(self, code_size: int) -> None:
        """Refuse parameters that cannot work with a code of ``code_size`` units."""

    def check_loss(self, loss) -> None:
        """Refuse parameters that cannot work with the model's ``loss`` (a name, or a table's
        per-column loss)."""

    # -- hooks -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget any state from an earlier fit (called at the start of every fit)."""

    def set_input_range(self, input_range: tuple[float, float] | None) -> None:
        """The range of the network's input (e.g. ``(0.0, 1.0)``), or None when unbounded.

        Called by the estimators before training, so that corruption can stay in the data's
        domain (``GaussianNoise(clip="auto")``); default: ignored.
        """

    def set_table(self, table) -> None:
        """The layout of a table the network's input encodes (``TableLoss``), or None.

        Called by the estimators before training; noise then acts in the table's terms
        (default: ignored).
        """

    def prepare(self, module: nn.Module) -> None:
        """Adjust a freshly initialised network before training (default: nothing)."""

    def get_state(self) -> dict[str, Tensor]:
        """Tensors a checkpoint must keep to resume training exactly (default: none)."""
        return {}

    def set_state(self, state: dict[str, Tensor]) -> None:
        """Restore what ``get_state`` returned."""

    def corrupt(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        return x

    def penalty(
        self, code: Tensor, *, x: Tensor, encode: Callable[[Tensor], Tensor],
        extras: dict[str, Tensor] | None = None,
    ) -> Tensor | None:
        return None

    def reconstruction_term(self, term: Tensor, *, n_entries: int,
                            extras: dict[str, Tensor]) -> Tensor:
        """The reconstruction term of the training loss (summed over a sample's ``n_entries``,
        averaged over the batch) as this constraint models it (default: unchanged; a
        variational code with a decoder variance rescales it)."""
        return term

    def bottleneck(self) -> nn.Module | None:
        return None

    @property
    def corrupts(self) -> bool:
        return type(self).corrupt is not Constraint.corrupt

    @property
    def penalizes(self) -> bool:
        return type(self).penalty is not Constraint.penalty

    @property
    def rescales_reconstruction(self) -> bool:
        return type(self).reconstruction_term is not Constraint.reconstruction_term

    # -- model files ---------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.get_params()}
