"""Gradual magnitude pruning (GMP, Zhu & Gupta 2017): remove the smallest |w|."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from baselines.criteria import smallest_k
from baselines.registry import register


@register("magnitude")
@dataclass(frozen=True)
class Magnitude:
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        return smallest_k(weight.abs(), active, k)
