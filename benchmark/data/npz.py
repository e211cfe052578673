"""A user's own data set as an .npz file, checked before anything trusts its shapes.

The file is the one way to bring data the benchmark does not know, so every way it can
be malformed becomes a one-line error that names the file, instead of a shape error deep
inside training. Pickled (object) arrays are refused: an .npz must not run code.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from benchmark.data.dataset import Dataset, make_dataset
from benchmark.data.files import regular_file_size
from benchmark.errors import UserError

_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
# VGG-19 halves an image with four 2x2 max pools, so a side below 16 pools to nothing.
# ResNet-50 would take smaller images, but the data set is checked once, for whichever
# architecture of a grid reads it.
MIN_SIDE = 16
# The most a member's bytes can expand to, per zip method: np.savez stores members and
# np.savez_compressed deflates them, and deflate cannot compress better than 1032:1.
_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def load_npz(path_text: str) -> Dataset:
    """Load `x_train, y_train, x_test, y_test` from the .npz at `path_text` (cwd-relative)."""
    if not path_text:
        raise UserError("npz dataset needs a path: --dataset npz:PATH")
    given = Path(path_text).expanduser()
    if regular_file_size(given, "npz file") is None:
        raise UserError(f"npz file not found: {given.absolute()}")
    path = given.resolve()
    arrays = _read(path)
    for split in ("train", "test"):
        _check_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise UserError(
            f"{path}: x_train images have shape {arrays['x_train'].shape[1:]} but x_test "
            f"images {arrays['x_test'].shape[1:]}; both splits need the same (H, W, C)"
        )
    return make_dataset(
        f"npz:{path}",
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        _num_classes(path, arrays["y_train"], arrays["y_test"]),
    )


def _num_classes(path: Path, y_train: np.ndarray, y_test: np.ndarray) -> int:
    """C = the largest label + 1, where the training labels are exactly 0..C-1.

    The classifier gets C outputs, so a label that is a raw id or a sentinel (10^6, 2^62)
    would build a million-way classifier without a word, or one that cannot be allocated;
    and a class with no training image cannot be learnt. Requiring every class 0..C-1 in
    the training split refuses both, and bounds C by the number of training images.
    """
    count = int(max(y_train.max(), y_test.max())) + 1
    present = len(np.unique(y_train))
    if present < count:
        raise UserError(
            f"{path}: labels must number the classes 0..C-1, each with training images, but "
            f"the largest label is {count - 1} and y_train has {present} distinct labels; "
            "renumber them (np.unique(labels, return_inverse=True))"
        )
    return count


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise UserError(f"{path} is a single .npy array, not an .npz archive of named arrays")
        with loaded as npz:
            present = set(npz.files)
            missing = [key for key in _ARRAYS if key not in present]
            if missing:
                raise UserError(
                    f"{path} lacks the arrays {', '.join(missing)} "
                    f"(it has: {', '.join(sorted(present)) or 'none'}); "
                    f"expected {', '.join(_ARRAYS)}"
                )
            return {key: _member(npz, key, path) for key in _ARRAYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not a valid .npz file: {_one_line(exc)}") from exc


def _member(npz: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    declared = _declared_bytes(npz, key, path)
    try:
        return npz[key]
    except MemoryError:
        raise UserError(
            f"{path}: array {key} needs {declared / 2**30:.1f} GiB of memory, "
            "more than this machine can give"
        ) from None


def _declared_bytes(npz: np.lib.npyio.NpzFile, key: str, path: Path) -> int:
    """The bytes the array's .npy header declares, checked before numpy allocates them.

    numpy allocates the whole array from its header before it reads a byte of data, so a
    header that claims 10^12 images asks for petabytes; the claim must fit in what the
    member's stored bytes can expand to. Object arrays are refused here too: loading one
    would need pickle.
    """
    names = npz.zip.namelist()
    info = npz.zip.getinfo(key if key in names else f"{key}.npy")
    expansion = _EXPANSION.get(info.compress_type)
    if expansion is None:
        raise UserError(
            f"{path}: array {key} is compressed with zip method {info.compress_type}; "
            "write the file with np.savez or np.savez_compressed"
        )
    with npz.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in _HEADER_READERS:
            raise UserError(f"{path}: array {key} has .npy format version {version}")
        shape, _, dtype = _HEADER_READERS[version](member)
        header = member.tell()
    if dtype.hasobject:
        raise UserError(
            f"{path}: array {key} is an object array, which would need pickle; "
            f"store plain numeric arrays"
        )
    declared = math.prod(shape) * dtype.itemsize
    holds = min(info.file_size, info.compress_size * expansion) - header
    if declared > holds:
        raise UserError(
            f"{path}: array {key} declares shape {shape} ({declared:,} bytes), but its "
            f"member holds at most {max(holds, 0):,} bytes of data: the file is truncated "
            "or its header is wrong"
        )
    return declared


def _check_split(path: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    x, y = f"x_{split}", f"y_{split}"
    if images.dtype != np.uint8:
        raise UserError(f"{path}: {x} has dtype {images.dtype}; images must be uint8 (0-255)")
    if images.ndim != 4:
        raise UserError(
            f"{path}: {x} has shape {images.shape}; images must be 4-D (N, H, W, C), "
            f"add a channel axis for grayscale"
        )
    if len(images) == 0:
        raise UserError(f"{path}: {x} is empty; the {split} split needs at least one image")
    if 0 in images.shape[1:]:
        raise UserError(f"{path}: {x} has shape {images.shape}; H, W and C must be positive")
    height, width, channels = images.shape[1:]
    if min(height, width) < MIN_SIDE:
        # (N, 3, 32, 32) read as (N, H, W, C) is 3 rows of 32 channels
        layout = "; it looks like (N, C, H, W)" if height <= 4 < channels else ""
        raise UserError(
            f"{path}: {x} has shape {images.shape}; images are (N, H, W, C) with H and W "
            f"at least {MIN_SIDE}, which VGG-19 halves four times{layout}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{path}: {y} has dtype {labels.dtype}; labels must be integers")
    if labels.ndim != 1:
        raise UserError(f"{path}: {y} has shape {labels.shape}; labels must be 1-D (N,)")
    if len(labels) != len(images):
        raise UserError(f"{path}: {y} has {len(labels)} labels but {x} has {len(images)} images")
    if labels.min() < 0:
        raise UserError(f"{path}: {y} has negative labels (min {labels.min()})")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
