"""The run store shared by many processes (issue 12): each run trained once whoever else
runs the grid, a record trusted only when it checks, files readable by the group."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import run_all
from benchmark.atomic import current_umask, write_json_atomic
from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.grid.execute import DONE_ELSEWHERE, RUNNING_ELSEWHERE, run_once
from benchmark.grid.presets import expand, load_preset
from benchmark.grid.store import RunStore
from benchmark.planning import prepare
from benchmark.train import train
from tests.support import TINY_RUN

ROOT = Path(__file__).resolve().parents[1]

TINY = TINY_RUN


# ---------------------------------------------------------------- file modes (point 4)


@pytest.mark.parametrize(("umask", "mode"), [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        write_json_atomic(tmp_path / "runs" / "r.json", {"a": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "runs" / "r.json").stat().st_mode) == mode


def test_the_umask_is_read_without_proc_too(monkeypatch):
    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/self/status")

    monkeypatch.setattr("benchmark.atomic.open", no_proc, raising=False)
    previous = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert os.umask(previous) == 0o027  # and it is left as it was
    finally:
        os.umask(previous)


# ---------------------------------------------------------------- trusted records (point 2)


@pytest.fixture(scope="module")
def trained() -> tuple[RunConfig, dict[str, Any]]:
    """One real completed record, for the tests to copy and damage."""
    config = prepare(TINY)
    return config, train(config)


def test_a_real_record_and_a_failure_record_are_trusted(tmp_path, trained, capsys):
    config, record = trained
    store = RunStore(tmp_path)
    store.write_result(record)
    assert store.read(config.run_id()) == record
    other = prepare(TINY.replace(seed=1))
    store.write_failure(other, "RuntimeError: out of memory")
    assert store.read(other.run_id())["status"] == "failed"
    assert capsys.readouterr().err == ""


def _edited_run_id(config: RunConfig, record: dict) -> tuple[RunConfig, Any]:
    """A result copied in from another run with its run id edited to this file's."""
    other = prepare(config.replace(seed=7))
    return other, {**record, "run_id": other.run_id()}


def _renamed(config: RunConfig, record: dict) -> tuple[RunConfig, Any]:
    return prepare(config.replace(seed=7)), record


def _edit(path: str, value: Any) -> Callable[[RunConfig, dict], tuple[RunConfig, Any]]:
    """The record with the field at dotted `path` set to `value` (deleted if it is `...`)."""

    def edited(config: RunConfig, record: dict) -> tuple[RunConfig, Any]:
        record = json.loads(json.dumps(record))
        *parents, name = path.split(".")
        target = record
        for parent in parents:
            target = target[int(parent)] if isinstance(target, list) else target[parent]
        if value is ...:
            del target[name]
        else:
            target[name] = value
        return config, record

    return edited


