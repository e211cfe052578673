"""A regrowing method in a file of your own (docs/adding-a-baseline.md, section 9).

Every `every` iterations it swaps, over the whole network, the `n` active weights of
smallest |w| for the `n` inactive weights of largest |gradient|; when the run's pruning
plan removes `k` weights, it prunes the `k` of smallest |w| first. A global RigL with a
fixed swap size: small enough to read, complete enough to run in any grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from baselines import Regrowth, StepContext, UpdateClock
from baselines.criteria import smallest_k


@dataclass(frozen=True)
class GradientSwap:
    n: int = 64
    every: int = 50

    @property
    def clock(self) -> UpdateClock:
        return UpdateClock(self.every)  # every `every` iterations, the whole run

    @property
    def dense_gradient(self) -> bool:
        return True  # it reads the gradient of inactive weights: count that backward pass

    def update(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, context: StepContext
    ) -> Regrowth:
        prune = smallest_k(weight.abs(), active, k)
        alive = active & ~prune
        if not context.update:  # a pruning step between two updates of the clock
            nothing = torch.zeros_like(active)
            return Regrowth(remove=nothing, grow=nothing, prune=prune)
        n = min(self.n, int(alive.sum()))
        drop = smallest_k(weight.abs(), alive, n)
        grow = smallest_k(-grad.abs(), ~(alive & ~drop), n)  # inactive ones, just dropped too
        return Regrowth(remove=drop, grow=grow, prune=prune)
