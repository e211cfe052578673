"""What a stored run record must hold before anything downstream may read it.

A record is trusted by its content, not by where it lies: its `config` must hash to the
run id its file is named by, and it must come from this harness version. A completed
record must also carry every field that the statistics, the report, the plan's time
estimate and the regression check read, so that a hand-edited or truncated result is
set aside by the store with one line that names it, instead of being averaged in or
ending the report in a traceback. Failed and diverged records are only listed, so
they need their identity alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from benchmark.config import FIELD_NAMES, config_from_dict
from benchmark.errors import UserError
from benchmark.result import HARNESS_VERSION, SCHEMA

STATUSES = ("completed", "failed", "diverged")


class Untrusted(Exception):
    """The record cannot stand for its run; the message says why."""


class ForeignVersion(Untrusted):
    """A genuine record of another harness version: not this grid's to use, nor to discard."""

    def __init__(self, version: Any) -> None:
        super().__init__(f"written by harness version {version} (this is {HARNESS_VERSION})")
        self.version = version


def check(record: Any, run_id: str) -> None:
    """Raise `Untrusted` unless `record`, read from `<run_id>.json`, is that run's result."""
    if not isinstance(record, dict):
        raise Untrusted(f"is not a JSON object but {_json(record)[:40]}")
    if record.get("schema") != SCHEMA:
        raise Untrusted(f"is not a {SCHEMA} record")
    if record.get("harness_version") != HARNESS_VERSION:
        raise ForeignVersion(record.get("harness_version"))
    if record.get("run_id") != run_id:
        raise Untrusted(f"holds run {_json(record.get('run_id'))}, not {run_id} (its file name)")
    if record.get("status") not in STATUSES:
        raise Untrusted(f"has status {_json(record.get('status'))}")
    _check_config(record.get("config"), run_id)
    if record["status"] == "completed":
        _check_fields(record)


def _check_config(config: Any, run_id: str) -> None:
    if not isinstance(config, dict):
        raise Untrusted("has no config")
    missing = sorted(set(FIELD_NAMES) - set(config))
    if missing:
        raise Untrusted(f"config lacks {', '.join(missing)}")
    try:
        hashed = config_from_dict(config).run_id()
    except UserError as error:
        raise Untrusted(f"config is not a run configuration ({error})") from None
    if hashed != run_id:
        raise Untrusted(f"config hashes to {hashed}, not to its run id {run_id}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


Checks = Mapping[str, Callable[[Any], bool]]

# What downstream code reads from a completed record (run_all's summary and time
# estimate, benchmark/stats, reports/, benchmark/regression): sections of fields...
SECTIONS: Mapping[str, Checks] = {
    "final": {"test_acc": _number, "sparsity": _number, "mask_sparsity": _number},
    "cost": {
        "wall_seconds": _number,
        "train_flops": _number,
        "dense_train_flops": _number,
        "inference_flops": _number,
        "dense_inference_flops": _number,
    },
    "data": {
        "name": _text,
        "fingerprint": _text,
        "num_classes": _number,
        "n_train": _number,
        "n_test": _number,
    },
    "env": {"device": _text},
}
# ...and lists of entries.
LISTS: Mapping[str, Checks] = {
    "history": {"epoch": _number},
    "prune_schedule": {"epoch": _number, "density": _number},
    "layers": {"name": _text, "numel": _number, "density": _number},
}


def _check_fields(record: dict[str, Any]) -> None:
    for section, checks in SECTIONS.items():
        _check_entry(record.get(section), section, checks)
    for name, checks in LISTS.items():
        entries = record.get(name)
        if not isinstance(entries, list):
            raise Untrusted(f"is completed but its {name} is {_json(entries)}, not a list")
        for i, entry in enumerate(entries):
            _check_entry(entry, f"{name}[{i}]", checks)


def _check_entry(entry: Any, where: str, checks: Checks) -> None:
    if not isinstance(entry, dict):
        raise Untrusted(f"is completed but its {where} is {_json(entry)[:40]}, not an object")
    for field, valid in checks.items():
        if field not in entry:
            raise Untrusted(f"is completed but lacks {where}.{field}")
        if not valid(entry[field]):
            raise Untrusted(f"is completed but its {where}.{field} is {_json(entry[field])[:40]}")


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True)
