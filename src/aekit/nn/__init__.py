"""PyTorch building blocks: tensors in, tensors out. Imports neither numpy nor scikit-learn."""

from .activations import ACTIVATIONS, make_activation
from .autoencoder import AutoencoderNet
from .bottleneck import Bottleneck, TopKCode, VariationalCode
from .conv import ConvDecoder, ConvEncoder, init_conv_
from .dense import DenseDecoder, DenseEncoder, init_linear_
from .spatial import SpatialDecoder, SpatialEncoder
from .tied import TiedDenseDecoder, TiedLinear

__all__ = [
    "ACTIVATIONS",
    "AutoencoderNet",
    "Bottleneck",
    "ConvDecoder",
    "ConvEncoder",
    "DenseDecoder",
    "DenseEncoder",
    "SpatialDecoder",
    "SpatialEncoder",
    "TiedDenseDecoder",
    "TiedLinear",
    "TopKCode",
    "VariationalCode",
    "init_conv_",
    "init_linear_",
    "make_activation",
]
