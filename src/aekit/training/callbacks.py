"""Training policy as callbacks of the one loop (Keras's pattern): early stopping, checkpoints
and the progress bar.

A callback may implement ``on_train_begin(run)``, ``on_epoch_end(epoch, logs)`` (return True to
stop) and ``on_train_end(run)``; ``logs`` holds ``loss`` and, with held-out data, ``val_score``.
``run`` is the ``Run``: the module, optimizer, random generators, constraints and the history.
User callbacks passed to ``train`` may implement ``on_epoch_end`` alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .checkpoint import Checkpointing, LoopState, save_checkpoint


@dataclass
class History:
    """What the loop records per epoch."""

    epoch: int = 0
    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    best_loss: float = math.inf

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch
        self.loss_curve.append(logs["loss"])
        self.best_loss = min(self.best_loss, logs["loss"])
        if self.validation_scores is not None:
            self.validation_scores.append(logs["val_score"])


@dataclass
class Run:
    """The state of one call of ``train`` that callbacks may read (and checkpoints keep)."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    constraints: list
    history: History


def snapshot(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class EarlyStopping:
    """Stop when the monitored quantity has not improved by a relative ``tol`` for
    ``patience`` epochs: the held-out score with ``monitor_validation`` (the best weights are
    restored at the end), else the training loss (a run that stops this way has converged)."""

    def __init__(self, patience: int, tol: float, monitor_validation: bool):
        self.patience, self.tol, self.monitor_validation = int(patience), float(tol), \
            monitor_validation
        self.best = -math.inf
        self.stale = 0
        self.best_validation_score: float | None = None
        self.best_state: dict[str, Tensor] | None = None
        self._module: nn.Module | None = None

    @property
    def converged(self) -> bool:
        return self.stale >= self.patience

    def on_train_begin(self, run: Run) -> None:
        self._module = run.module

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        monitored = logs["val_score"] if self.monitor_validation else -logs["loss"]
        if epoch == 1 or monitored > self.best + self.tol * abs(self.best):
            self.best, self.stale = monitored, 0
            if self.monitor_validation:
                self.best_state = snapshot(self._module)
                self.best_validation_score = monitored
        else:
            self.stale += 1
        return self.converged

    def on_train_end(self, run: Run) -> None:
        if self.monitor_validation and self.best_state:
            run.module.load_state_dict(self.best_state)

    def loop_state(self, history: History) -> LoopState:
        """The checkpoint's counters: the history and this callback's state."""
        return LoopState(
            epoch=history.epoch, loss_curve=history.loss_curve,
            validation_scores=history.validation_scores, best_loss=history.best_loss,
            best_validation_score=self.best_validation_score, best_monitor=self.best,
            stale=self.stale, best_state=self.best_state,
        )

    def restore(self, state: LoopState) -> None:
        self.best, self.stale = state.best_monitor, state.stale
        self.best_validation_score, self.best_state = state.best_validation_score, \
            state.best_state


class CheckpointSaver:
    """Save the whole training state every ``checkpointing.every`` epochs (process 0 only)."""

    def __init__(self, checkpointing: Checkpointing, stopper: EarlyStopping, main_process: bool):
        self.checkpointing, self.stopper, self.main_process = checkpointing, stopper, \
            main_process
        self._run: Run | None = None

    def on_train_begin(self, run: Run) -> None:
        self._run = run

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.main_process and epoch % self.checkpointing.every == 0:
            run = self._run
            save_checkpoint(self.checkpointing, run.module, run.optimizer, run.generators,
                            run.constraints, self.stopper.loop_state(run.history))


class ProgressBar:
    """A tqdm bar over the epochs, with the latest loss and held-out score."""

    def __init__(self, total: int, owner: str):
        self.total, self.owner = int(total), owner
        self._bar: Any = None

    def on_train_begin(self, run: Run) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.total, initial=run.history.epoch, desc=f"{self.owner} fit",
                         unit="epoch", leave=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._bar.update(1)
        self._bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()})

    def on_train_end(self, run: Run) -> None:
        if self._bar is not None:
            self._bar.close()
