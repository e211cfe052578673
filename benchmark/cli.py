"""What every command line of the suite shares: the checks that run before any work
starts (a folder that can be written, room on its disk, a thread count). The exit codes
live in `benchmark.errors`, beside the error they answer, so that light modules use them.

The commands (`benchmark.run`, `run_all.py`, `benchmark.perf`, the regression gate,
`fggp-bench`) import it; nothing below the command lines should.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.models import build_model


def check_threads(threads: int) -> int:
    """`--threads`: between 1 and the cores there are; more only make torch's threads wait
    for each other."""
    cores = os.cpu_count() or 1
    if not 1 <= threads <= cores:
        raise UserError(f"--threads must be between 1 and {cores} (the CPU cores here)")
    return threads


def ensure_writable(folder: Path) -> None:
    """Fail before training, not after hours of it, when results could not be saved."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"output folder {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UserError(f"cannot write to output folder {folder}: {error.strerror}") from None


def space_needed(config: RunConfig) -> int:
    """Bytes a run writes at its peak: a checkpoint (weights, momentum buffers and masks:
    12 bytes a weight, from the model built on the meta device) and its result and log."""
    with torch.device("meta"):
        model = build_model(config.arch, 10, config.width)
    return 12 * sum(p.numel() for p in model.parameters()) + 2**20


def ensure_free_space(folder: Path, needed: int) -> None:
    """Refuse before training when the results could not be saved after it."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise UserError(
            f"{folder} has {free / 2**20:,.0f} MB free, and the runs need about "
            f"{needed / 2**20:,.0f} MB (checkpoints, results, logs): free some space or "
            "write elsewhere"
        )
