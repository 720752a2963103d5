"""The one training loop: every estimator (and later DDP and streaming) runs through ``train``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor, nn

from .checkpoint import Checkpointing, LoopState, load_checkpoint, restore, save_checkpoint
from .data import BatchSource
from .distributed import all_reduce_sum, is_distributed, is_main_process
from .objective import ReconstructionObjective, per_sample_error


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite."""


class Callback(Protocol):
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool | None:
        """Called after every epoch; return True to stop training."""


@dataclass
class TrainingConfig:
    max_iter: int = 200
    learning_rate_init: float = 1e-3
    tol: float = 1e-4
    n_iter_no_change: int = 10
    early_stopping: bool = False
    autocast_dtype: torch.dtype | None = None
    verbose: int = 0
    owner: str = "Autoencoder"  # the estimator's name, for messages


@dataclass
class TrainingResult:
    n_iter: int = 0
    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    best_loss: float = math.inf
    best_validation_score: float | None = None
    converged: bool = False
    interrupted: bool = False
    optimizer: torch.optim.Optimizer | None = None  # to continue training (partial_fit)


def make_optimizer(params: Sequence[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam, fused where this torch build supports it for the parameters' device."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


@torch.inference_mode()
def validation_score(
    module: nn.Module, data: BatchSource, loss: str
) -> float:
    """Negative mean per-sample reconstruction error (higher is better), in eval mode.

    Under DDP the sums are added over the processes, so every process gets the same score
    (and so takes the same early-stopping decision), whether each scored its share of the
    held-out rows or all of them.
    """
    was_training = module.training
    module.eval()
    total = torch.zeros(2, dtype=torch.float64)  # error sum, rows
    for xb in data.epoch(None, shuffle=False):
        x_hat, _ = module(xb)
        err = per_sample_error(x_hat, xb, loss)
        total[0] += float(err.double().sum())
        total[1] += err.shape[0]
    module.train(was_training)
    error_sum, rows = all_reduce_sum(total).tolist()
    return -error_sum / max(rows, 1.0)


def _progress(config: TrainingConfig, initial: int = 0):
    if config.verbose < 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.max_iter, initial=initial, desc=f"{config.owner} fit", unit="epoch",
                leave=True)


def _snapshot(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def train(
    module: nn.Module,
    objective: ReconstructionObjective,
    data: BatchSource,
    config: TrainingConfig,
    *,
    validation_data: BatchSource | None = None,
    generator: torch.Generator | None = None,
    noise_generator: torch.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    checkpointing: Checkpointing | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> TrainingResult:
    """Train ``module`` in place with Adam on mini-batches from ``data``.

    Stops after ``max_iter`` epochs, or when the monitored quantity (the validation score with
    ``early_stopping``, the training loss otherwise) has not improved by a relative ``tol`` for
    ``n_iter_no_change`` epochs. With early stopping the best weights are restored. Ctrl-C stops
    after warning and keeps the best model so far.

    ``generator`` shuffles the batches (a CPU generator); ``noise_generator`` draws the input
    corruption on the batches' device (defaults to ``generator``). ``checkpointing`` saves the
    whole training state every few epochs and, with ``resume``, continues from the last save.
    ``optimizer`` continues an earlier run's Adam state (default: a fresh Adam); the result
    carries the optimizer for the next call.
    """
    noise_generator = noise_generator if noise_generator is not None else generator
    if optimizer is None:
        optimizer = make_optimizer(module.parameters(), config.learning_rate_init)
    net = module
    if is_distributed():  # gradients averaged over processes; each sees its shard of a batch
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(module)
    main_process = is_main_process()
    generators = {"shuffle": generator} if generator is not None else {}
    if noise_generator is not None and noise_generator is not generator:
        generators["noise"] = noise_generator
    state = LoopState(validation_scores=[] if validation_data is not None else None)
    if checkpointing is not None and checkpointing.resume:
        saved = load_checkpoint(checkpointing)
        if saved is not None:
            state = restore(saved, module, optimizer, generators, objective.constraints)
    result = TrainingResult()
    monitor_validation = config.early_stopping and validation_data is not None
    bar = _progress(config, initial=state.epoch) if main_process else None
    module.train()
    try:
        for epoch in range(state.epoch + 1, config.max_iter + 1):
            if state.stale >= config.n_iter_no_change:  # a resumed run that had converged
                result.converged = True
                break
            total = torch.zeros(2, dtype=torch.float64)  # loss * rows, rows
            for xb in data.epoch(generator):
                optimizer.zero_grad(set_to_none=True)
                loss = objective.forward_and_loss(
                    net, xb, noise_generator, config.autocast_dtype
                )
                loss.backward()
                optimizer.step()
                total[0] += loss.detach().to("cpu", torch.float64) * xb.shape[0]
                total[1] += xb.shape[0]
            loss_sum, rows = all_reduce_sum(total).tolist()
            epoch_loss = loss_sum / max(rows, 1)
            if not math.isfinite(epoch_loss):
                raise NonFiniteLossError(
                    f"Training loss became non-finite at epoch {epoch} (loss={epoch_loss}). "
                    f"Lower learning_rate_init (now {config.learning_rate_init}) or standardize "
                    "X (scaling='standard')."
                )
            state.epoch = epoch
            state.loss_curve.append(epoch_loss)
            state.best_loss = min(state.best_loss, epoch_loss)
            logs: dict[str, Any] = {"loss": epoch_loss}
            if validation_data is not None:
                score = validation_score(module, validation_data, objective.loss)
                state.validation_scores.append(score)
                logs["val_score"] = score
            monitored = logs["val_score"] if monitor_validation else -epoch_loss
            best = state.best_monitor
            if epoch == 1 or monitored > best + config.tol * abs(best):
                state.best_monitor, state.stale = monitored, 0
                if monitor_validation:
                    state.best_state = _snapshot(module)
                    state.best_validation_score = monitored
            else:
                state.stale += 1
            if checkpointing is not None and main_process and epoch % checkpointing.every == 0:
                save_checkpoint(checkpointing, module, optimizer, generators,
                                objective.constraints, state)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()})
            stop = any(cb.on_epoch_end(epoch, logs) for cb in callbacks)
            if state.stale >= config.n_iter_no_change:
                result.converged = True
                break
            if stop:
                break
    except KeyboardInterrupt:
        result.interrupted = True
        warnings.warn("Training interrupted by user.", UserWarning, stacklevel=2)
    finally:
        if bar is not None:
            bar.close()
    if monitor_validation and state.best_state:
        module.load_state_dict(state.best_state)
    module.eval()
    result.n_iter = state.epoch
    result.loss_curve = state.loss_curve
    result.validation_scores = state.validation_scores
    result.best_loss = state.best_loss
    result.best_validation_score = state.best_validation_score
    result.optimizer = optimizer
    if not result.converged and not result.interrupted and result.n_iter == config.max_iter:
        warnings.warn(
            f"{config.owner}: maximum iterations ({config.max_iter}) reached and the "
            "optimization hasn't converged yet. Raise max_iter or set early_stopping=True.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result
