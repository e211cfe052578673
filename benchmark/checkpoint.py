"""A run's checkpoint: written atomically, read only by the safe loader.

A checkpoint lives in the run store and may have been left by another process, another
version or a careless copy, so reading one never unpickles: it holds only tensors and
plain values, which `torch.load(weights_only=True)` can read, and anything else is a
one-line error that names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmark.atomic import atomic_file
from benchmark.errors import UserError
from benchmark.files import not_regular


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_file(path) as handle:
        torch.save(state, handle)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Checkpoints hold only tensors and plain values, so the safe loader reads them."""
    special = not_regular(path)
    if special is not None:
        raise UserError(
            f"checkpoint {path} is {special}, not a regular file; delete it to restart the run"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which, do not crash
        raise UserError(
            f"cannot read checkpoint {path}: {error}; delete it to restart the run"
        ) from None
