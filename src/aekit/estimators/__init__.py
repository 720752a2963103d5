"""The scikit-learn layer: numpy/pandas in and out, validation, seeding, fitted attributes.

Importing it registers the classes with ``aekit.saving`` (``aekit.load`` relies on that).
"""

from .autoencoder import Autoencoder
from .base import BaseAutoencoder
from .conv import ConvAutoencoder
from .imputer import AutoencoderImputer
from .outlier import OutlierDetector
from .sequence import SequenceAutoencoder
from .timeseries import TimeSeriesDetector

__all__ = [
    "Autoencoder", "AutoencoderImputer", "BaseAutoencoder", "ConvAutoencoder", "OutlierDetector",
    "SequenceAutoencoder", "TimeSeriesDetector",
]
