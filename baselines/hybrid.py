"""Two-stage selection: a pool by one criterion, then the pruned weights by the other.

This one selector covers FGGP (gradient-first, fixed rate) and the annealed hybrid it
is compared with (magnitude-first, rate annealed), so an ablation over stage order x
rate schedule x rate is a matter of parameters, not code.

With `k` weights to prune and rate `r` in (0, 1], the pool is the ceil(k / r) active
weights ranked lowest by the first criterion (capped at the number of active weights);
the `k` pool members ranked lowest by the second criterion are pruned. r = 1 makes the
pool exactly the `k` weights of the first criterion, so the second stage is moot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from baselines.criteria import smallest_k
from baselines.registry import register

ORDERS = ("gradient_first", "magnitude_first")
SCHEDULES = ("fixed", "linear", "cosine")


def rate_at(schedule: str, rate: float, final_rate: float, progress: float) -> float:
    """Rate at `progress` in [0, 1] through the pruning steps (0 = first step, 1 = last)."""
    if schedule == "fixed":
        return rate
    if schedule == "linear":
        return rate + (final_rate - rate) * progress
    if schedule == "cosine":
        return final_rate + (rate - final_rate) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown rate schedule {schedule!r}; choose from {SCHEDULES}")


def pool_size(k: int, rate: float, n_active: int) -> int:
    # Rounded before the ceiling so that e.g. 3 / 0.3 = 10.000000000000002 gives 10, not 11.
    return min(math.ceil(round(k / rate, 9)), n_active)


@register("hybrid")
@dataclass(frozen=True)
class Hybrid:
    order: str = "gradient_first"
    schedule: str = "fixed"
    rate: float = 0.5
    final_rate: float = 0.5

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"unknown stage order {self.order!r}; choose from {ORDERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown rate schedule {self.schedule!r}; choose from {SCHEDULES}")
        for name in ("rate", "final_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")

    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        rate = rate_at(self.schedule, self.rate, self.final_rate, progress)
        first, second = (grad, weight) if self.order == "gradient_first" else (weight, grad)
        pool = smallest_k(first.abs(), active, pool_size(k, rate, int(active.sum())))
        return smallest_k(second.abs(), pool, k)
