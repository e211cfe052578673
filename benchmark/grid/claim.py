"""Claiming a run, so that any number of grids on one store train each run once.

A process that trains a run holds `<root>/locks/<run_id>.lock` locked from before it
looks at the run's result until after it has written it. Any other process (a second
`run_all.py`, a local worker, a Slurm array task, on this host or another) that tries
the same run meanwhile is told at once who holds it, and skips it.

The lock is a POSIX record lock (`fcntl.lockf`): the kernel drops it when its process
dies, however it dies (`kill -9`, out of memory), so a crashed run is taken over by the
next process that claims it. POSIX locks are what NFS's locking implements (v4, or v3
with lockd), so they also keep hosts apart; a lock held by a host that dies is released
when the server's lease on it runs out (about 90 s on Linux). `flock` is not used: on
NFS it holds between hosts only where the client emulates it with POSIX locks. Some
cluster file systems lock only within one host unless mounted for it (Lustre without
`-o flock`, CIFS without POSIX extensions); on those, two hosts are not kept apart.
POSIX locks belong to a process, not to a file descriptor: a second claim from the
same process succeeds and closing any descriptor of the file releases it, so a run is
claimed by the worker process that trains it, once, and the lock file is opened
nowhere else in that process.

The file says who holds the run (host, pid, since when), for the message the others
get; it is emptied when the run is released, so a claim that finds it written knows
that its previous holder died holding it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from benchmark.errors import UserError
from benchmark.files import not_regular

_HOLDER_MAX = 4096  # bytes of the lock file worth reading: one line


class RunBusy(Exception):
    """Another live process holds the run; the message says who."""


class UnusableLock(UserError):
    """The run's lock file cannot be used (not a regular file): that run fails, not the
    grid, and the message says what to remove."""


@contextlib.contextmanager
def claim(path: Path) -> Iterator[str]:
    """Hold the lock file `path` for the block, or raise `RunBusy` at once.

    Yields who held it last and died holding it ('' when it was released cleanly).
    """
    path = Path(path)
    fd = _open(path)
    try:
        _lock(fd, path)
        abandoned = _holder(fd)
        _write(fd, f"{socket.gethostname()} pid {os.getpid()} since {_now()}")
        try:
            yield abandoned
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""A lock is truncated and written: opening a link planted in its place would truncate the
file it points to, and a FIFO swapped in after the check would block (O_NONBLOCK)."""


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    special = not_regular(path)
    if special is not None:
        raise UnusableLock(f"lock file {path} is {special}, not a regular file: remove it")
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o666)
    except PermissionError:
        raise UserError(
            f"cannot open {path} for writing: a results folder shared by several users "
            "needs group-writable files (umask 002)"
        ) from None
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise UnusableLock(_LINKED.format(path)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnusableLock(f"lock file {path} is not a regular file: remove it")
    return fd


_LINKED = "lock file {} is a symbolic link, which the store does not follow: remove it"


def _lock(fd: int, path: Path) -> None:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0, os.SEEK_SET)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EAGAIN):
            raise RunBusy(_holder(fd) or "another process") from None
        raise UserError(
            f"cannot lock {path}: {error.strerror}; the results folder must be on a file "
            "system with POSIX locks (a local disk, or NFS with locking)"
        ) from None


def _holder(fd: int) -> str:
    return os.pread(fd, _HOLDER_MAX, 0).decode("utf-8", "replace").strip()


def _write(fd: int, holder: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{holder}\n".encode(), 0)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
