"""Data files are read only when they are regular files: what else a path names may never end.

A data path is the user's to choose, and a path can name a symlink loop (`Path.resolve`
raises a RuntimeError on it), a character device (`/dev/zero` reads forever), a FIFO (a
read blocks until someone writes) or a folder. Each is a one-line error here, before
anything opens it.
"""

from __future__ import annotations

import stat
from pathlib import Path

from benchmark.errors import UserError


def regular_file_size(path: Path, what: str) -> int | None:
    """The size of the regular file at `path` (symlinks followed), None if nothing is there.

    `what` names the file in errors ("npz file", "cifar10 archive").
    """
    try:
        info = path.stat()
    except FileNotFoundError:  # also a symlink to nothing
        return None
    except OSError as error:  # a symlink loop, a file where a folder should be, no permission
        raise UserError(f"cannot read {what} {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{what} {path} is not a regular file")
    return info.st_size
