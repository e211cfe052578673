"""A user's own data set as an .npz file, checked before anything trusts its shapes.

The file is the one way to bring data the benchmark does not know, so every way it can
be malformed becomes a one-line error that names the file, instead of a shape error deep
inside training. Pickled (object) arrays are refused: an .npz must not run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from benchmark.data.dataset import Dataset, make_dataset
from benchmark.errors import UserError

_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz(path_text: str) -> Dataset:
    """Load `x_train, y_train, x_test, y_test` from the .npz at `path_text` (cwd-relative)."""
    if not path_text:
        raise UserError("npz dataset needs a path: --dataset npz:PATH")
    path = Path(path_text).expanduser().resolve()
    arrays = _read(path)
    for split in ("train", "test"):
        _check_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise UserError(
            f"{path}: x_train images have shape {arrays['x_train'].shape[1:]} but x_test "
            f"images {arrays['x_test'].shape[1:]}; both splits need the same (H, W, C)"
        )
    num_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    return make_dataset(
        f"npz:{path}",
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        num_classes,
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise UserError(f"npz file not found: {path}")
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
    try:
        return npz[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UserError(
                f"{path}: array {key} is an object array, which would need pickle; "
                f"store plain numeric arrays"
            ) from exc
        raise


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
