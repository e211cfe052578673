"""When to prune and how much: the gradual cubic schedule and the learning-rate steps.

The released FGGP script prunes at every multiple of `--update-interval` (2000) training
iterations while the iteration is at most int(0.8 x total), to the cubic density of that
iteration: d_f + (d_0 - d_f)(1 - t / int(0.8 T))^3 (main_proposed_class_schedule_cifar.py
434, 456, 601-605). `prune_every` reproduces that form. It cannot scale to short runs (a
30-epoch run on a small subset has no iteration 2000), so the other form spreads a fixed
number of steps (`prune_steps`) evenly over the same window; both evaluate the same cubic
at the step's iteration, so a 3-epoch CPU run follows the curve of a 160-epoch GPU run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def cubic_density(elapsed: int, window: int, initial: float, final: float) -> float:
    """Density `elapsed` iterations into a window of `window`: d_f + (d_0 - d_f)(1 - e/w)^3."""
    return final + (initial - final) * (1.0 - elapsed / window) ** 3


@dataclass(frozen=True)
class PruneStep:
    step: int  # 1-based
    iteration: int  # 1-based: the step follows the backward pass of this training iteration
    progress: float  # 0 at the first step, 1 at the last: what methods anneal over
    target_active: int  # prunable weights left active after this step


def prune_window(total_iterations: int, start: float, end: float) -> tuple[int, int]:
    """(first, last) iteration bounds of the pruning window: steps fall in (first, last].

    Both are truncated like the released `int(end_update_iter_ratio * total_iter)`; the
    window holds at least one iteration.
    """
    first = math.floor(start * total_iterations)
    last = max(math.floor(end * total_iterations), first + 1)
    return first, last


def prune_iterations(
    total_iterations: int, start: float, end: float, n_steps: int, every: int
) -> list[int]:
    """The (1-based) iterations after which pruning steps happen.

    With `every` > 0, every multiple of `every` in the window (the released form). With
    `every` = 0, `n_steps` steps at first + ceil(i (last - first) / n_steps), i = 1..n, so
    the last one ends the window; a window shorter than n iterations gets one step per
    iteration instead.
    """
    if every > 0:
        return periodic_iterations(total_iterations, start, end, every)
    first, last = prune_window(total_iterations, start, end)
    window = last - first
    n_steps = min(n_steps, window)
    return [first + math.ceil(i * window / n_steps) for i in range(1, n_steps + 1)]


def periodic_iterations(total_iterations: int, start: float, end: float, every: int) -> list[int]:
    """Every multiple of `every` in the window (start, end] of training: the released
    pruning clock, and a regrowing method's update clock (GraNet's `steps % 1000 == 0`)."""
    first, last = prune_window(total_iterations, start, end)
    return list(range((first // every + 1) * every, last + 1, every))


def prune_plan(
    *,
    total_iterations: int,
    start: float,
    end: float,
    n_steps: int,
    every: int,
    initial_active: int,
    n_prunable: int,
    final_density: float,
) -> list[PruneStep]:
    """The pruning steps of a run, each with the exact number of weights to keep.

    The density of a step is the cubic at its iteration, from the run's real initial
    density (for an ERK start it differs from the nominal one by per-layer rounding).
    """
    first, last = prune_window(total_iterations, start, end)
    iterations = prune_iterations(total_iterations, start, end, n_steps, every)
    initial_density = initial_active / n_prunable
    count = len(iterations)
    steps = []
    for i, iteration in enumerate(iterations, start=1):
        density = cubic_density(iteration - first, last - first, initial_density, final_density)
        steps.append(
            PruneStep(
                step=i,
                iteration=iteration,
                progress=(i - 1) / (count - 1) if count > 1 else 1.0,
                target_active=min(initial_active, round(density * n_prunable)),
            )
        )
    return steps


def lr_milestone_epochs(epochs: int, milestones: tuple[float, ...]) -> list[int]:
    """Learning-rate decay epochs from fractions of training (0.5, 0.75 of 160 -> 80, 120).

    A milestone never falls before epoch 1: MultiStepLR applies a milestone 0 at once, so
    a short run (0.5 of 1 epoch rounds to 0) would train at lr x gamma throughout instead
    of starting at the lr it was given.
    """
    return sorted({max(1, round(fraction * epochs)) for fraction in milestones})
