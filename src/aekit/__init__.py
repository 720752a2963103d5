"""aekit: autoencoders on PyTorch that feel native to scikit-learn.

Three layers: ``aekit.nn`` (torch modules), the estimators (``Autoencoder``), and the command
line (``aekit demo``). Constraints from ``aekit.constraints`` compose as a tuple.
"""

__version__ = "0.1.0"

from .constraints import (  # noqa: E402
    Contractive,
    GaussianNoise,
    KLSparsity,
    L1Activity,
    MaskingNoise,
    SaltAndPepperNoise,
    TopK,
)
from .estimators import Autoencoder  # noqa: E402
from .io import ModelFileError, load  # noqa: E402

__all__ = [
    "Autoencoder",
    "Contractive",
    "GaussianNoise",
    "KLSparsity",
    "L1Activity",
    "MaskingNoise",
    "ModelFileError",
    "SaltAndPepperNoise",
    "TopK",
    "load",
]
