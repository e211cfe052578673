"""The annealed hybrid FGGP argues against: magnitude first, gradient next, rate annealed.

The pool is the ceil(k / r) active weights of smallest |w|, of which the k of smallest
|g| are pruned; r moves from `rate` (1.0: pure magnitude pruning) at the first pruning
step to `final_rate` at the last, linearly by default.
"""

from __future__ import annotations

from baselines.hybrid import Hybrid
from baselines.registry import register


@register("annealed_hybrid")
def annealed_hybrid(rate: float = 1.0, final_rate: float = 0.1, schedule: str = "linear") -> Hybrid:
    return Hybrid(order="magnitude_first", schedule=schedule, rate=rate, final_rate=final_rate)
