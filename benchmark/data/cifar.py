"""CIFAR-10/100 from the official python archives: fetch, verify, then unpickle.

The archives are pickles, and unpickling runs code chosen by whoever wrote the file, so
the archive's md5 is checked against the official one before any member is read, and the
unpickler itself only resolves the few numpy names the official batches contain.
Members are read straight from the compressed tar: nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import pickle
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from benchmark.atomic import atomic_file
from benchmark.data.dataset import Dataset, make_dataset
from benchmark.data.files import regular_file_size
from benchmark.errors import UserError

DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CifarArchive:
    name: str
    filename: str
    url: str
    md5: str
    size: int  # bytes of the official archive: no read of it goes further
    train_members: tuple[str, ...]
    test_member: str
    label_key: bytes
    num_classes: int


CIFAR10 = CifarArchive(
    name="cifar10",
    filename="cifar-10-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    size=170_498_071,
    train_members=tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)),
    test_member="cifar-10-batches-py/test_batch",
    label_key=b"labels",
    num_classes=10,
)

CIFAR100 = CifarArchive(
    name="cifar100",
    filename="cifar-100-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    size=169_001_437,
    train_members=("cifar-100-python/train",),
    test_member="cifar-100-python/test",
    label_key=b"fine_labels",
    num_classes=100,
)

ARCHIVES = {archive.name: archive for archive in (CIFAR10, CIFAR100)}


def load_cifar(archive: CifarArchive, data_dir: Path, md5: str | None = None) -> Dataset:
    """Load `archive` from `data_dir`, downloading it first if it is not there.

    `md5` replaces the official checksum only so that tests can use tiny archives of
    their own; verification itself cannot be turned off.
    """
    expected = archive.md5 if md5 is None else md5
    path = Path(data_dir) / archive.filename
    if regular_file_size(path, f"{archive.name} archive") is None:
        _fetch(archive, path, expected)
    try:
        # One open file for checksum and reading: what was verified is what is read.
        with open(path, "rb") as handle:
            actual = _md5(handle, archive, path)
            if actual != expected:
                raise UserError(
                    f"checksum mismatch for {path}: expected md5 {expected}, got {actual}; "
                    f"the file is corrupt or not the official archive, delete it and "
                    f"re-download it from {archive.url}"
                )
            handle.seek(0)
            names = (*archive.train_members, archive.test_member)
            members = _read_members(handle, path, names)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {_one_line(exc)}") from exc
    train = [_batch(members[m], m, archive, path) for m in archive.train_members]
    x_test, y_test = _batch(members[archive.test_member], archive.test_member, archive, path)
    return make_dataset(
        archive.name,
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
        archive.num_classes,
    )


def download(url: str, dest: Path, md5: str) -> None:
    """Stream `url` into `dest`; only a complete download with the right md5 appears there."""
    print(f"downloading {url} to {dest}", file=sys.stderr)
    digest = hashlib.md5(usedforsecurity=False)
    with atomic_file(dest) as out:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise UserError(
                f"download of {url} has md5 {digest.hexdigest()}, expected {md5}; "
                f"nothing was saved, try again or download it by hand to {dest}"
            )


def _fetch(archive: CifarArchive, path: Path, md5: str) -> None:
    try:
        download(archive.url, path, md5)
    except (OSError, http.client.HTTPException) as exc:
        raise UserError(
            f"{archive.name} archive not found at {path} and downloading {archive.url} "
            f"failed ({_one_line(exc)}); download it by hand and put it at {path}, "
            f"or use --dataset npz:PATH or --dataset synthetic"
        ) from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _md5(handle: IO[bytes], archive: CifarArchive, path: Path) -> str:
    """The md5 of the file, read no further than the official archive's size: a file that
    is longer (or grows, or was swapped for a device since it was checked) is not it."""
    digest = hashlib.md5(usedforsecurity=False)
    remaining = archive.size
    while remaining >= 0 and (chunk := handle.read(min(_CHUNK, remaining + 1))):
        digest.update(chunk)
        remaining -= len(chunk)
    if remaining < 0:
        raise UserError(
            f"{path} is larger than the official {archive.name} archive ({archive.size:,} "
            f"bytes): it is not that archive, delete it and re-download it from {archive.url}"
        )
    return digest.hexdigest()


def _read_members(handle: IO[bytes], path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    # Stream mode decompresses the archive once, front to back.
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=handle, mode="r|gz") as tar:
        for member in tar:
            if member.name in names and member.isfile():
                found[member.name] = tar.extractfile(member).read()
    missing = [name for name in names if name not in found]
    if missing:
        raise UserError(f"{path} lacks the members {', '.join(missing)}: not a CIFAR archive")
    return found


def _batch(
    raw: bytes, member: str, archive: CifarArchive, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch as NHWC uint8 images and int64 labels."""
    batch = _unpickle(raw, f"{path}:{member}")
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(archive.label_key) if isinstance(batch, dict) else None
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * 32 * 32
        or not isinstance(labels, list)
        or len(labels) != len(data)
    ):
        raise UserError(
            f"{path}:{member} is not a CIFAR batch: expected uint8 b'data' of shape (N, 3072) "
            f"and a list of N {archive.label_key!r}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def _unpickle(raw: bytes, where: str) -> Any:
    # `bytes`: the batches were written by Python 2, whose str keys and array buffers
    # must stay bytes (the default ASCII decoding would fail on the pixel data).
    return _RestrictedUnpickler(io.BytesIO(raw), where).load()


def _array_reconstruct() -> Any:
    # The official pickles name numpy.core, which numpy 2 only keeps as a deprecated alias.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals needed to rebuild the numpy arrays of a CIFAR batch."""

    _ALLOWED: ClassVar[dict[tuple[str, str], Callable[[], Any]]] = {
        ("numpy.core.multiarray", "_reconstruct"): _array_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _array_reconstruct,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
    }

    def __init__(self, stream: IO[bytes], where: str) -> None:
        super().__init__(stream, encoding="bytes")
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        resolve = self._ALLOWED.get((module, name))
        if resolve is None:
            raise UserError(
                f"refusing to unpickle {module}.{name} from {self._where}: "
                f"CIFAR batches contain only numpy arrays, lists and strings"
            )
        return resolve()
