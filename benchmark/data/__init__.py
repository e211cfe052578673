"""Data sets by name: `load_dataset("cifar10" | "cifar100" | "npz:PATH" | "synthetic", dir)`.

Numpy only, so that listing, validating and fingerprinting data never needs torch; the
device-side batching lives in `benchmark.data.loader`. Imported by the run (`train`), the
result record (`result`, which describes the dataset) and `perf`; it imports nothing of
the harness but `config`, `errors` and `atomic`.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.data.cifar import ARCHIVES, load_cifar
from benchmark.data.dataset import Dataset
from benchmark.data.npz import load_npz
from benchmark.data.synthetic import SYNTHETIC_NAME, load_synthetic
from benchmark.errors import UserError

__all__ = ["DATASET_CHOICES", "Dataset", "fingerprint_of", "load_dataset"]

DATASET_CHOICES = "cifar10, cifar100, npz:PATH, synthetic"

_NPZ_PREFIX = "npz:"


def load_dataset(spec: str, data_dir: Path) -> Dataset:
    """Load the data set named by `spec`; CIFAR archives are looked for in `data_dir`."""
    if spec in ARCHIVES:
        return load_cifar(ARCHIVES[spec], Path(data_dir))
    if spec.startswith(_NPZ_PREFIX):
        return load_npz(spec[len(_NPZ_PREFIX) :])
    if spec == SYNTHETIC_NAME:
        return load_synthetic()
    raise UserError(f"unknown dataset {spec!r}; choose one of: {DATASET_CHOICES}")



def fingerprint_of(spec: str, data_dir: Path) -> str:
    """The fingerprint of the data `spec` names now: what a stored run must have trained
    on. A path or an archive may hold other content than when a run read it, so it is
    loaded again (the synthetic set, made by this code, is cached by `load_synthetic`)."""
    return load_dataset(spec, data_dir).fingerprint
