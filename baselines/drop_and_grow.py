"""Drop and grow: the dynamic sparse training methods GraNet, RigL and SET as one method.

At each update of its clock the method drops, in every layer, a fraction of the layer's
active weights with the smallest |w| and grows as many among the layer's inactive ones
(those just dropped included): by the largest |gradient| of the minibatch (RigL, GraNet;
the gradient of inactive weights, which needs a dense backward pass) or at random (SET).
The fraction follows a cosine from `drop_fraction` down to `drop_fraction_min`, reached
at `decay_end` of training. When the run's pruning plan also removes `k` weights at that
iteration (a gradual run: GraNet's "gradual pruning"), the `k` weights of smallest |w|
over all layers are pruned first (zeroed: one regrown in the same update restarts at
0.0), and the layer counts are taken after them, as GraNet's `pruning`, which applies its
mask, precedes its `truncate_weights` (CIFAR/sparselearning/core.py 343-346, 401).

The three names differ only in their defaults (docs/methods.md cites each one): GraNet
drops ceil(f * n) per layer, every 1000 iterations for the whole run, f from 0.5 to 0.005
over all iterations; RigL drops floor(f * n), every 100 iterations until 75% of training,
f from 0.3 to 0 over that window; SET is RigL's clock with random growth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from baselines.contract import Regrowth, StepContext, UpdateClock
from baselines.criteria import smallest_k
from baselines.registry import register

GROWTH = ("gradient", "random")
ROUNDING = ("ceil", "floor")


def cosine_fraction(iteration: int, horizon: int, initial: float, minimum: float) -> float:
    """The drop fraction `iteration` iterations in: a half cosine from `initial` to
    `minimum` over `horizon` iterations, then `minimum` (torch's CosineAnnealingLR, which
    GraNet steps once per iteration, and TF's cosine_decay, which RigL uses, in closed form)."""
    t = min(iteration, horizon)
    return minimum + (initial - minimum) * (1.0 + math.cos(math.pi * t / horizon)) / 2.0


def layer_drop_count(n_active: int, fraction: float, rounding: str) -> int:
    """How many of a layer's `n_active` weights one update drops (and regrows)."""
    count = fraction * n_active
    return min(n_active, math.ceil(count) if rounding == "ceil" else math.floor(count))


@dataclass(frozen=True)
class DropAndGrow:
    drop_fraction: float = 0.3
    drop_fraction_min: float = 0.0
    decay_end: float = 0.75
    update_every: int = 100
    update_end: float = 0.75
    growth: str = "gradient"
    rounding: str = "floor"

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_fraction_min <= self.drop_fraction <= 1.0:
            raise ValueError("need 0 <= drop_fraction_min <= drop_fraction <= 1")
        if not 0.0 < self.decay_end <= 1.0:
            raise ValueError("decay_end is a fraction of training in (0, 1]")
        if self.growth not in GROWTH:
            raise ValueError(f"growth must be one of {GROWTH}, got {self.growth!r}")
        if self.rounding not in ROUNDING:
            raise ValueError(f"rounding must be one of {ROUNDING}, got {self.rounding!r}")
        UpdateClock(self.update_every, 0.0, self.update_end)  # its own checks

    @property
    def clock(self) -> UpdateClock:
        return UpdateClock(self.update_every, 0.0, self.update_end)

    @property
    def dense_gradient(self) -> bool:
        return self.growth == "gradient"

    def fraction(self, context: StepContext) -> float:
        horizon = max(1, math.floor(self.decay_end * context.total_iterations))
        return cosine_fraction(
            context.iteration, horizon, self.drop_fraction, self.drop_fraction_min
        )

    def update(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, context: StepContext
    ) -> Regrowth:
        magnitude = weight.abs()
        pruned = smallest_k(magnitude, active, k)
        if not context.update:
            return Regrowth(
                remove=torch.zeros_like(active), grow=torch.zeros_like(active), prune=pruned
            )
        fraction = self.fraction(context)
        removes, grows = [], []
        pieces = zip(
            torch.split(magnitude, context.layer_numels),
            torch.split(grad, context.layer_numels),
            torch.split(active & ~pruned, context.layer_numels),
            strict=True,
        )
        for layer, (size, score, alive) in enumerate(pieces):
            count = layer_drop_count(int(alive.sum()), fraction, self.rounding)
            drop = smallest_k(size, alive, count)
            candidates = ~(alive & ~drop)
            if self.growth == "gradient":
                grow_score = -score.abs()
            else:
                grow_score = torch.rand(score.numel(), generator=context.generator(layer))
            removes.append(drop)
            grows.append(smallest_k(grow_score.to(score.device), candidates, count))
        return Regrowth(remove=torch.cat(removes), grow=torch.cat(grows), prune=pruned)


register("granet")(
    functools.partial(
        DropAndGrow,
        drop_fraction=0.5,
        drop_fraction_min=0.005,
        decay_end=1.0,
        update_every=1000,
        update_end=1.0,
        growth="gradient",
        rounding="ceil",
    )
)
register("rigl")(functools.partial(DropAndGrow, growth="gradient"))
register("set")(functools.partial(DropAndGrow, growth="random"))
