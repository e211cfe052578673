"""When to prune and how much: the gradual cubic schedule and the learning-rate steps.

The paper (following GraNet and Zhu & Gupta 2017) prunes every 1000 iterations at
batch 128 from epoch 0 to epoch 80 of 160 on CIFAR-10, i.e. about 31 steps over the
first half of training. We keep that *shape* rather than those iteration counts: a
fixed number of steps spread evenly over a fraction of training, so a 3-epoch CPU run
follows the same curve as a 160-epoch GPU run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def cubic_density(step: int, n_steps: int, initial: float, final: float) -> float:
    """Density after pruning step `step` of `n_steps`: d_f + (d_0 - d_f)(1 - step/n)^3."""
    return final + (initial - final) * (1.0 - step / n_steps) ** 3


@dataclass(frozen=True)
class PruneStep:
    step: int  # 1-based
    iteration: int  # 0-based index of the training iteration whose gradient it uses
    progress: float  # 0 at the first step, 1 at the last: what methods anneal over
    target_active: int  # prunable weights left active after this step


def prune_plan(
    total_iterations: int,
    start: float,
    end: float,
    n_steps: int,
    initial_active: int,
    n_prunable: int,
    final_density: float,
) -> list[PruneStep]:
    """The pruning steps of a run, each with the exact number of weights to keep.

    Step i of n happens after iteration start + ceil(i (end - start) / n) - 1, so the
    last one ends the pruning window and reaches the final density exactly (to the
    rounding of one weight). A window shorter than n iterations gets one step per
    iteration instead. The schedule starts from the real initial density, which for an
    ERK-initialised network differs from the nominal one by per-layer rounding.
    """
    first = round(start * total_iterations)
    last = max(round(end * total_iterations), first + 1)
    window = last - first
    n_steps = min(n_steps, window)
    initial_density = initial_active / n_prunable
    steps = []
    for i in range(1, n_steps + 1):
        density = cubic_density(i, n_steps, initial_density, final_density)
        steps.append(
            PruneStep(
                step=i,
                iteration=first + math.ceil(i * window / n_steps) - 1,
                progress=(i - 1) / (n_steps - 1) if n_steps > 1 else 1.0,
                target_active=min(initial_active, round(density * n_prunable)),
            )
        )
    return steps


def lr_milestone_epochs(epochs: int, milestones: tuple[float, ...]) -> list[int]:
    """Learning-rate decay epochs from fractions of training (0.5, 0.75 of 160 -> 80, 120)."""
    return sorted({round(fraction * epochs) for fraction in milestones})
