"""Running a grid's runs: one worker function, and a local pool of worker processes.

`run_once` is the unit every executor calls: it claims the run (claim.py), so that of
all the processes sharing the store only one trains it, and `run_one` then trains it
with a checkpoint in the store, writes its result (or its failure record) atomically,
and never lets one run's exception stop the others. Workers are separate processes so a
crash, an out-of-memory error or a `kill -9` costs at most the runs in flight, which
the next invocation resumes from their checkpoints.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import multiprocessing
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchmark.atomic import current_umask
from benchmark.config import RunConfig, config_from_dict
from benchmark.devices import resolve_device
from benchmark.errors import UserError
from benchmark.files import not_regular
from benchmark.grid.claim import RunBusy, UnusableLock, claim
from benchmark.grid.store import LinkedFolder, RunStore, Stored
from benchmark.interrupts import ignore_interrupts
from benchmark.train import train

CHECKPOINT_EVERY = 5  # epochs


@dataclass(frozen=True)
class Outcome:
    run_id: str
    status: str
    test_acc: float | None
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Execution:
    """How a grid's runs are executed, none of which is part of a run's identity.

    `compile` runs each model through torch.compile. `time_limit` (seconds; 0: none) ends
    a run that takes longer, as that run's failure: a user's method stuck in a loop would
    otherwise hold its worker, and the grid, forever. A run stopped this way keeps its
    last checkpoint, so `--retry-failed` (with a larger limit) resumes it.
    """

    compile: bool = False
    time_limit: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit) and self.time_limit >= 0):
            raise UserError("the per-run time limit must be a non-negative number (0: none)")


NO_OPTIONS = Execution()
"""The default: no compile, no time limit."""


class RunTimedOut(Exception):
    """A run went past its `Execution.time_limit`."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise RunTimedOut in this (main) thread once `seconds` have passed; 0: no limit.

    SIGALRM interrupts Python code wherever it is, a method's endless loop or a sleep
    included, and a long C++ kernel as soon as it returns; no other thread or process is
    needed, so the worker and its pool stay intact.
    """
    if seconds <= 0:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise RunTimedOut(f"the run took longer than its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


RUNNING_ELSEWHERE = "running elsewhere"
"""The outcome of a run that another live process holds: skipped here, not failed."""
DONE_ELSEWHERE = "done elsewhere"
"""The outcome of a run whose result another process wrote after this grid planned it."""


def run_once(
    config_data: dict[str, Any],
    root: str,
    device: str,
    threads: int,
    execution: Execution = NO_OPTIONS,
    seen: str | None = None,
    data: Mapping[str, str] | None = None,
) -> Outcome:
    """`run_one` under the run's claim, unless another process has the run or has run it.

    `seen` is the run's result file as the grid found it when it chose the run
    (`RunStore.stamp`; None: there was none): a different one under the claim means that
    another process wrote it since, and the run is not trained again. `data` is the
    grid's `RunStore.data`, so that a result of other data is set aside, not overwritten.
    """
    store = RunStore(Path(root), data)
    run_id = config_from_dict(config_data).run_id()
    try:
        store.refuse_links()  # checked by the grid too, but a link may be planted since
        with claim(store.lock_path(run_id)) as abandoned:
            stored = store.load(run_id)
            if stored.stamp != seen:
                message = "another process wrote its result after this grid planned it"
                return Outcome(run_id, DONE_ELSEWHERE, None, 0.0, message)
            _prepare_redo(store, run_id, stored, abandoned)
            return run_one(config_data, root, device, threads, execution)
    except RunBusy as busy:
        return Outcome(run_id, RUNNING_ELSEWHERE, None, 0.0, f"held by {busy}")
    except (UnusableLock, LinkedFolder) as error:
        return Outcome(run_id, "failed", None, 0.0, str(error))


def _prepare_redo(store: RunStore, run_id: str, stored: Stored, abandoned: str) -> None:
    """Say in the run's log that it is taken over, and move a result file that cannot be
    trusted out of the way: it is evidence, which the new result must not overwrite."""
    notes = [f"taking over from {abandoned}, which died holding the run"] if abandoned else []
    notes += [
        f"removed {stale}, left by a writer that died"
        for stale in store.remove_partial_writes(run_id)
    ]
    if stored.problem is not None:
        moved = store.set_aside(run_id)
        notes.append(f"{store.result_path(run_id)} {stored.problem}: moved to {moved}")
        print(f"warning: {notes[-1]}", file=sys.stderr)
    with RunLog(store.log_path(run_id)) as log:  # a log that cannot be written stops nothing
        for note in notes:
            log(f"--- {note}")


def run_one(
    config_data: dict[str, Any],
    root: str,
    device: str,
    threads: int,
    execution: Execution = NO_OPTIONS,
) -> Outcome:
    """Train one run into the store at `root`; failures are recorded, not raised.

    Nothing here may raise for a file system's sake: a log that cannot be written is
    noted, and a result that cannot be written is kept in a fallback file (UNSAVED), so
    the runs in flight beside it go on and no computed result is lost.
    """
    config = config_from_dict(config_data)
    store = RunStore(Path(root))
    run_id = config.run_id()
    torch.set_num_threads(threads)
    started = time.perf_counter()
    with RunLog(store.log_path(run_id)) as log:
        log(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} run {run_id} on {device}, pid {os.getpid()}")
        try:
            with time_limit(execution.time_limit):
                result = train(
                    config,
                    device=device,
                    log=log,
                    checkpoint=store.checkpoint_path(run_id),
                    checkpoint_every=CHECKPOINT_EVERY,
                    compile=execution.compile,
                )
        except Exception as error:  # isolate the run: record it, keep the grid going
            log(traceback.format_exc())
            message = f"{type(error).__name__}: {error}".splitlines()[0]
            unwritten = _write(lambda: store.write_failure(config, message))
            message = _join(message, unwritten and f"its failure record is not saved: {unwritten}")
            return Outcome(run_id, "failed", None, time.perf_counter() - started, message)
        unwritten = _write(lambda: store.write_result(result))
        seconds = time.perf_counter() - started
        accuracy = result["final"]["test_acc"]
        if unwritten is not None:
            kept = keep_unsaved(run_id, result)
            log(f"--- finished, result not saved: {unwritten}; {kept}")
            return Outcome(run_id, UNSAVED, accuracy, seconds, _join(unwritten, kept, log.problem))
        log(f"--- finished: {result['status']}")
        return Outcome(run_id, result["status"], accuracy, seconds, log.problem)


UNSAVED = "unsaved"
"""The outcome of a run that trained but whose result file could not be written."""


_LOG_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""A log is appended to: a link planted in its place must not add our lines to the file
it points to, nor a FIFO swapped in after the check block the run (O_NONBLOCK)."""


