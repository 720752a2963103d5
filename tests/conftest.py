"""Shared fixtures."""

from pathlib import Path

import pytest

_SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real datasets beside the repository (``<repo>/../shared/datasets``)."""
    if not _SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {_SHARED_DATASETS}")
    return _SHARED_DATASETS
