"""The images a run trains, validates and tests on, carved from its dataset.

Part of the data layer rather than of training: the split depends only on the dataset
and the configuration's limits, never on the method or the seed, so every run of a grid
sees the same validation images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.config import RunConfig
from benchmark.data.dataset import Dataset
from benchmark.errors import UserError

_SPLIT_SEED = 20241108  # validation split: the same images for every seed and method


@dataclass(frozen=True)
class Splits:
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]


def carve_splits(data: Dataset, config: RunConfig) -> Splits:
    """Apply the subset limits, then hold out a fixed validation set from the training images."""
    x_train, y_train = data.x_train, data.y_train
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    x_test, y_test = data.x_test, data.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    val = None
    if config.val_size:
        if config.val_size >= len(x_train):
            raise UserError(
                f"validation size {config.val_size} leaves no training images of {len(x_train)}"
            )
        order = np.random.default_rng(_SPLIT_SEED).permutation(len(x_train))
        held, kept = np.sort(order[: config.val_size]), np.sort(order[config.val_size :])
        val = (x_train[held], y_train[held])
        x_train, y_train = x_train[kept], y_train[kept]
    return Splits(train=(x_train, y_train), val=val, test=(x_test, y_test))