class RunLog:
    """A run's log, appended to; one that cannot be opened or written is noted in
    `problem` and the run goes on without it (a log is a diagnostic, not a result)."""

    def __init__(self, path: Path) -> None:
        self.path, self.problem = path, None
        self.file = None
        special = not_regular(path)
        if special is not None:
            self.problem = f"log {path} not written: it is {special}, not a regular file"
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = os.fdopen(os.open(path, _LOG_FLAGS, 0o666), "a", encoding="utf-8")
        except OSError as error:
            why = "it is a symbolic link" if error.errno == errno.ELOOP else error.strerror
            self.problem = f"log {path} not written: {why or error}"

    def __call__(self, line: str) -> None:
        if self.file is None:
            return
        try:
            self.file.write(line + "\n")
            self.file.flush()
        except OSError as error:
            self.problem = f"log {self.path} cut short: {error.strerror or error}"
            self.__exit__()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *_: object) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None


def _write(write: Callable[[], object]) -> str | None:
    """Why `write` failed (one line), or None when it succeeded."""
    try:
        write()
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return None


def keep_unsaved(run_id: str, result: dict[str, Any]) -> str:
    """Write a result the store refused to a private fallback folder; say where (or that
    it is lost). Not in the store: whatever refused the result there (a full disk, a
    folder in its place) would most likely refuse it again."""
    kept: list[Path] = []
    problem = _write(lambda: kept.append(_write_private(run_id, result)))
    if problem is not None:
        return f"the result could not be kept anywhere either ({problem})"
    return f"the result is kept in {kept[0]}: copy it into the store's runs/ folder"


def _write_private(run_id: str, result: dict[str, Any]) -> Path:
    """`result` as <run_id>.json in the user's private folder under $TMPDIR, written
    relative to that folder's descriptor, never through a link (O_NOFOLLOW, O_EXCL)."""
    folder, fd = _private_folder()
    try:
        text = json.dumps(result, indent=2, sort_keys=True, allow_nan=False) + "\n"
        tmp, name = f".{run_id}.{os.getpid()}.{time.time_ns()}.tmp", f"{run_id}.json"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        file = os.open(tmp, flags, 0o666 & ~current_umask(), dir_fd=fd)
        with os.fdopen(file, "wb") as handle:
            handle.write(text.encode("utf-8"))
            os.fsync(handle.fileno())
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        return folder / name
    finally:
        os.close(fd)


def unsaved_folder_name() -> str:
    """One fallback folder per user: $TMPDIR is shared, and another user's is not ours."""
    return f"fggp-bench-unsaved-{os.getuid()}"


