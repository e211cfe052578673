"""The run store: one folder per grid, one file per run, safe to share between processes.

    <root>/manifest.json     the expanded grid, the command and the code version
    <root>/runs/<id>.json    a finished run: its result (completed) or its failure record
    <root>/logs/<id>.log     everything the run printed, appended across attempts
    <root>/checkpoints/<id>.pt  a run in progress (removed when it finishes)
    <root>/locks/<id>.lock   held by the process training the run (see claim.py)
    <root>/rejected/         result files set aside before their run was redone

Every file is written atomically, so a reader (another worker, a re-run after a crash)
sees a run as finished or not, never half-finished. A run's file name is its
configuration hash, so re-running a grid finds its finished runs without bookkeeping.
Any number of grids, local workers and Slurm tasks may share one store: each run is
trained by the one process that claims it (claim.py), which looks at the run's result
again under its claim, so a run finished elsewhere since this grid planned it is not
trained again.

A record is used only if it checks (record.py) and, where the store is told what data
its grid trains on now, if it was trained on that data (the same path may hold other
content than when the run read it): the store warns about any other file, leaves it
out, and moves it to rejected/ when the run is redone rather than overwrite it.

Nothing is written through a symbolic link, which anyone sharing the store may plant to
turn this process's writes onto their target: a folder of the store that is a link is
refused (`refuse_links`), a lock or a log that is one is not opened (O_NOFOLLOW), and
results, checkpoints and the manifest are renamed into place, which replaces a link.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.atomic import write_json_atomic
from benchmark.config import RunConfig
from benchmark.environment import git_commit
from benchmark.errors import UserError
from benchmark.files import not_regular
from benchmark.grid.record import ForeignVersion, Untrusted, check
from benchmark.result import HARNESS_VERSION, SCHEMA

FAILED = ("failed", "diverged")


@dataclass(frozen=True)
class Stored:
    """A run's result file as found: its record if it can be trusted, else why not."""

    record: dict[str, Any] | None
    problem: str | None = None
    stamp: str | None = None
    """Digest of the file's bytes (None: no file; "unreadable": no bytes to digest), which
    tells a worker whether the file changed since the grid read it."""
    foreign_version: str | None = None
    """The harness version of a genuine record of another version (see check_versions)."""


_FOLDERS = ("runs", "logs", "checkpoints", "locks", "rejected")
_OWN_FOLDERS = (*_FOLDERS, "slurm")  # slurm/: submitit's job files (grid/slurm.py)


class LinkedFolder(UserError):
    """A folder of the store is a symbolic link. In a shared store anyone may plant one,
    and every file written under it would land, with the writer's permissions, where the
    link points (another store's logs, a colleague's folder): the run or grid refuses."""


