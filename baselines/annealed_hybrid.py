"""The annealed approach FGGP argues against, as the FGGP authors released it.

Their code calls it "GraNet in our framework" (prune_and_reconnect.py 218-257): at a step
that prunes k of the n active weights, the pool is the k + floor(r (n - k)) active weights
of smallest |w|, and the k of them with smallest |grad| are pruned. The rate r follows
torch's cosine annealing from `rate` to `final_rate` (the released `eta_min`, 0.005) over
*all* training iterations, stepped every iteration, not over the pruning steps.

The start value is a parameter: 0.5 by default, GraNet's death rate and the cleaned
`main.py`'s default; the released CIFAR script's default (`--prune-rate 1` x 0.01) gives
0.01. Which one the paper's runs used is not known (docs/methods.md).
"""

from __future__ import annotations

from baselines.hybrid import Hybrid
from baselines.registry import register


@register("annealed_hybrid")
def annealed_hybrid(rate: float = 0.5, final_rate: float = 0.005) -> Hybrid:
    return Hybrid(
        order="magnitude_first",
        pool="rest",
        schedule="cosine",
        clock="training",
        rate=rate,
        final_rate=final_rate,
    )
