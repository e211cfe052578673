"""FGGP: fixed-rate gradient-first gradual pruning (Zhu, Bezek, Goksel, 2024), as released.

At a step that prunes k of the n active weights: the pool is the floor(select_ratio * n)
active weights of smallest |grad| (at least k); the k of them with smallest |w| are pruned.
The pool is a fixed fraction of the *active* weights, not a multiple of k: the released
script sets `to_prune_t = int(select_ratio * remain)` and restores the `to_prune_t - to_prune`
pool members of largest |w| (main_proposed_class_schedule_cifar.py 517-542,
prune_and_reconnect.py 645-688; docs/methods.md cites every line).
"""

from __future__ import annotations

from baselines.hybrid import Hybrid
from baselines.registry import register


@register("fggp")
def fggp(select_ratio: float = 0.5) -> Hybrid:
    return Hybrid(
        order="gradient_first",
        pool="active",
        schedule="fixed",
        rate=select_ratio,
        final_rate=select_ratio,
    )
