"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is one safetensors file (weights, optimizer moments, RNG states, the loop's
counters as JSON metadata), written atomically every ``every`` epochs. Resuming with the same
data, parameters and seed on the CPU ends with the same weights as an uninterrupted run.
Loading never unpickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..atomic import atomic_write_bytes
from ..errors import AekitError

FORMAT = "aekit-checkpoint"
FILENAME = "checkpoint.safetensors"


class CheckpointError(AekitError, ValueError):
    """A checkpoint that cannot be resumed, with the reason."""


@dataclass
class Checkpointing:
    """Where and how often to checkpoint, and whether to resume from an existing checkpoint.

    ``fingerprint`` describes the run (data shape, parameters, seed); resuming a checkpoint
    whose fingerprint differs is refused, so a checkpoint is never applied to another run.
    """

    folder: str | Path
    every: int = 1
    resume: bool = False
    fingerprint: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.folder) / FILENAME


@dataclass
class LoopState:
    """The loop's counters between epochs (saved in checkpoints)."""

    epoch: int = 0
    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    best_loss: float = float("inf")
    best_validation_score: float | None = None
    best_monitor: float = float("-inf")
    stale: int = 0
    best_state: dict[str, Tensor] | None = None


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], list]:
    sd = optimizer.state_dict()
    tensors = {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            tensors[f"opt.{index}.{name}"] = torch.as_tensor(value).detach().cpu().clone()
    return tensors, sd["param_groups"]


def save_checkpoint(
    ck: Checkpointing,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    constraints: list,
    state: LoopState,
) -> None:
    from safetensors.torch import save


    tensors = {f"module.{k}": v.detach().cpu().clone() for k, v in module.state_dict().items()}
    opt_tensors, param_groups = _optimizer_tensors(optimizer)
    tensors.update(opt_tensors)
    for name, gen in generators.items():
        tensors[f"gen.{name}"] = gen.get_state().clone()
    for i, c in enumerate(constraints):
        for name, value in c.get_state().items():
            tensors[f"constraint.{i}.{name}"] = value.detach().cpu().clone()
    if state.best_state:
        tensors.update({f"best.{k}": v.detach().cpu().clone() for k, v in state.best_state.items()})
    meta = {
        "epoch": state.epoch,
        "loss_curve": state.loss_curve,
        "validation_scores": state.validation_scores,
        "best_loss": state.best_loss,
        "best_validation_score": state.best_validation_score,
        "best_monitor": state.best_monitor,
        "stale": state.stale,
        "has_best_state": state.best_state is not None,
        "param_groups": param_groups,
        "fingerprint": ck.fingerprint,
        "seed": ck.seed,
    }
    blob = save(tensors, metadata={"format": FORMAT, "state": json.dumps(meta)})
    ck.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(ck.path, blob)


def saved_seed(ck: Checkpointing) -> int | None:
    """The seed of the run saved in ``ck``'s folder (None without a readable checkpoint)."""
    saved = load_checkpoint(ck, check_fingerprint=False)
    return None if saved is None else saved[0].get("seed")


def load_checkpoint(
    ck: Checkpointing, check_fingerprint: bool = True
) -> tuple[dict[str, Any], dict[str, Tensor]] | None:
    """The saved (metadata, tensors), or None when there is no checkpoint yet."""
    if not ck.path.exists():
        return None
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(ck.path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{ck.path} is not an aekit training checkpoint.")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        state = json.loads(meta["state"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{ck.path} is not a readable aekit checkpoint ({type(exc).__name__}); delete it "
            "or choose another checkpoint folder."
        ) from None
    if check_fingerprint and state.get("fingerprint") != json.loads(json.dumps(ck.fingerprint)):
        raise CheckpointError(
            f"The checkpoint in {ck.folder} belongs to another run (different data, parameters "
            "or seed); use another checkpoint folder or fit with resume=False."
        )
    return state, tensors


def restore(
    saved: tuple[dict[str, Any], dict[str, Tensor]],
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    constraints: list,
) -> LoopState:
    """Put module, optimizer, generators and constraints back as saved; return the counters.

    A checkpoint of this run (its fingerprint matches) that cannot be applied (a missing
    counter, a tensor of another shape) is a ``CheckpointError``, and nothing is half-applied
    that the run would keep: the caller's fit stops.
    """
    try:
        return _restore(saved, module, optimizer, generators, constraints)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"The checkpoint cannot be resumed: it is incomplete or damaged ({first}); delete "
            "it, or fit with resume=False."
        ) from None


def _restore(saved, module, optimizer, generators, constraints) -> LoopState:
    meta, tensors = saved

    def group(prefix: str) -> dict[str, Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    module.load_state_dict(group("module."))
    opt_state: dict[int, dict[str, Tensor]] = {}
    for key, value in group("opt.").items():
        index, name = key.split(".", 1)
        opt_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    for name, gen in generators.items():
        gen.set_state(tensors[f"gen.{name}"])
    for i, c in enumerate(constraints):
        c.set_state(group(f"constraint.{i}."))
    return LoopState(
        epoch=meta["epoch"],
        loss_curve=list(meta["loss_curve"]),
        validation_scores=meta["validation_scores"],
        best_loss=meta["best_loss"],
        best_validation_score=meta["best_validation_score"],
        best_monitor=meta["best_monitor"],
        stale=meta["stale"],
        best_state=group("best.") if meta["has_best_state"] else None,
    )
