"""Reference files: what a regression preset measured, per method and setting.

    {"schema": "fggp-bench/reference/2", "preset": "regression", "harness_version": 1,
     "measured": {"at", "seconds", "command", "git_commit", "environment"},
     "selection": {"inputs": "fggp-bench/selection-inputs/1", "sha256": {method: hex}},
     "cells": [{"key", "setting", "method", "config", "seeds", "accuracy", "n", "mean",
                "std", "sparsity", "n_test", "data", "method_source"}, ...]}

`selection` holds the exact tier's fingerprints (`selection.py`). A file of the first
schema, written before there were fingerprints, is still read: it has no `selection`,
and a check against it says that its exact tier is skipped.

A cell is every run of one configuration but its seed; its `key` hashes that
configuration (without the seed, and without a file method's `source_sha256`: the code
of a method is what the check judges, not part of the setting). A check may only compare
a grid with the reference of the same cells and seeds; anything else is a clear error.
Files are strict JSON with sorted keys, written atomically, so `--update-reference`
leaves a reviewable diff.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import baselines
from benchmark import stats
from benchmark.atomic import write_json_atomic
from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.regression import selection as exact
from benchmark.regression.rule import sparsity_problem
from benchmark.result import HARNESS_VERSION
from benchmark.stats.table import CONDITION_FIELDS, DENSE, MODEL_FIELDS

SCHEMA = "fggp-bench/reference/2"
OLD_SCHEMA = "fggp-bench/reference/1"
"""Without `selection`: readable, its check has no exact tier."""


def cell_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A run's configuration without what varies inside a cell: the seed and the code."""
    cell = {k: v for k, v in config.items() if k != "seed"}
    params = dict(cell.get("method_params") or {})
    params.pop(baselines.SOURCE_PARAM, None)
    params.pop(baselines.PACKAGE_PARAM, None)
    return {**cell, "method_params": params}


