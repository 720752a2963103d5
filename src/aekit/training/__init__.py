"""The one training loop, its batch sources and its objective."""

from .checkpoint import CheckpointError, Checkpointing
from .data import BatchSource, TensorBatches
from .inference import map_batches
from .loop import (
    Callback,
    NonFiniteLossError,
    TrainingConfig,
    TrainingResult,
    make_optimizer,
    train,
    validation_score,
)
from .objective import (
    LOSSES,
    ReconstructionObjective,
    elementwise_loss,
    per_sample_error,
    per_sample_error_float64,
)

__all__ = [
    "LOSSES",
    "BatchSource",
    "Callback",
    "CheckpointError",
    "Checkpointing",
    "NonFiniteLossError",
    "ReconstructionObjective",
    "TensorBatches",
    "TrainingConfig",
    "TrainingResult",
    "elementwise_loss",
    "make_optimizer",
    "map_batches",
    "per_sample_error",
    "per_sample_error_float64",
    "train",
    "validation_score",
]
