"""A run's result record: its schema name, the harness version, and how the record is laid out.

Kept apart from `benchmark.train` so that whatever only reads or checks records (the run
store, its record checks, the regression reference) can name the schema and the harness
version without importing torch: this module imports nothing heavier than the standard
library at run time. `benchmark.train` builds a record with `run_record` from values it
already holds; docs/results.md describes every field.

Any module may import it; it imports no other module of the project at run time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmark.config import RunConfig
    from benchmark.data import Dataset

SCHEMA = "fggp-bench/run/1"
# Bumped whenever a change to the harness can change a run's numbers: a grid refuses
# to mix results of different versions (benchmark/grid/store.py).
HARNESS_VERSION = 3  # 3: lr milestones never before the first epoch (1-epoch runs changed)


def run_record(
    *,
    config: RunConfig,
    diverged: bool,
    history: list[dict[str, Any]],
    sparsity: float,
    mask_sparsity: float,
    prune_schedule: list[dict[str, Any]],
    layers: list[dict[str, object]],
    wall_seconds: float,
    flop_counts: Mapping[str, int],
    peak_memory_bytes: int,
    data: Dataset,
    split_sizes: Sequence[int],
    execution: dict[str, Any],
    env: dict[str, Any],
) -> dict[str, Any]:
    """The result record of a finished (completed or diverged) run.

    `history` holds the epoch records, `sparsity` the fraction of prunable weights that
    are zero and `mask_sparsity` that of the mask; `flop_counts` are the cost fields of
    `benchmark.flops.CostMeter.fields`; `split_sizes` is (train, validation, test) images.
    """
    final = history[-1]
    best = max(history, key=lambda r: r["test_acc"])
    n_train, n_val, n_test = split_sizes
    return {
        "schema": SCHEMA,
        "harness_version": HARNESS_VERSION,
        "run_id": config.run_id(),
        "status": "diverged" if diverged else "completed",
        "config": config.to_dict(),
        "final": {
            "test_acc": final["test_acc"],
            "test_loss": final["test_loss"],
            "sparsity": sparsity,
            "mask_sparsity": mask_sparsity,
            "best_test_acc": best["test_acc"],
            "best_epoch": best["epoch"],
            **({"val_acc": final["val_acc"]} if "val_acc" in final else {}),
        },
        "history": history,
        "prune_schedule": prune_schedule,
        "layers": layers,
        "cost": {
            "wall_seconds": wall_seconds,
            **flop_counts,
            "peak_memory_bytes": peak_memory_bytes,
        },
        "data": {
            "name": data.name,
            "fingerprint": data.fingerprint,
            "num_classes": data.num_classes,
            "n_train": n_train,
            "n_val": n_val,
            "n_test": n_test,
        },
        "execution": execution,
        "env": env,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
