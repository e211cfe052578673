"""Gradient-only pruning: remove the weights the loss is least sensitive to right now."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from baselines.criteria import smallest_k
from baselines.registry import register


@register("gradient")
@dataclass(frozen=True)
class Gradient:
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        return smallest_k(grad.abs(), active, k)
