"""Names a user types that become folders, and values that reach a Slurm batch script.

A results folder is named by `--out` or by its preset's file name, and the Slurm executor
writes that folder's path, its name (the job name) and `--slurm-partition` into the
batch script that sbatch runs with bash. A newline there starts a command of the user's
choosing; an empty name or `..` puts the store outside `results/`. What may pass is
decided here, once, for every command line.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from benchmark.errors import UserError


def control_character(text: str) -> str | None:
    """The first control or format character of `text` (a newline, an escape, a
    right-to-left override): none belongs in a name someone typed on purpose."""
    return next((c for c in text if unicodedata.category(c).startswith("C")), None)


def out_folder(text: str) -> Path:
    """`--out` as typed: an empty one was the working directory, since Path('') is '.'."""
    if not text.strip():
        raise UserError("--out is empty: name the results folder, e.g. --out results/mine")
    odd = control_character(text)
    if odd is not None:
        raise UserError(f"--out {text!r} holds the control character {odd!r}: name another")
    return Path(text)


def folder_name(name: str, where: str) -> str:
    """`name` as one folder inside another: not '.', '..', empty, a path or a control
    character, any of which would put what is written there outside (results/..)."""
    odd = control_character(name)
    if name in ("", ".", "..") or "/" in name or "\\" in name or odd is not None:
        raise UserError(f"{where}: its name {name!r} cannot name a results folder; rename it")
    return name


_SCRIPT_PATH_EXTRA = frozenset("._-/+,:@=")
"""Besides letters and digits, what a folder path may hold to be written into the batch
script: no shell metacharacter, no blank, no `%` (a Slurm file-name pattern)."""


def script_path(path: Path, option: str) -> Path:
    """`path` (absolute, as submitit writes it) if it may stand in a batch script."""
    text = str(path)
    bad = next((c for c in text if not (c.isalnum() or c in _SCRIPT_PATH_EXTRA)), None)
    if bad is not None:
        raise UserError(
            f"{option}: the path {text!r} holds {bad!r}, which would reach the Slurm batch "
            "script; use a folder whose path has only letters, digits and ._-/+,:@="
        )
    return path


_SLURM_NAME = re.compile(r"[A-Za-z0-9._,-]+")
"""A Slurm partition (or comma-separated list of them), account or the like."""


def slurm_name(value: str, option: str) -> str:
    if not _SLURM_NAME.fullmatch(value):
        raise UserError(
            f"{option} {value!r} would reach the Slurm batch script as it is: a name has "
            "only letters, digits and ._-, (commas between several)"
        )
    return value


def job_name(folder: str) -> str:
    """The Slurm job name of a grid in `folder`: every character but [A-Za-z0-9._-]
    replaced, so that no name, however it was made, carries anything into the script."""
    return "fggp-" + re.sub(r"[^A-Za-z0-9._-]", "_", folder)