def cell_key(config: Mapping[str, Any]) -> str:
    canonical = json.dumps(cell_config(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def method_label(config: Mapping[str, Any]) -> str:
    """The method and the parameters it runs with that are not its defaults."""
    method = str(config["method"])
    defaults = baselines.resolve_params(method, {})
    params = cell_config(config)["method_params"]
    shown = ",".join(f"{k}={v}" for k, v in sorted(params.items()) if defaults.get(k) != v)
    return f"{method}({shown})" if shown else method


@dataclasses.dataclass(frozen=True)
class Cell:
    """One configuration over its seeds: what was measured, and what went wrong."""

    key: str
    setting: str
    method: str
    config: dict[str, Any]
    seeds: tuple[int, ...]
    accuracy: dict[int, float]
    """Final test accuracy (%) of every seed that completed cleanly."""
    mean: float | None
    std: float | None
    sparsity: float | None
    n_test: int | None
    data: str | None
    """Fingerprint of the data set the runs trained on (`data.fingerprint` of a result)."""
    method_source: str | None
    problems: tuple[str, ...] = ()
    """Runs that failed, are missing, or did not reach their exact sparsity."""

    @property
    def n(self) -> int:
        return len(self.accuracy)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["problems"]
        data["accuracy"] = {str(seed): acc for seed, acc in sorted(self.accuracy.items())}
        data["seeds"] = list(self.seeds)
        return {**data, "n": self.n}


def group(configs: Sequence[RunConfig]) -> dict[str, list[RunConfig]]:
    """The grid's runs by cell key, in grid order."""
    cells: dict[str, list[RunConfig]] = {}
    for config in configs:
        cells.setdefault(cell_key(config.to_dict()), []).append(config)
    return cells


def plan_cells(configs: Sequence[RunConfig]) -> dict[str, tuple[dict[str, Any], list[int]]]:
    """The grid's cells by key: the cell configuration and its seeds."""
    return {
        key: (cell_config(runs[0].to_dict()), [c.seed for c in runs])
        for key, runs in group(configs).items()
    }


def measure(
    configs: Sequence[RunConfig], records: Mapping[str, Mapping[str, Any] | None]
) -> list[Cell]:
    """Every cell of the grid from its stored records (`records` by run id)."""
    by_key = group(configs)
    other = _varying_fields([cell_config(runs[0].to_dict()) for runs in by_key.values()])
    return [_cell(key, runs, records, other) for key, runs in by_key.items()]


def _cell(
    key: str,
    runs: list[RunConfig],
    records: Mapping[str, Mapping[str, Any] | None],
    other: tuple[str, ...],
) -> Cell:
    problems, clean = [], []
    for config in runs:
        record = records.get(config.run_id())
        problem = _run_problem(record)
        if problem:
            problems.append(f"seed {config.seed}: {problem}")
        else:
            clean.append(record)
    first = runs[0].to_dict()
    cell = _summary(clean) if clean else None
    sparsities = sorted({r["final"]["sparsity"] for r in clean})
    if len(sparsities) > 1:
        problems.append(f"final sparsity differs between seeds: {sparsities}")
    data = sorted({r["data"]["fingerprint"] for r in clean})
    if len(data) > 1:
        problems.append(f"the seeds trained on different data: {data}")
    return Cell(
        key=key,
        setting=setting_name(first, other),
        method=method_label(first),
        config=cell_config(first),
        seeds=tuple(c.seed for c in runs),
        accuracy=dict(cell.accuracy) if cell else {},
        mean=cell.mean if cell else None,
        std=cell.std if cell else None,
        sparsity=sparsities[0] if sparsities else None,
        n_test=clean[0]["data"]["n_test"] if clean else None,
        data=data[0] if data else None,
        method_source=_method_source(first.get("method_params") or {}),
        problems=tuple(problems),
    )


def _summary(records: list[Mapping[str, Any]]) -> stats.Cell:
    """The statistics package's summary (mean, sd, accuracy by seed) of one cell's runs."""
    table = stats.collect(records)
    (cell,) = [*table.dense.values(), *(c for row in table.cells.values() for c in row.values())]
    return cell


def _varying_fields(configs: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    named = {"method", "method_params", *MODEL_FIELDS, *CONDITION_FIELDS}
    fields = sorted({f for c in configs for f in c} - named)
    return tuple(f for f in fields if len({json.dumps(c.get(f)) for c in configs}) > 1)


def setting_name(config: Mapping[str, Any], other: Sequence[str] = ()) -> str:
    """The statistics' name of a cell's setting (its model for the dense baseline), with
    the `other` fields that tell the grid's cells apart."""
    setting, _, _ = stats.RunKeys(tuple(other), {}).of_config(config)
    return setting.model.name if config["method"] == DENSE else setting.name


def _run_problem(record: Mapping[str, Any] | None) -> str | None:
    if record is None:
        return "no result"
    if record.get("harness_version") != HARNESS_VERSION:
        return f"written by harness version {record.get('harness_version')}"
    if record["status"] != "completed":
        return f"{record['status']}: {record.get('error') or 'see its log'}"
    accuracy = record["final"].get("test_acc")
    if not isinstance(accuracy, int | float) or not math.isfinite(accuracy):
        return "completed without a finite final test accuracy"
    return sparsity_problem(record)


@dataclasses.dataclass(frozen=True)
class Reference:
    path: Path
    preset: str
    harness_version: int
    measured: dict[str, Any]
    cells: tuple[Cell, ...]
    selection: dict[str, str] | None = None
    """The exact tier's fingerprint of each method, by label; None in an old file."""

    def as_dict(self) -> dict[str, Any]:
        data = {
            "schema": SCHEMA if self.selection is not None else OLD_SCHEMA,
            "preset": self.preset,
            "harness_version": self.harness_version,
            "measured": self.measured,
            "cells": [cell.as_dict() for cell in self.cells],
        }
        if self.selection is not None:
            data["selection"] = {"inputs": exact.INPUTS, "sha256": dict(self.selection)}
        return data

    def methods(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """The methods the exact tier fingerprints for this reference's cells."""
        return exact.methods_of((cell.method, cell.config) for cell in self.cells)

    def write(self) -> None:
        try:
            write_json_atomic(self.path, self.as_dict())
        except OSError as error:
            raise UserError(f"cannot write reference {self.path}: {error.strerror}") from None

    def require_grid(self, preset: str, configs: Sequence[RunConfig]) -> None:
        """Refuse to compare a grid with a reference measured for other cells or seeds."""
        where = f"reference {self.path} was measured"
        if preset != self.preset:
            raise UserError(f"{where} for preset {self.preset!r}, not {preset!r}")
        if self.harness_version != HARNESS_VERSION:
            raise UserError(
                f"{where} with harness version {self.harness_version} (this is "
                f"{HARNESS_VERSION}): results may differ by design; re-measure it with "
                "--update-reference"
            )
        planned = plan_cells(configs)
        for cell in self.cells:
            if cell.key not in planned:
                raise UserError(f"{where} for another grid: {_closest(cell, planned)}")
            seeds = planned[cell.key][1]
            if sorted(seeds) != sorted(cell.seeds):
                raise UserError(
                    f"{where} with seeds {list(cell.seeds)} of {cell.method} in "
                    f"{cell.setting}; this grid has {seeds}"
                )
        extra = set(planned) - {cell.key for cell in self.cells}
        if extra:
            config = planned[sorted(extra)[0]][0]
            raise UserError(
                f"{where} for another grid: it has no {method_label(config)} "
                f"({len(extra)} cells of this grid are not in it)"
            )


def _closest(cell: Cell, planned: Mapping[str, tuple[dict[str, Any], list[int]]]) -> str:
    """What changed: the fields in which the reference cell differs from its nearest cell."""

    def differing(config: Mapping[str, Any]) -> list[str]:
        keys = sorted(set(config) | set(cell.config))
        return [k for k in keys if config.get(k) != cell.config.get(k)]

    nearest = min((config for config, _ in planned.values()), key=lambda c: len(differing(c)))
    changes = ", ".join(
        f"{k} {cell.config.get(k)!r} there, {nearest.get(k)!r} here" for k in differing(nearest)
    )
    return f"its cell {cell.method} in {cell.setting} is not in this grid (nearest: {changes})"


def build(
    path: Path,
    preset: str,
    cells: Sequence[Cell],
    records: Sequence[Mapping[str, Any]],
    seconds: float,
    command: str,
    fingerprints: Mapping[str, str],
) -> Reference:
    """A new reference from a complete measurement (every cell without problems) and the
    exact tier's fingerprints of its methods."""
    return Reference(
        path=path,
        preset=preset,
        harness_version=HARNESS_VERSION,
        measured={
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(seconds, 1),
            "command": command,
            "environment": environment_of(records),
        },
        cells=tuple(cells),
        selection=dict(fingerprints),
    )


def environment_of(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each `env` and `execution` field of the records: its value, or its distinct values."""
    values: dict[str, set[str]] = {}
    for record in records:
        for block in ("env", "execution"):
            for field, value in (record.get(block) or {}).items():
                values.setdefault(field, set()).add(json.dumps(value))
    return {
        field: json.loads(next(iter(seen))) if len(seen) == 1 else sorted(map(json.loads, seen))
        for field, seen in sorted(values.items())
    }


def read(path: Path) -> Reference:
    """A reference file, validated; every way it can be wrong is a one-line `UserError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"reference file not found: {path} (create it with --update-reference {path})"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read reference {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise UserError(f"reference {path} is not valid JSON: {error}") from None
    try:
        return _parse(Path(path), data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(
            f"reference {path} is not a valid {SCHEMA} file ({type(error).__name__}: {error})"
        ) from None


def _parse(path: Path, data: Any) -> Reference:
    if not isinstance(data, dict) or data.get("schema") not in (SCHEMA, OLD_SCHEMA):
        raise ValueError(f"schema is not {SCHEMA!r} (nor the older {OLD_SCHEMA!r})")
    cells = []
    for entry in data["cells"]:
        accuracy = {int(seed): float(acc) for seed, acc in entry["accuracy"].items()}
        std = entry["std"]
        cell = Cell(
            key=str(entry["key"]),
            setting=str(entry["setting"]),
            method=str(entry["method"]),
            config=dict(entry["config"]),
            seeds=tuple(int(s) for s in entry["seeds"]),
            accuracy=accuracy,
            mean=float(entry["mean"]),
            std=None if std is None else float(std),
            sparsity=float(entry["sparsity"]),
            n_test=int(entry["n_test"]),
            data=str(entry["data"]),
            method_source=entry.get("method_source"),
        )
        if cell.key != cell_key(cell.config) or not accuracy or cell.n_test < 1:
            raise ValueError(f"cell {cell.method} in {cell.setting} is inconsistent")
        if sorted(accuracy) != sorted(cell.seeds):
            raise ValueError(f"cell {cell.method}: accuracy seeds differ from its seeds")
        values = list(accuracy.values())
        sd = statistics.stdev(values) if len(values) > 1 else None
        if not math.isclose(cell.mean, statistics.fmean(values), abs_tol=1e-6) or (
            (sd is None) != (cell.std is None) or (sd is not None and abs(sd - cell.std) > 1e-6)
        ):
            raise ValueError(f"cell {cell.method}: mean or std disagree with its accuracies")
        cells.append(cell)
    if not cells:
        raise ValueError("no cells")
    return Reference(
        path=path,
        preset=str(data["preset"]),
        harness_version=int(data["harness_version"]),
        measured=dict(data["measured"]),
        cells=tuple(cells),
        selection=_selection(data) if data["schema"] == SCHEMA else None,
    )


def _selection(data: Mapping[str, Any]) -> dict[str, str]:
    """The fingerprints of a current file: required, and of the inputs this code builds."""
    block = data["selection"]
    if block["inputs"] != exact.INPUTS:
        raise ValueError(
            f"its selection fingerprints were taken on inputs {block['inputs']!r}, this code "
            f"builds {exact.INPUTS!r}: re-measure it with --update-reference"
        )
    fingerprints = {str(k): str(v) for k, v in block["sha256"].items()}
    if not all(len(v) == 64 and set(v) <= set("0123456789abcdef") for v in fingerprints.values()):
        raise ValueError("a selection fingerprint is not a SHA-256 hex digest")
    return fingerprints


def _method_source(params: Mapping[str, Any]) -> str | None:
    """Which code an out-of-tree method ran: its file's hash or its package's version."""
    return params.get(baselines.SOURCE_PARAM) or params.get(baselines.PACKAGE_PARAM)
