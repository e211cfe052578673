"""First-order Taylor pruning as a method of your own, outside the harness.

This file is the worked example of docs/adding-a-baseline.md. Nothing registers it:
name it on the command line or in a preset as `examples/taylor_score.py:TaylorScore`
and the harness loads it. It is the built-in `taylor` baseline written out of tree, so
the two give identical runs.

A method is a factory (here a dataclass; its fields would be the method's parameters)
whose object has `select`. At each pruning step the harness passes the flat vectors of
all prunable weights, their gradients on the current minibatch and the bool mask of the
weights still active, and asks for exactly `k` of the active ones to prune.
"""

from dataclasses import dataclass

from torch import Tensor

from baselines.criteria import smallest_k


@dataclass(frozen=True)
class TaylorScore:
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        # |w·g|: the first-order Taylor estimate of how much the loss changes when w -> 0.
        # smallest_k returns exactly k active entries, breaking ties by lowest index.
        return smallest_k((weight * grad).abs(), active, k)
