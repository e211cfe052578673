"""A store that cannot be written: refused before training, or a result kept, never lost."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
from collections import namedtuple
from pathlib import Path

import run_all
from benchmark import run as single_run
from benchmark.grid import execute
from benchmark.grid.presets import expand, load_preset
from benchmark.grid.store import RunStore
from tests.test_cli import TINY_FLAGS

ONE_RUN = ["--seeds", "1", "--set", "init_density=1.0"]
UNSAVED_FOLDER = f"fggp-bench-unsaved-{os.getuid()}"
"""The private fallback folder under $TMPDIR: one per user, named by the user's id."""


def tiny_config() -> dict:
    return expand(load_preset("tiny"), seeds=1)[0].to_dict()


def test_a_result_the_store_cannot_write_is_kept_in_a_fallback_file(tmp_path, monkeypatch):
    """A full disk after training once lost the result and, raised in a worker, the runs
    in flight beside it."""

    def full(self, result):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / "runs"))

    monkeypatch.setattr(RunStore, "write_result", full)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    config = tiny_config()
    outcome = execute.run_one(config, str(tmp_path / "store"), "cpu", 1)
    assert outcome.status == execute.UNSAVED and outcome.test_acc is not None
    assert "No space left on device" in outcome.error and "kept in" in outcome.error
    kept = tmp_path / "tmp" / UNSAVED_FOLDER / f"{outcome.run_id}.json"
    assert json.loads(kept.read_text())["final"]["test_acc"] == outcome.test_acc


def test_a_log_that_cannot_be_opened_does_not_stop_the_run(tmp_path):
    config = tiny_config()
    store = RunStore(tmp_path / "store")
    run_id = expand(load_preset("tiny"), seeds=1)[0].run_id()
    store.log_path(run_id).mkdir(parents=True)  # a folder where the log file should be
    outcome = execute.run_one(config, str(store.root), "cpu", 1)
    assert outcome.status == "completed" and "not written" in outcome.error
    assert store.read(run_id)["status"] == "completed"


def test_every_store_folder_is_checked_before_planning(tmp_path, capsys):
    out = tmp_path / "grid"
    out.mkdir()
    (out / "logs").write_text("not a folder")
    assert run_all.main(["--preset", "tiny", "--out", str(out), *ONE_RUN]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'logs'} is a file, not a folder" in err and err.count("\n") == 1
    assert not (out / "runs").exists() or not list((out / "runs").iterdir())


Usage = namedtuple("Usage", "total used free")


def test_too_little_space_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(2**30, 2**30 - 2**16, 2**16))
    out = tmp_path / "runs"
    assert single_run.main([*TINY_FLAGS, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "MB free, and the runs need about" in err and err.count("\n") == 1
    assert not list(out.glob("*.json"))
    grid = tmp_path / "grid"
    assert run_all.main(["--preset", "tiny", "--out", str(grid), *ONE_RUN]) == 2
    assert "MB free" in capsys.readouterr().err
    assert not (grid / "runs").exists() or not list((grid / "runs").iterdir())


def kept_in(said: str) -> Path:
    """The fallback file `keep_unsaved` says it wrote."""
    match = re.search(r"kept in (\S+): copy it", said)
    assert match, said
    return Path(match.group(1))


def assert_private(folder: Path) -> None:
    info = os.lstat(folder)
    assert stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode)
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700


def test_the_unsaved_fallback_never_follows_a_link_planted_in_the_shared_temp(
    tmp_path, monkeypatch
):
    """$TMPDIR is shared: another user's symlink there once received our results."""
    shared, theirs = tmp_path / "tmp", tmp_path / "theirs"
    shared.mkdir()
    theirs.mkdir()
    for name in ("fggp-bench-unsaved", UNSAVED_FOLDER):
        (shared / name).symlink_to(theirs)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    kept = kept_in(execute.keep_unsaved("abc123", {"final": {"test_acc": 1.0}}))
    assert list(theirs.iterdir()) == []
    assert_private(kept.parent)
    assert json.loads(kept.read_text()) == {"final": {"test_acc": 1.0}}


def test_a_fallback_folder_others_could_enter_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "tmp"
    open_folder = shared / UNSAVED_FOLDER
    open_folder.mkdir(parents=True)
    open_folder.chmod(0o777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    kept = kept_in(execute.keep_unsaved("abc123", {"a": 1}))
    assert kept.parent != open_folder and list(open_folder.iterdir()) == []
    assert_private(kept.parent)
    again = kept_in(execute.keep_unsaved("def456", {"a": 2}))
    assert json.loads(again.read_text()) == {"a": 2}
