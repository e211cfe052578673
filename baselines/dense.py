"""No pruning: the dense network, the upper bound every pruned result is read against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from baselines.registry import register


@register("dense")
@dataclass(frozen=True)
class Dense:
    prunes: ClassVar[bool] = False

    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        if k:
            raise ValueError("the dense baseline never prunes; run it with target sparsity 0")
        return torch.zeros_like(active)
