"""The in-memory data set every loader produces, with the statistics training needs.

Normalisation statistics and the fingerprint are computed here, once, from the final
arrays, so that every source (archive, npz, generator) yields them the same way and a
result file can name exactly which data produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

# Images per chunk when accumulating statistics: bounds the temporary int64 copies
# to ~50 MB for CIFAR-sized images whatever the data set size.
_STATS_CHUNK = 1024


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test splits as read-only NHWC uint8 images and int64 labels.

    `eq=False` because element-wise array comparison has no single truth value; compare
    `fingerprint` instead.
    """

    name: str
    # repr=False: printing a Dataset (logs, test failures) must not dump megabytes of pixels.
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fingerprint: str


def make_dataset(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: int,
) -> Dataset:
    """Freeze already-validated arrays and derive their statistics and fingerprint."""
    arrays = [
        _frozen(x_train, np.uint8),
        _frozen(y_train, np.int64),
        _frozen(x_test, np.uint8),
        _frozen(y_test, np.int64),
    ]
    mean, std = channel_stats(arrays[0])
    return Dataset(name, *arrays, num_classes, mean, std, fingerprint(*arrays))


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    # Read-only so that the fingerprint keeps describing the arrays it was computed from.
    out = np.ascontiguousarray(array, dtype=dtype)
    if out is array:
        out = out.copy()
    out.setflags(write=False)
    return out


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of `images / 255`.

    Sums are exact integers, so the result does not depend on chunking or summation
    order and is identical on every machine.
    """
    channels = images.shape[-1]
    total = np.zeros(channels, dtype=np.int64)
    total_sq = np.zeros(channels, dtype=np.int64)
    for start in range(0, len(images), _STATS_CHUNK):
        chunk = images[start : start + _STATS_CHUNK].reshape(-1, channels).astype(np.int64)
        total += chunk.sum(axis=0)
        total_sq += (chunk * chunk).sum(axis=0)
    count = images.size // channels
    mean = total / count
    var = np.maximum(total_sq / count - mean * mean, 0.0)
    return tuple(float(m) for m in mean / 255.0), tuple(float(s) for s in np.sqrt(var) / 255.0)


def fingerprint(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> str:
    """SHA-256 over the four arrays' shapes and bytes, independent of where they came from.

    Labels are hashed as little-endian int64 so that the same data read from an archive
    or from an npz with uint8 labels gets the same fingerprint.
    """
    digest = hashlib.sha256()
    for key, array, dtype in (
        ("x_train", x_train, "|u1"),
        ("y_train", y_train, "<i8"),
        ("x_test", x_test, "|u1"),
        ("y_test", y_test, "<i8"),
    ):
        data = np.ascontiguousarray(array, dtype=dtype)
        digest.update(f"{key}{data.shape}\n".encode())
        digest.update(data)
    return digest.hexdigest()
