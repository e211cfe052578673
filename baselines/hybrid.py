"""Two-stage selection: a pool by one criterion, then the pruned weights by the other.

This one selector covers FGGP and the annealed baseline it argues against, as released by
the FGGP authors, and the variants around them (docs/methods.md), so an ablation over
stage order x pool rule x rate schedule is a matter of parameters, not code.

At a step that prunes `k` of the `n` active weights with rate `r`, the pool is the active
weights ranked lowest by the first criterion, of a size set by the pool rule:

- `active`:   max(k, floor(r n)), a fixed fraction of the active weights (released FGGP:
              `to_prune_t = int(select_ratio * remain)`);
- `rest`:     k + floor(r (n - k)), the pruned count plus a share of the weights that stay
              (released annealed baseline: `to_add_t = int((remain - to_prune) * r)`);
- `multiple`: min(n, ceil(k / r)), a multiple of the pruned count (this suite's first
              reading of the abstract, kept for comparison).

The `k` pool members ranked lowest by the second criterion are pruned. The rate is fixed
or annealed (linear or cosine from `rate` to `final_rate`) over one of two clocks:
`pruning` (0 at the first pruning step, 1 at the last) or `training` (the fraction of all
training iterations done, as the released code's `CosineDecay` steps every iteration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from baselines.contract import StepContext
from baselines.criteria import smallest_k
from baselines.registry import register

ORDERS = ("gradient_first", "magnitude_first")
POOLS = ("active", "rest", "multiple")
SCHEDULES = ("fixed", "linear", "cosine")
CLOCKS = ("pruning", "training")


def rate_at(schedule: str, rate: float, final_rate: float, time: float) -> float:
    """Rate at `time` in [0, 1] of the clock: `rate` at 0, `final_rate` at 1.

    `cosine` is torch's CosineAnnealingLR in closed form, eta_min = `final_rate`.
    """
    if schedule == "fixed":
        return rate
    if schedule == "linear":
        return rate + (final_rate - rate) * time
    if schedule == "cosine":
        return final_rate + (rate - final_rate) * 0.5 * (1.0 + math.cos(math.pi * time))
    raise ValueError(f"unknown rate schedule {schedule!r}; choose from {SCHEDULES}")


def clock_time(clock: str, context: StepContext) -> float:
    """How far along `clock` a step is, in [0, 1]."""
    if clock == "pruning":
        return context.progress
    if clock == "training":
        return context.iteration / context.total_iterations
    raise ValueError(f"unknown clock {clock!r}; choose from {CLOCKS}")


def pool_size(rule: str, k: int, rate: float, n_active: int) -> int:
    """Size of the first stage's pool (never below `k`, never above `n_active`)."""
    if rule == "active":
        return max(k, math.floor(rate * n_active))
    if rule == "rest":
        return k + math.floor(rate * (n_active - k))
    if rule == "multiple":
        # Rounded before the ceiling so that e.g. 3 / 0.3 = 10.000000000000002 gives 10.
        return min(math.ceil(round(k / rate, 9)), n_active)
    raise ValueError(f"unknown pool rule {rule!r}; choose from {POOLS}")


@register("hybrid")
@dataclass(frozen=True)
class Hybrid:
    order: str = "gradient_first"
    pool: str = "active"
    schedule: str = "fixed"
    clock: str = "pruning"
    rate: float = 0.5
    final_rate: float = 0.5

    def __post_init__(self) -> None:
        for name, choices in (
            ("order", ORDERS),
            ("pool", POOLS),
            ("schedule", SCHEDULES),
            ("clock", CLOCKS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose from {choices}")
        for name in ("rate", "final_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")

    def rate_for(self, context: StepContext) -> float:
        return rate_at(self.schedule, self.rate, self.final_rate, clock_time(self.clock, context))

    def select(
        self,
        weight: Tensor,
        grad: Tensor,
        active: Tensor,
        k: int,
        progress: float,
        *,
        context: StepContext,
    ) -> Tensor:
        first, second = (grad, weight) if self.order == "gradient_first" else (weight, grad)
        size = pool_size(self.pool, k, self.rate_for(context), int(active.sum()))
        pool = smallest_k(first.abs(), active, size)
        return smallest_k(second.abs(), pool, k)
