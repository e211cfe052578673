"""Timing the harness itself: `benchmark.train`'s `TrainingRun` built as a grid run builds
it, driven through its own `train_step`, evaluation pass and pruning step.

Imported by the command (`benchmark.perf.cli`) and by the concurrent runs
(`benchmark.perf.packing`); it reaches the run only through `TrainingRun`'s public methods.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from benchmark.config import RunConfig
from benchmark.data.dataset import Dataset
from benchmark.data.loader import DeviceLoader
from benchmark.devices import setup_device
from benchmark.errors import UserError
from benchmark.perf.timing import synchronize, throughput
from benchmark.train import DEFAULT_DATA_DIR, TrainingRun

PRUNE_REPEATS = 3


def _batches(loader: DeviceLoader) -> Iterator[tuple[Tensor, Tensor]]:
    """The loader's batches, epoch after epoch, without end."""
    epoch = 0
    while True:
        yield from loader.epoch(epoch)
        epoch += 1


def _barrier_wait(barrier: Any) -> None:
    """Line up with the other concurrent runs, if there are any."""
    if barrier is not None:
        barrier.wait()


def build_harness(
    config: RunConfig, data: Dataset, device: torch.device, compile: bool | str
) -> TrainingRun:
    """The run a grid worker would train, on the stand-in `data` instead of its data set."""
    setup_device(device)
    return TrainingRun(config, device, DEFAULT_DATA_DIR, data=data, compile=compile)


@dataclass(frozen=True)
class HarnessTimings:
    """One harness's timings (see the `time_*` functions) and its dense forward MACs."""

    train: dict[str, Any]
    eval: dict[str, Any]
    prune: dict[str, Any]
    dense_macs: int


def time_harness(
    config: RunConfig,
    data: Dataset,
    device: torch.device,
    compile: bool | str,
    steps: int,
    warmup: int,
) -> HarnessTimings:
    """Build the harness, time its training, an evaluation pass and a pruning step (in that
    order), and free it before anything else is timed on the device."""
    run = build_harness(config, data, device, compile)
    timings = HarnessTimings(
        train=time_harness_training(run, steps, warmup),
        eval=time_harness_eval(run),
        prune=time_prune_step(run),
        dense_macs=run.cost.dense_macs,
    )
    del run
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return timings


def time_harness_training(
    run: TrainingRun, steps: int, warmup: int, barrier: Any = None
) -> dict[str, Any]:
    """Images/s of `run.train_step` fed by the run's own loader, after `warmup` steps."""
    plan = run.pruner.plan
    first_prune = plan[0].iteration if plan else math.inf
    if run.iteration + warmup + steps > first_prune:
        raise UserError(
            f"{warmup} warm-up + {steps} timed steps would reach the first pruning step "
            f"(iteration {first_prune}); pruning is timed on its own: use fewer steps or "
            "more images"
        )
    batches = _batches(run.train_loader)
    run.model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=run.device)
    for _ in range(warmup):
        run.train_step(*next(batches))
    synchronize(run.device)
    _barrier_wait(barrier)
    images = 0
    wall_start, start = time.time(), time.perf_counter()
    for _ in range(steps):
        batch, labels = next(batches)
        loss_sum += run.train_step(batch, labels).double() * len(labels)
        images += len(labels)
    synchronize(run.device)
    seconds = time.perf_counter() - start
    wall_end = time.time()
    mean_loss = float(loss_sum) / images
    if not math.isfinite(mean_loss):
        raise RuntimeError(f"the harness's training loss became {mean_loss} while timing")
    return throughput(images, seconds, steps) | {
        "mean_loss": mean_loss,
        "window": (wall_start, wall_end),
    }


def time_harness_eval(run: TrainingRun, barrier: Any = None) -> dict[str, Any]:
    """Images/s of one evaluation pass over the test images (after one warm-up pass)."""
    run.evaluate(run.test_loader)
    synchronize(run.device)
    _barrier_wait(barrier)
    wall_start, start = time.time(), time.perf_counter()
    run.evaluate(run.test_loader)  # reads its result back: synchronised at the end
    seconds = time.perf_counter() - start
    images = len(run.test_loader.images)
    return {
        "images": images,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "window": (wall_start, time.time()),
    }


def time_prune_step(run: TrainingRun, repeats: int = PRUNE_REPEATS) -> dict[str, Any]:
    """Cost of the harness's first planned pruning step (the schedule's largest), global over
    every prunable weight, with the gradient of the last timed batch; median of `repeats`.

    Each repeat starts from the same masks and the same point of the plan. Weights pruned
    by one repeat stay zero for the next; the selection's cost does not depend on that.
    """
    plan = run.pruner.plan
    if not plan:
        raise UserError("the configuration has no pruning step to time")
    snapshot = run.snapshot()
    # The same state, at the iteration the step follows.
    before_step = replace(snapshot, iteration=plan[0].iteration - 1)
    active = run.engine.active_count()
    times, pruned = [], 0
    try:
        for _ in range(repeats):
            run.restore(before_step)
            synchronize(run.device)
            start = time.perf_counter()
            changed = run.prune_if_planned()
            synchronize(run.device)
            times.append(time.perf_counter() - start)
            if not changed:
                raise RuntimeError("the planned pruning step removed no weights")
            pruned = active - run.engine.active_count()
    finally:
        run.restore(snapshot)
    return {
        "seconds": statistics.median(times),
        "repeats": repeats,
        "pruned": pruned,
        "prunable_weights": run.engine.n_prunable,
        "steps_per_run": len(plan),
    }