class RunStore:
    def __init__(self, root: Path, data: Mapping[str, str] | None = None) -> None:
        """`data`: the fingerprint of the data each dataset spec names now, by spec; a
        record of a spec listed there that trained on other data is not used."""
        self.root = Path(root)
        self.data = dict(data or {})
        self._stamps: dict[str, str | None] = {}  # run id -> stamp of its file when last read
        self._foreign: dict[str, str] = {}  # run id -> harness version of its result file

    def folders(self) -> tuple[Path, ...]:
        """Every folder the store writes into; a grid checks each before it plans."""
        return (self.root, *(self.root / name for name in _FOLDERS))

    def refuse_links(self) -> None:
        """Raise LinkedFolder for the first folder of the store that is a symbolic link.

        The root itself may be one (results/paper linked to a scratch disk): it is the
        user's own choice of --out, while what lies inside a shared root may not be.
        """
        for name in _OWN_FOLDERS:
            folder = self.root / name
            if folder.is_symlink():
                raise LinkedFolder(
                    f"store folder {folder} is a symbolic link, which the store does not "
                    "follow: replace it by a real folder"
                )

    def remove_partial_writes(self, run_id: str) -> list[Path]:
        """Delete the temporary files of a writer of `run_id` that died mid-write.

        Called under the run's claim, when no live process can be writing them; they are
        the `atomic_path` temporaries of its result, failure record and checkpoint.
        """
        found = [
            stale
            for folder in (self.result_path(run_id).parent, self.checkpoint_path(run_id).parent)
            for stale in folder.glob(f".{run_id}.*.tmp")
        ]
        for stale in found:
            stale.unlink(missing_ok=True)
        return found

    def result_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    def log_path(self, run_id: str) -> Path:
        return self.root / "logs" / f"{run_id}.log"

    def checkpoint_path(self, run_id: str) -> Path:
        return self.root / "checkpoints" / f"{run_id}.pt"

    def lock_path(self, run_id: str) -> Path:
        return self.root / "locks" / f"{run_id}.lock"

    def load(self, run_id: str) -> Stored:
        """The run's result file, read and checked now; says nothing and remembers nothing."""
        path = self.result_path(run_id)
        special = not_regular(path)
        if special is not None:
            return Stored(None, f"is {special}, not a regular file", "special")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Stored(None)
        except PermissionError:
            raise UserError(
                f"cannot read {path}: permission denied; a results folder shared by several "
                "users needs group-readable files (umask 002, and chmod g+r for older ones)"
            ) from None
        except OSError as error:
            return Stored(None, f"is unreadable ({error.strerror})", "unreadable")
        stamp = hashlib.sha256(data).hexdigest()[:16]
        try:
            record = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return Stored(None, f"is unreadable ({error})", stamp)
        try:
            check(record, run_id)
        except ForeignVersion as foreign:
            return Stored(None, str(foreign), stamp, str(foreign.version))
        except Untrusted as problem:
            return Stored(None, str(problem), stamp)
        other_data = self._other_data(record)
        if other_data is not None:
            return Stored(None, other_data, stamp)
        return Stored(record, None, stamp)

    def _other_data(self, record: dict[str, Any]) -> str | None:
        """Why a checked record does not stand for its run on the data given now, if so."""
        spec = record["config"]["dataset"]
        now = self.data.get(spec)
        data = record.get("data")
        then = data.get("fingerprint") if isinstance(data, dict) else None  # a failure has none
        if now is None or then is None or then == now:
            return None
        return (
            f"was trained on other data than {spec} holds now (fingerprint {then[:12]}, "
            f"now {now[:12]})"
        )

    def read(self, run_id: str) -> dict[str, Any] | None:
        """The run's record, or None if there is none or it cannot be trusted.

        An untrusted file gets one warning line (once per content) and is left where it
        is until its run is redone; a record of another harness version is left to
        `check_versions`, which refuses the grid unless it is redone on purpose.
        """
        stored = self.load(run_id)
        if stored.foreign_version is not None:
            self._foreign[run_id] = stored.foreign_version
        else:
            self._foreign.pop(run_id, None)
            if stored.problem is not None and self._stamps.get(run_id, "") != stored.stamp:
                print(
                    f"warning: {self.result_path(run_id)} {stored.problem}; it is left out, "
                    "and moved to rejected/ when the run is redone",
                    file=sys.stderr,
                )
        self._stamps[run_id] = stored.stamp
        return stored.record

    def read_all(self, configs: Iterable[RunConfig]) -> dict[str, dict[str, Any] | None]:
        """Every run's record by run id, each file read once (see `read`)."""
        return {config.run_id(): self.read(config.run_id()) for config in configs}

    def stamp(self, run_id: str) -> str | None:
        """The run's result file as this store last read it (None: there was none), for
        a worker to tell whether another process has written it since the grid planned."""
        if run_id not in self._stamps:
            self._stamps[run_id] = self.load(run_id).stamp
        return self._stamps[run_id]

    def set_aside(self, run_id: str) -> Path:
        """Move the run's result file to rejected/ (atomically: a rename), to be redone."""
        destination = self.root / "rejected" / f"{run_id}.{_timestamp()}.{os.getpid()}.json"
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.result_path(run_id), destination)
        return destination

    def status(self, run_id: str, record: dict[str, Any] | None) -> str:
        """completed, failed, diverged, incomplete (a checkpoint exists) or missing."""
        if record is not None:
            return record["status"]
        return "incomplete" if self.checkpoint_path(run_id).exists() else "missing"

    def write_result(self, result: dict[str, Any]) -> None:
        write_json_atomic(self.result_path(result["run_id"]), result)

    def write_failure(self, config: RunConfig, error: str) -> None:
        run_id = config.run_id()
        write_json_atomic(
            self.result_path(run_id),
            {
                "schema": SCHEMA,
                "harness_version": HARNESS_VERSION,
                "run_id": run_id,
                "status": "failed",
                "config": config.to_dict(),
                "error": error,
                "log": str(self.log_path(run_id)),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )

    def completed(self, configs: Iterable[RunConfig]) -> list[dict[str, Any]]:
        return completed(self.read_all(configs).values())

    def check_versions(self) -> None:
        """Refuse to mix results of another harness version into this grid, or to redo
        them unasked: `read` found them, and left them out."""
        if self._foreign:
            versions = ", ".join(sorted(set(self._foreign.values())))
            example = self.result_path(next(iter(self._foreign)))
            raise UserError(
                f"{len(self._foreign)} results in {self.root} (e.g. {example}) were written by "
                f"harness version {versions} (this is {HARNESS_VERSION}); use another --out "
                "folder, or --force to redo them"
            )

    def write_manifest(self, preset: str, configs: list[RunConfig], command: list[str]) -> None:
        write_json_atomic(
            self.root / "manifest.json",
            {
                "schema": "fggp-bench/manifest/1",
                "preset": preset,
                "command": command,
                "harness_version": HARNESS_VERSION,
                "git_commit": git_commit(),
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "runs": [{"run_id": c.run_id(), "config": c.to_dict()} for c in configs],
            },
        )


def completed(records: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [r for r in records if r is not None and r["status"] == "completed"]


def _timestamp() -> str:
    """Local time to the nanosecond: no two set-aside files of one run share a name."""
    ns = time.time_ns()
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(ns // 10**9)) + f".{ns % 10**9:09d}"
