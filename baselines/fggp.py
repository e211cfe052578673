"""FGGP: fixed-rate gradient-first gradual pruning (Zhu, Bezek, Goksel, 2024).

Among the active weights, take the ceil(k / rate) with the smallest gradient magnitude;
prune the k of those with the smallest weight magnitude. The rate stays fixed over
training; 0.5 is our documented assumption for its default (docs/methods.md).
"""

from __future__ import annotations

from baselines.hybrid import Hybrid
from baselines.registry import register


@register("fggp")
def fggp(rate: float = 0.5) -> Hybrid:
    return Hybrid(order="gradient_first", schedule="fixed", rate=rate, final_rate=rate)
