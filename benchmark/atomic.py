"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Results and downloads are the only things this project writes that other processes
read back (the grid skips finished runs by their result file), so every such write
goes to a temporary file in the same folder and is renamed into place. The temporary is
written through the descriptor that created it, never reopened by its name, so a link
planted in a shared folder is never written through. The file gets
the mode an ordinary `open` would give it (0o666 less the umask): `mkstemp` creates it
0o600 whatever the umask, which on a group-shared results folder would leave every
result readable by its writer alone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary file to fill; renamed onto `path` if the block succeeds.

    The file is written through the descriptor `mkstemp` opened, never reopened by name: in
    a folder others can write to (a shared store), the name could meanwhile have become a
    link to someone else's file, which a reopen would follow. A temporary found replaced
    before the rename is not renamed into place (OSError).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
            os.fsync(handle.fileno())
            _still_ours(handle.fileno(), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a link planted there goes, its target stays


def _still_ours(fd: int, tmp: Path) -> None:
    """Refuse to publish `tmp` when its name no longer holds the file behind `fd`."""
    mine, there = os.fstat(fd), _lstat(tmp)
    if there is None or (mine.st_dev, mine.st_ino) != (there.st_dev, there.st_ino):
        raise OSError(errno.EEXIST, "was replaced while it was written, not saved", str(tmp))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    `os.umask` can only read the mask by setting it, and another thread creating a file in
    that moment would get the wrong mode, so Linux's /proc/self/status (4.7+) comes first.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # the strictest mask for the moment it is set
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as handle:
        handle.write(data)


def write_json_atomic(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))