def _private_folder() -> tuple[Path, int]:
    """The fallback folder and an open descriptor of it, checked on that descriptor.

    Anyone may create the usual name in a shared $TMPDIR first, as a link to their own
    folder or as a folder they can enter; only a folder of ours that no one else may
    enter (0o700, no link: O_NOFOLLOW) is used, else a fresh one from `mkdtemp`.
    """
    usual = Path(tempfile.gettempdir()) / unsaved_folder_name()
    usual.parent.mkdir(parents=True, exist_ok=True)  # a $TMPDIR of the user's not made yet
    with contextlib.suppress(FileExistsError):
        os.mkdir(usual, 0o700)
    fd = _open_private(usual)
    if fd is not None:
        return usual, fd
    fresh = Path(tempfile.mkdtemp(prefix=f"{unsaved_folder_name()}."))
    fd = _open_private(fresh)
    if fd is None:
        raise OSError(errno.EPERM, "no private folder could be made for it", str(fresh))
    return fresh, fd


def _open_private(folder: Path) -> int | None:
    """A descriptor of `folder` if it is a real folder of ours, closed to everyone else."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077 == 0:
        return fd
    os.close(fd)
    return None


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


_worker_device = "cpu"


def _init_worker(devices: Any, parent: int) -> None:
    """Each worker process takes one device slot (a GPU appears runs-per-gpu times) and
    ties its life to the grid's process `parent`."""
    global _worker_device
    die_with_parent(parent)
    _worker_device = devices.get()


def die_with_parent(parent: int) -> None:
    """End this process when `parent` dies, however it dies (kill -9 included).

    A worker outliving its grid keeps training (about 800 MB each) and writing results
    nobody asked for, with multiprocessing's resource tracker waiting on it. Linux's
    parent-death signal does it in the kernel; elsewhere a daemon thread polls the
    parent's pid. The parent may already be gone when this runs: then exit at once.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _run_in_worker(
    config_data: dict[str, Any],
    root: str,
    threads: int,
    execution: Execution,
    seen: str | None,
    data: Mapping[str, str],
) -> Outcome:
    return run_once(config_data, root, _worker_device, threads, execution, seen, data)


CPU_WORKERS_MAX = 8
"""Default CPU workers: one single-threaded run per core, since the small networks a CPU
trains scale worse across threads than across processes (about 800 MB each)."""


WORKERS_PER_CORE_MAX = 4
GRID_DEVICES = ("auto", "cpu", "cuda")
"""A grid spreads its workers over every visible GPU: it takes a kind, not cuda:N."""


def device_slots(device: str, workers: int, runs_per_gpu: int) -> list[str]:
    """Where each worker runs: GPUs round-robin (each `runs_per_gpu` times), else the CPU.

    At most a few workers per CPU core: every worker needs one (on the CPU to compute, on
    a GPU to launch its kernels), more only time-share the cores while each holds its own
    model and data, and an absurd count (--workers 1000000) fills the queue of slots past
    what its pipe takes, which hangs the exit.
    """
    if workers < 0 or runs_per_gpu < 1:
        raise UserError("--workers must be 0 (the default) or more, --runs-per-gpu at least 1")
    if device not in GRID_DEVICES:
        raise UserError(f"unknown device {device!r} for a grid; use auto, cpu or cuda")
    cores = os.cpu_count() or 1
    if resolve_device(device).type == "cuda":  # the one device check, GPUs counted there
        devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        slots = workers or len(devices) * runs_per_gpu
    else:
        devices = ["cpu"]
        slots = workers or min(cores, CPU_WORKERS_MAX)
    if slots > WORKERS_PER_CORE_MAX * cores:
        raise UserError(
            f"{slots} workers asked for, but this machine has {cores} CPU cores and every "
            f"worker needs one: ask for at most {WORKERS_PER_CORE_MAX * cores}"
        )
    return [devices[i % len(devices)] for i in range(slots)]


def run_local(
    configs: Sequence[RunConfig],
    store: RunStore,
    slots: Sequence[str],
    on_finish: Callable[[RunConfig, Outcome], None],
    execution: Execution = NO_OPTIONS,
) -> list[Outcome]:
    """Run `configs` on a pool with one worker process per device slot."""
    cpu_workers = sum(slot == "cpu" for slot in slots)
    threads = max(1, (os.cpu_count() or 1) // max(cpu_workers, 1))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for slot in slots:
        queue.put(slot)
    outcomes = []
    with ProcessPoolExecutor(
        max_workers=len(slots),
        mp_context=context,
        initializer=_init_worker,
        initargs=(queue, os.getpid()),
    ) as pool:
        futures = {
            pool.submit(
                _run_in_worker,
                config.to_dict(),
                str(store.root),
                threads,
                execution,
                store.stamp(config.run_id()),
                store.data,
            ): config
            for config in configs
        }
        try:
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                on_finish(futures[future], outcome)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or a worker died: stop the runs in flight too,
            # deaf to a second Ctrl-C, which would break off this clean-up half-way.
            ignore_interrupts()
            # Their results are not written (writes are atomic) and their last checkpoint
            # stays, so the next invocation resumes them. Python < 3.14 has no public
            # terminate_workers(), hence the private process table.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return outcomes
