"""Files the suite reads back from a results folder must be regular files.

A FIFO in the place of a result, log, lock or checkpoint blocks whoever opens it, and a
symlink to /dev/zero never ends: one check, before any of them is opened, turns both
into a one-line explanation instead of a hang or an exhausted memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_regular(path: Path) -> str | None:
    """What `path` is when it exists and is not a regular file (symlinks followed)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:  # a symlink loop, a name too long: not a file we can read
        return f"unreadable ({error.strerror})"
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")
