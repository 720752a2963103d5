"""The scikit-learn layer: numpy/pandas in and out, validation, seeding, fitted attributes."""

from .autoencoder import Autoencoder
from .base import BaseAutoencoder
from .conv import ConvAutoencoder
from .outlier import OutlierDetector

__all__ = ["Autoencoder", "BaseAutoencoder", "ConvAutoencoder", "OutlierDetector"]
