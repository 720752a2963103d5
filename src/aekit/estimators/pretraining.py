"""Greedy layer-wise pretraining: the stacked (denoising, convolutional) autoencoder.

An autoencoder of ``n`` levels is trained as ``n`` shallow autoencoders, bottom up (Bengio et
al., 2007; Vincent et al., 2010): shallow model ``k`` is encoder block ``k`` joined to its mirror,
decoder block ``n - 1 - k``, trained to reconstruct the codes that the already trained (and from
then on frozen) blocks ``0..k-1`` give for the training data. Every shallow model goes through
the one training loop, ``aekit.training.train``; the blocks are the full model's own modules, so
after the loop the whole stack is initialised and ``fit`` fine-tunes it end to end. Under
``torchrun`` every process computes the codes of all rows (the weights are the same everywhere)
and trains on its shard of each batch, as in end-to-end training.

Constraints, per level:

- input corruption (``GaussianNoise``, ``MaskingNoise``, ...) corrupts the input of EVERY
  level, the clean codes of the level below: the classic stacked denoising autoencoder;
- penalties on the code (``KLSparsity``, ``Contractive``, ...) and code layers (``TopK``) act on
  the top level only, whose hidden units are the model's code.

Level 0 uses the estimator's loss; the levels above reconstruct hidden activations and use the
squared error.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor, nn

from ..constraints import Constraint, resolve_constraints
from ..nn import AutoencoderNet
from ..training import ReconstructionObjective, TensorBatches, TrainingConfig, map_batches, train
from ..training.distributed import rank_and_world


def stack_blocks(stack: nn.Module) -> list[nn.Module]:
    """The levels of an encoder or a decoder, in forward order.

    Modules with a ``blocks()`` method (conv and tied modules) say so themselves; the dense
    stacks (``DenseEncoder``/``DenseDecoder``) are ``Linear, activation`` pairs in ``layers``.
    """
    blocks = getattr(stack, "blocks", None)
    if callable(blocks):
        return list(blocks())
    layers = getattr(stack, "layers", None)
    if isinstance(layers, nn.Sequential) and len(layers) % 2 == 0 and all(
        isinstance(layers[i], nn.Linear) for i in range(0, len(layers), 2)
    ):
        return [nn.Sequential(layers[i], layers[i + 1]) for i in range(0, len(layers), 2)]
    raise TypeError(
        f"Greedy pretraining needs an encoder and a decoder made of levels (a blocks() method, "
        f"or Linear/activation pairs); got {type(stack).__name__}."
    )


def shallow_autoencoders(module: AutoencoderNet) -> list[AutoencoderNet]:
    """One shallow autoencoder per level, bottom up, sharing ``module``'s parameters."""
    encoder, decoder = stack_blocks(module.encoder), stack_blocks(module.decoder)
    if len(encoder) != len(decoder):
        raise ValueError(
            f"Greedy pretraining needs a decoder that mirrors the encoder; the encoder has "
            f"{len(encoder)} levels and the decoder {len(decoder)}."
        )
    n = len(encoder)
    return [
        AutoencoderNet(encoder[k], decoder[n - 1 - k], module.bottleneck if k == n - 1 else None)
        for k in range(n)
    ]


def _level_constraints(constraints: Sequence[Constraint], top: bool) -> tuple[Constraint, ...]:
    """Fresh copies: all of them on the top level, only input corruption below it."""
    chosen = [c for c in constraints
              if top or (c.corrupts and not c.penalizes and c.bottleneck() is None)]
    return resolve_constraints(chosen)


def greedy_pretrain(
    module: AutoencoderNet,
    train_data: Tensor,
    validation_data: Tensor | None,
    *,
    loss: str,
    constraints: Sequence[Constraint],
    input_range: tuple[float, float] | None = None,
    table=None,
    batch_size: int,
    device: torch.device,
    config: TrainingConfig,
    generator: torch.Generator | None = None,
    noise_generator: torch.Generator | None = None,
) -> list[list[float]]:
    """Train ``module`` level by level as shallow autoencoders; return each level's loss curve.

    Parameters
    ----------
    module : AutoencoderNet
        Trained in place; its encoder and decoder must mirror each other level by level.
    train_data, validation_data : Tensor
        The network's input (scaled, in the network's layout); ``validation_data`` is used for
        each level's early stopping when ``config.early_stopping``.
    loss : str
        The estimator's loss, used by level 0; higher levels use ``"mse"``.
    constraints : sequence of Constraint
        The estimator's constraints; copied per level (see the module docstring).
    input_range : (low, high) or None
        The range of the network's input, told to level 0's constraints (the levels above see
        codes, whose range is not known).
    table : TableLoss or None
        The table layout of the network's input (table mode), told to level 0's constraints.
    batch_size : int
    device : torch.device
    config : TrainingConfig
        The end-to-end configuration; each level runs with it (``max_iter`` epochs at most).
    generator, noise_generator : torch.Generator
        As for ``aekit.training.train``.

    Returns
    -------
    list of list of float
        ``loss_curve`` of every level, bottom up.
    """
    levels = shallow_autoencoders(module)
    rank, world_size = rank_and_world()  # under torchrun each process trains on its shard
    inference_batch = max(int(batch_size), 1024)
    x_train, x_val = train_data, validation_data
    curves: list[list[float]] = []
    for k, shallow in enumerate(levels):
        top = k == len(levels) - 1
        level_constraints = _level_constraints(constraints, top)
        if k == 0:
            for constraint in level_constraints:
                constraint.set_input_range(input_range)
                constraint.set_table(table)
        objective = ReconstructionObjective(loss if k == 0 else "mse", level_constraints)
        level_config = dataclasses.replace(
            config, owner=f"{config.owner} level {k + 1}/{len(levels)}"
        )
        with warnings.catch_warnings():  # an unconverged level is fine: fine-tuning follows
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = train(
                shallow,
                objective,
                TensorBatches(x_train, batch_size, device, rank, world_size),
                level_config,
                validation_data=(
                    None if x_val is None else TensorBatches(x_val, batch_size, device, rank,
                                                             world_size)
                ),
                generator=generator,
                noise_generator=noise_generator,
            )
        curves.append(list(result.loss_curve))
        if not top:  # the clean codes of this (now frozen) level feed the next one
            x_train = map_batches(shallow, shallow.encode, x_train, inference_batch, device)
            if x_val is not None:
                x_val = map_batches(shallow, shallow.encode, x_val, inference_batch, device)
    return curves
