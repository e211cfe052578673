"""The run store: one folder per grid, one file per run, safe to share between processes.

    <root>/manifest.json     the expanded grid, the command and the code version
    <root>/runs/<id>.json    a finished run: its result (completed) or its failure record
    <root>/logs/<id>.log     everything the run printed, appended across attempts
    <root>/checkpoints/<id>.pt  a run in progress (removed when it finishes)

Every file is written atomically, so a reader (another worker, a re-run after a crash)
sees a run as finished or not, never half-finished. A run's file name is its
configuration hash, so re-running a grid finds its finished runs without bookkeeping.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmark.atomic import write_json_atomic
from benchmark.config import RunConfig
from benchmark.environment import git_commit
from benchmark.errors import UserError
from benchmark.train import HARNESS_VERSION, SCHEMA

FAILED = ("failed", "diverged")


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def result_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    def log_path(self, run_id: str) -> Path:
        return self.root / "logs" / f"{run_id}.log"

    def checkpoint_path(self, run_id: str) -> Path:
        return self.root / "checkpoints" / f"{run_id}.pt"

    def read(self, run_id: str) -> dict[str, Any] | None:
        """The stored record of a run, or None if there is none or it cannot be trusted."""
        path = self.result_path(run_id)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            print(
                f"warning: {path} is unreadable ({error}); the run will be redone", file=sys.stderr
            )
            return None
        if not isinstance(record, dict) or record.get("schema") != SCHEMA:
            print(
                f"warning: {path} is not a {SCHEMA} record; the run will be redone", file=sys.stderr
            )
            return None
        if record.get("run_id") != run_id:
            print(
                f"warning: {path} holds run {record.get('run_id')}; the run will be redone",
                file=sys.stderr,
            )
            return None
        return record

    def read_all(self, configs: Iterable[RunConfig]) -> dict[str, dict[str, Any] | None]:
        """Every run's record by run id, each file read once (see `read`)."""
        return {config.run_id(): self.read(config.run_id()) for config in configs}

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

    def check_versions(self, records: Iterable[dict[str, Any] | None]) -> None:
        """Refuse to mix results of another harness version into this grid."""
        foreign = [
            record
            for record in records
            if record is not None and record.get("harness_version") != HARNESS_VERSION
        ]
        if foreign:
            versions = sorted({str(r.get("harness_version")) for r in foreign})
            raise UserError(
                f"{len(foreign)} results in {self.root} were written by harness version "
                f"{', '.join(versions)} (this is {HARNESS_VERSION}); use another --out folder, "
                "or --force to redo them"
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
