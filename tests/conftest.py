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


def pytest_configure(config):
    """The fast lane trains tiny models: one thread each is faster than two fighting over a
    small matrix (and subprocesses inherit the setting). The slow lane keeps torch's default."""
    if "slow" not in (config.getoption("markexpr", "") or "").replace("not slow", ""):
        import os

        import torch

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        torch.set_num_threads(1)