DAMAGED = {
    "run_id edited": (_edited_run_id, "config hashes to"),
    "file renamed": (_renamed, "holds run"),
    "config edited": (_edit("config.lr", 0.5), "config hashes to"),
    "config field gone": (_edit("config.seed", ...), "config lacks seed"),
    "config field of the wrong type": (_edit("config.epochs", "one"), "not a run configuration"),
    "no final": (_edit("final", ...), "final"),
    "test_acc null": (_edit("final.test_acc", None), "final.test_acc is null"),
    "test_acc NaN": (_edit("final.test_acc", float("nan")), "final.test_acc is NaN"),
    "no cost.wall_seconds": (_edit("cost.wall_seconds", ...), "lacks cost.wall_seconds"),
    "history entry": (_edit("history.0.epoch", "1"), "history[0].epoch"),
    "layers not a list": (_edit("layers", {}), "layers is {}, not a list"),
    "unknown status": (_edit("status", "done"), 'has status "done"'),
    "not an object": (lambda config, record: (config, [1, 2]), "is not a JSON object"),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_record_that_does_not_check_is_left_out_with_one_line(tmp_path, trained, capsys, case):
    damage, reason = DAMAGED[case]
    config, content = damage(*trained)
    store = RunStore(tmp_path)
    path = store.result_path(config.run_id())
    path.parent.mkdir(parents=True)
    path.write_text(text := json.dumps(content))
    records = store.read_all([config])
    assert records == {config.run_id(): None}
    assert store.status(config.run_id(), None) == "missing"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and reason in err, err
    assert store.read(config.run_id()) is None
    assert capsys.readouterr().err == ""  # said once per file content
    assert path.read_text() == text  # left in place until the run is redone


def test_a_record_of_another_harness_version_is_left_out_and_refused(tmp_path, trained, capsys):
    config, record = trained
    store = RunStore(tmp_path)
    write_json_atomic(store.result_path(config.run_id()), {**record, "harness_version": 0})
    assert store.read_all([config]) == {config.run_id(): None}
    assert capsys.readouterr().err == ""  # check_versions says it, once for the grid
    with pytest.raises(UserError, match=r"1 results .* harness version 0 .*--force") as error:
        store.check_versions()
    assert str(store.result_path(config.run_id())) in str(error.value)
    assert store.result_path(config.run_id()).exists()


def test_an_untrusted_record_is_moved_aside_when_its_run_is_redone(tmp_path, trained, capsys):
    config, record = trained
    store = RunStore(tmp_path)
    damaged = json.dumps({**record, "final": {**record["final"], "test_acc": None}})
    store.result_path(config.run_id()).parent.mkdir(parents=True)
    store.result_path(config.run_id()).write_text(damaged)
    assert store.read(config.run_id()) is None  # the grid plans to redo it
    outcome = run_once(config.to_dict(), str(tmp_path), "cpu", 1, seen=store.stamp(config.run_id()))
    assert outcome.status == "completed"
    (rejected,) = (tmp_path / "rejected").iterdir()
    assert rejected.read_text() == damaged and rejected.name.startswith(config.run_id())
    assert store.read(config.run_id())["final"]["test_acc"] == outcome.test_acc
    err = capsys.readouterr().err
    assert f"moved to {rejected}" in err
    assert f"moved to {rejected}" in store.log_path(config.run_id()).read_text()


def test_the_grid_summarises_around_damaged_records(tmp_path, capsys):
    """No KeyError or TypeError from run_all, the statistics or the report: the store
    leaves the damaged records out, with a line each."""
    out = tmp_path / "grid"
    grid = ["--preset", "tiny", "--out", str(out), "--device", "cpu", "--seeds", "1"]
    grid += ["--set", "init_density=1.0", "--workers", "1"]
    assert run_all.main(grid) == 0
    store = RunStore(out)
    configs = expand(load_preset("tiny"), seeds=1, overrides={"init_density": 1.0})
    damages = [_edit("final", ...), _edit("final.test_acc", None)]
    for config, damage in zip(configs[:2], damages, strict=True):
        _, record = damage(config, store.read(config.run_id()))
        store.result_path(config.run_id()).write_text(json.dumps(record))
    capsys.readouterr()
    assert run_all.main([*grid, "--report-only"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning:") == 2, captured.err
    assert "grid: 5 runs (3 completed, 2 missing); to run now: 0 runs" in captured.out


# ---------------------------------------------------------------- claims (point 1)

HOLD = """
import sys, time
from pathlib import Path
from benchmark.grid.claim import claim
with claim(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_run_held_elsewhere_is_skipped_and_a_dead_holder_is_taken_over(tmp_path):
    config = prepare(TINY)
    store = RunStore(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.lock_path(config.run_id()))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        outcome = run_once(config.to_dict(), str(tmp_path), "cpu", 1)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert outcome.status == RUNNING_ELSEWHERE
    assert f"{socket.gethostname()} pid {holder.pid}" in outcome.error
    assert not store.log_path(config.run_id()).exists()  # the holder's log is left alone
    assert store.read(config.run_id()) is None

    outcome = run_once(config.to_dict(), str(tmp_path), "cpu", 1)  # the kernel freed its lock
    assert outcome.status == "completed"
    log = store.log_path(config.run_id()).read_text()
    assert f"taking over from {socket.gethostname()} pid {holder.pid} since" in log
    assert store.lock_path(config.run_id()).read_text() == ""  # released cleanly this time


def test_a_result_written_since_the_grid_planned_is_not_trained_again(tmp_path):
    config = prepare(TINY)
    store = RunStore(tmp_path)
    planned = store.stamp(config.run_id())  # the grid saw no result
    RunStore(tmp_path).write_failure(config, "RuntimeError: elsewhere")  # another process
    outcome = run_once(config.to_dict(), str(tmp_path), "cpu", 1, seen=planned)
    assert outcome.status == DONE_ELSEWHERE
    assert not store.log_path(config.run_id()).exists()
    assert store.read(config.run_id())["error"] == "RuntimeError: elsewhere"
    # A grid that saw this failure and chose to retry it does train it.
    outcome = run_once(config.to_dict(), str(tmp_path), "cpu", 1, seen=store.stamp(config.run_id()))
    assert outcome.status == "completed"


@pytest.mark.parametrize("apart", [0, 6], ids=["started together", "started 6 s apart"])
def test_two_grids_on_one_folder_run_every_run_once(tmp_path, apart):
    out = tmp_path / "grid"
    command = [sys.executable, "run_all.py", "--preset", "tiny", "--device", "cpu"]
    command += ["--workers", "1", "--out", str(out)]
    grids = []
    for delay in (0, apart):
        time.sleep(delay)
        grids.append(
            subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    results = [grid.communicate(timeout=600) for grid in grids]
    for grid, (_, stderr) in zip(grids, results, strict=True):
        assert grid.returncode == 0 and "Traceback" not in stderr, stderr
    assert any("elsewhere" in stdout for stdout, _ in results), "the grids did not overlap"
    store = RunStore(out)
    for config in expand(load_preset("tiny")):
        log = store.log_path(config.run_id()).read_text()
        assert log.count(f"run {config.run_id()} on cpu") == 1, log
        assert log.count("--- finished: completed") == 1, log
        assert store.read(config.run_id())["status"] == "completed"


def test_temporaries_of_a_writer_that_died_are_removed_when_the_run_is_claimed(tmp_path):
    """kill -9 between an atomic write's temporary file and its rename leaves the file."""
    from benchmark.grid.execute import _prepare_redo

    store = RunStore(tmp_path)
    run_id = "0123456789abcdef"
    stale = [
        tmp_path / "runs" / f".{run_id}.json.x1.tmp",
        tmp_path / "checkpoints" / f".{run_id}.pt.x2.tmp",
    ]
    other = tmp_path / "runs" / ".fedcba9876543210.json.x3.tmp"
    for path in (*stale, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    _prepare_redo(store, run_id, store.load(run_id), "")
    assert not any(p.exists() for p in stale) and other.exists()  # another run's is left
    assert "left by a writer that died" in store.log_path(run_id).read_text()


# ------------------------------------------- files that are not files (tools/attack.py)


def special_files(tmp_path: Path) -> dict[str, Callable[[Path], None]]:
    """Ways a path in a store can be something that blocks or never ends when read."""

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    def endless(path: Path) -> None:
        path.symlink_to("/dev/zero")

    return {"a FIFO": fifo, "a character device": endless}


@pytest.mark.parametrize("kind", ["a FIFO", "a character device"])
def test_a_result_that_is_not_a_regular_file_is_reported_not_read(tmp_path, kind):
    """A FIFO result once hung even --report-only; /dev/zero read until memory ran out."""
    store = RunStore(tmp_path)
    config = expand(load_preset("tiny"), seeds=1)[0]
    store.result_path(config.run_id()).parent.mkdir(parents=True)
    special_files(tmp_path)[kind](store.result_path(config.run_id()))
    stored = store.load(config.run_id())
    assert stored.record is None and stored.problem == f"is {kind}, not a regular file"
    moved = store.set_aside(config.run_id())  # redone like any untrusted record
    assert moved.is_symlink() or stat.S_ISFIFO(os.lstat(moved).st_mode)


@pytest.mark.parametrize("kind", ["a FIFO", "a character device"])
def test_logs_locks_and_checkpoints_that_are_not_regular_files(tmp_path, kind):
    make = special_files(tmp_path)[kind]
    config = expand(load_preset("tiny"), seeds=1)[0]
    store = RunStore(tmp_path / "store")
    for folder in store.folders():
        folder.mkdir(parents=True, exist_ok=True)
    run_id = config.run_id()

    make(store.log_path(run_id))  # a log is a diagnostic: the run goes on without it
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert outcome.status == "completed" and f"it is {kind}" in outcome.error
    store.result_path(run_id).unlink()

    make(store.checkpoint_path(run_id))  # never read: the run fails, saying why
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert outcome.status == "failed" and f"is {kind}, not a regular file" in outcome.error
    store.result_path(run_id).unlink()
    store.checkpoint_path(run_id).unlink()

    store.lock_path(run_id).unlink()  # left, empty, by the runs above
    make(store.lock_path(run_id))  # the claim cannot be taken: that run fails, saying why
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert outcome.status == "failed" and f"lock file {store.lock_path(run_id)} is {kind}" in (
        outcome.error
    )


# ------------------------------------------- links planted in a shared store


PRECIOUS = "someone else's file\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the store that a link planted in it points to."""
    path = tmp_path / "theirs" / "precious.txt"
    path.parent.mkdir()
    path.write_text(PRECIOUS)
    return path


def linked_store(tmp_path: Path, entry: Callable[[RunStore, str], Path], target: Path):
    """A store whose `entry` of the tiny preset's first run is a symlink to `target`."""
    config = expand(load_preset("tiny"), seeds=1)[0]
    store = RunStore(tmp_path / "store")
    link = entry(store, config.run_id())
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return config, store, link


def test_a_lock_that_is_a_link_fails_its_run_and_leaves_the_target_whole(tmp_path, victim):
    """Claiming a run truncated the file its lock linked to, and wrote the holder into it."""
    config, store, link = linked_store(tmp_path, RunStore.lock_path, victim)
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert victim.read_text() == PRECIOUS
    assert outcome.status == "failed" and f"lock file {link} is a symbolic link" in outcome.error


def test_a_log_that_is_a_link_is_not_written_through(tmp_path, victim):
    """The run's log lines were appended to the file its log linked to."""
    config, store, link = linked_store(tmp_path, RunStore.log_path, victim)
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert victim.read_text() == PRECIOUS
    assert outcome.status == "completed" and f"log {link} not written" in outcome.error
    assert "symbolic link" in outcome.error


@pytest.mark.parametrize("folder", ["logs", "locks", "runs", "checkpoints", "rejected"])
def test_a_store_folder_that_is_a_link_is_refused(tmp_path, victim, capsys, folder):
    """logs/ linked to another store's logs/ appended this run's lines to that run's log."""
    theirs = victim.parent
    for name in ("run.log", "run.lock", "run.json"):
        (theirs / name).write_text(PRECIOUS)
    config, store, link = linked_store(tmp_path, lambda s, _: s.root / folder, theirs)
    for name in ("log", "lock", "json"):
        os.link(theirs / f"run.{name}", theirs / f"{config.run_id()}.{name}")
    outcome = run_once(config.to_dict(), str(store.root), "cpu", 1)
    assert outcome.status == "failed" and f"{link} is a symbolic link" in outcome.error
    assert all(path.read_text() == PRECIOUS for path in theirs.iterdir())
    argv = ["--preset", "tiny", "--seeds", "1", "--out", str(store.root)]
    assert run_all.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{link} is a symbolic link" in err and err.count("\n") == 1
    assert all(path.read_text() == PRECIOUS for path in theirs.iterdir())


def test_an_atomic_write_never_writes_through_a_swapped_temporary(tmp_path, victim, monkeypatch):
    """A co-user who swaps the temporary for a link between its creation and its write got
    that write (and its chmod) applied to the link's target."""
    real = tempfile.mkstemp

    def swapped(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real(*args, **kwargs)
        os.unlink(name)
        os.symlink(victim, name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", swapped)
    with pytest.raises(OSError, match="replaced while it was written"):
        write_json_atomic(tmp_path / "runs" / "r.json", {"a": 1})
    assert victim.read_text() == PRECIOUS
    assert not (tmp_path / "runs" / "r.json").exists()
