"""What the performance benchmark times: the paper's configuration of each architecture,
the stand-in images both pipelines train on, and the CIFAR-10 sizes the figures are scaled to.

The command, the concurrent runs, the figures and the projection import it; it imports
nothing of `benchmark.perf`.
"""

from __future__ import annotations

import math

import numpy as np

import baselines
from benchmark.config import RunConfig, config_from_dict
from benchmark.data.dataset import Dataset, make_dataset
from benchmark.grid.presets import load_preset
from benchmark.planning import prepare
from benchmark.schedule import periodic_iterations, prune_iterations

PAPER_PRESET = "paper"
PAPER_METHOD = ("fggp", 0.95)  # the method and target sparsity the harness is timed with
CIFAR_TRAIN_IMAGES = 50_000  # an epoch, for the epoch-time figures
CIFAR_TEST_IMAGES = 10_000  # evaluated after every epoch
NUM_CLASSES = 10


def stand_in_data(n_train: int, n_test: int, seed: int = 0) -> Dataset:
    """Random CIFAR-shaped images and labels: what both pipelines train on."""
    rng = np.random.default_rng(seed)
    return make_dataset(
        "perf-stand-in",
        rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_train),
        rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_test),
        NUM_CLASSES,
    )


def paper_config(arch: str, width: float, batch_size: int | None, precision: str) -> RunConfig:
    """The paper preset's configuration of `arch` (FGGP at 95%), at the asked size (batch
    None: the preset's).

    Its pruning plan keeps the number of steps the recipe gives a CIFAR-10 run, spread
    evenly over the run on the stand-in images, which may be fewer: an interval of 2000
    iterations would leave a short stand-in run without a single step to time.
    """
    preset = load_preset(PAPER_PRESET)
    method, sparsity = PAPER_METHOD
    fields = {
        **preset.base_for(arch),
        "arch": arch,
        "width": width,
        "precision": precision,
        "method": method,
        "target_sparsity": sparsity,
    }
    if batch_size is not None:
        fields["batch_size"] = batch_size
    config = config_from_dict(fields)
    return prepare(config.replace(prune_every=0, prune_steps=cifar_prune_steps(config)))


def cifar_prune_steps(config: RunConfig) -> int:
    """How many mask changes `config` makes on CIFAR-10's 50,000 training images: its
    pruning steps and, for a regrowing method (GraNet: every 1000 iterations), the
    updates of its own clock, each about the cost of a pruning step."""
    total = config.epochs * math.ceil(CIFAR_TRAIN_IMAGES / config.batch_size)
    steps = set(
        prune_iterations(
            total, config.prune_start, config.prune_end, config.prune_steps, config.prune_every
        )
    )
    method = baselines.build(config.method, config.method_kwargs)
    if baselines.regrows(method):
        clock = method.clock
        steps |= set(periodic_iterations(total, clock.start, clock.end, clock.every))
    return len(steps)
