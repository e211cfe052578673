"""Shared fixtures: the smallest real configuration of the harness, and the real-image subset."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.config import RunConfig
from tests.support import TINY_RUN

SUBSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_subset.npz"


@pytest.fixture
def tiny() -> RunConfig:
    """VGG-19 at 1/16 width on 512 synthetic images: one run takes about a second on a CPU."""
    return TINY_RUN.replace(epochs=2, train_limit=512, test_limit=256, prune_steps=5)


@pytest.fixture
def subset_path() -> Path:
    if not SUBSET.exists():
        pytest.skip(f"real-image subset not found at {SUBSET} (see ../shared/data/README.md)")
    return SUBSET
