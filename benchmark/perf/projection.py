"""The paper grid's projected device time at the measured speeds.

Imported by the command (`benchmark.perf.cli`); reads the paper preset through
`benchmark.grid.presets` and the workload's sizes.
"""

from __future__ import annotations

from typing import Any

import baselines
from benchmark.grid.presets import expand, load_preset
from benchmark.perf.workload import (
    CIFAR_TEST_IMAGES,
    CIFAR_TRAIN_IMAGES,
    PAPER_PRESET,
    cifar_prune_steps,
)


def grid_projection(per_arch: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """GPU time of the paper grid at the measured speeds: for each run, its epochs x (one
    training epoch + one test evaluation) + its pruning steps x the pruning-step cost.

    With several runs per GPU, training and evaluation take the aggregate throughput and
    pruning steps are counted one after another (not overlapped): an upper bound.
    """
    configs = expand(load_preset(PAPER_PRESET))
    arch_rows: dict[str, dict[str, Any]] = {}
    for config in configs:
        row = arch_rows.setdefault(config.arch, {"runs": 0, "run_epochs": 0, "pruning_steps": 0})
        row["runs"] += 1
        row["run_epochs"] += config.epochs
        if baselines.prunes(baselines.build(config.method, config.method_kwargs)):
            row["pruning_steps"] += cifar_prune_steps(config)
    total = 0.0
    missing = []
    for arch, row in arch_rows.items():
        figures = per_arch.get(arch)
        if figures is None:
            missing.append(arch)
            row.update(seconds=None, paper_settings=None)
            continue
        concurrent = figures.get("concurrent")
        train_ips = (concurrent or figures)["train_images_per_s"]
        eval_ips = (concurrent or figures)["eval_images_per_s"]
        epoch = CIFAR_TRAIN_IMAGES / train_ips + CIFAR_TEST_IMAGES / eval_ips
        seconds = row["run_epochs"] * epoch + row["pruning_steps"] * figures["prune_seconds"]
        row.update(
            seconds=seconds,
            epoch_with_eval_seconds=epoch,
            runs_per_gpu=concurrent["runs"] if concurrent else 1,
            paper_settings=figures["paper_settings"],
        )
        total += seconds
    complete = not missing
    return {
        "preset": PAPER_PRESET,
        "runs": len(configs),
        "per_arch": arch_rows,
        "missing_archs": sorted(missing),
        "seconds": total if complete else None,
        "device_hours": total / 3600.0 if complete else None,
        "paper_settings": complete and all(r["paper_settings"] for r in arch_rows.values()),
    }
