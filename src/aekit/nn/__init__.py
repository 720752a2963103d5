"""PyTorch building blocks: tensors in, tensors out. Imports neither numpy nor scikit-learn."""

from .activations import ACTIVATIONS, make_activation
from .autoencoder import AutoencoderNet
from .code_layers import TopKCode
from .dense import DenseDecoder, DenseEncoder, init_linear_

__all__ = [
    "ACTIVATIONS",
    "AutoencoderNet",
    "DenseDecoder",
    "DenseEncoder",
    "TopKCode",
    "init_linear_",
    "make_activation",
]
