"""The scikit-learn layer: numpy/pandas in and out, validation, seeding, fitted attributes."""

from .autoencoder import Autoencoder
from .base import BaseAutoencoder

__all__ = ["Autoencoder", "BaseAutoencoder"]
