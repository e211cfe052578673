"""First-order Taylor pruning: remove the weights whose removal changes the loss least.

Setting a weight w to zero changes the loss by about -g·w (the first term of its
Taylor expansion around the current weights), so |w·g| estimates what each weight is
worth right now. It is the saliency of SNIP (Lee et al. 2019) and of Molchanov et al.'s
first-order criterion (2019), applied here at every gradual pruning step with the
current minibatch gradient, like the other gradient criteria of this suite.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from baselines.criteria import smallest_k
from baselines.registry import register


@register("taylor")
@dataclass(frozen=True)
class Taylor:
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        return smallest_k((weight * grad).abs(), active, k)
