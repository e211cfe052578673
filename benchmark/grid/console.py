"""What the grid command prints while it plans and runs: the plan with its time
estimate, a line per finished run, and the means per setting before the report.

Terminal output only (the report is `reports/`); imported by run_all.py alone.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

from benchmark.config import RunConfig, config_from_dict
from benchmark.grid.execute import UNSAVED, Outcome
from benchmark.grid.store import FAILED, RunStore, completed


def print_plan(
    configs: list[RunConfig],
    statuses: dict[str, str],
    records: dict[str, dict | None],
    todo: list[RunConfig],
) -> None:
    counts: dict[str, int] = defaultdict(int)
    for status in statuses.values():
        counts[status] += 1
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    epochs = sum(c.epochs for c in todo)
    print(f"grid: {len(configs)} runs ({states}); to run now: {len(todo)} runs, {epochs} epochs")
    seconds_per_epoch = _measured_seconds_per_epoch(completed(records.values()))
    known = [
        seconds_per_epoch[_shape(c)] * c.epochs for c in todo if _shape(c) in seconds_per_epoch
    ]
    if known:
        print(
            f"estimated time: {sum(known) / 60:.1f} min for the {len(known)} runs whose "
            "architecture already has finished runs here (one worker)"
        )


def _shape(config: RunConfig) -> tuple:
    return (config.arch, config.width, config.dataset, config.train_limit, config.batch_size)


def _measured_seconds_per_epoch(results: list[dict]) -> dict[tuple, float]:
    per_shape: dict[tuple, list[float]] = defaultdict(list)
    for result in results:
        config = config_from_dict(result["config"])
        per_shape[_shape(config)].append(result["cost"]["wall_seconds"] / config.epochs)
    return {shape: statistics.mean(values) for shape, values in per_shape.items()}


class Progress:
    """A line per finished run with a bar, failures and the time left."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.started = time.perf_counter()

    def __call__(self, config: RunConfig, outcome: Outcome) -> None:
        self.done += 1
        self.failed += outcome.status in (*FAILED, UNSAVED)
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done)
        bar = "#" * round(20 * self.done / self.total)
        what = (
            f"{outcome.test_acc:6.2f}%" + (f" (note: {outcome.error})" if outcome.error else "")
            if outcome.test_acc is not None
            else f"{outcome.status}: {outcome.error or ''}"
        )
        print(
            f"[{bar:<20}] {self.done}/{self.total} failed {self.failed} ETA {left / 60:4.1f} min | "
            f"{config.method:<16} {config.arch} s={config.target_sparsity} "
            f"d0={config.init_density} seed {config.seed}: {what} ({outcome.seconds:.0f}s)",
            flush=True,
        )


def print_means(configs: list[RunConfig], records: dict[str, dict | None], store: RunStore) -> None:
    """Mean final test accuracy per setting and method (the full report is `reports/`)."""
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    failures = []
    for config in configs:
        record = records[config.run_id()]
        if record is None:
            continue
        if record["status"] != "completed":
            failures.append((config, record))
            continue
        setting = (config.arch, config.init_density, config.target_sparsity)
        cells[setting][config.method].append(record["final"]["test_acc"])
    print(f"\n{'arch':<9} {'d0':>4} {'target':>6}  method: mean final test acc % (n)")
    for (arch, init, target), methods in sorted(cells.items()):
        ranked = sorted(methods.items(), key=lambda item: -statistics.mean(item[1]))
        text = "  ".join(f"{m}: {statistics.mean(v):.2f} ({len(v)})" for m, v in ranked)
        print(f"{arch:<9} {init:>4} {target:>6}  {text}")
    for config, record in failures:
        print(
            f"FAILED {config.run_id()} {config.method} seed {config.seed}: "
            f"{record.get('error', record['status'])} (log: {store.log_path(config.run_id())})"
        )
