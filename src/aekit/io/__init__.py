"""Reading and writing files: aekit model files (and, later, data files)."""

from .model_file import ModelFileError, atomic_write_bytes, load

__all__ = ["ModelFileError", "atomic_write_bytes", "load"]
