"""Random pruning: the sanity floor a pruning criterion has to beat.

At every step the k pruned weights are a uniformly random subset of the active ones.
`select` only sees the weights, gradients and mask, not the run's seed, so the draw is
seeded by a hash of `mask_seed`, k, the number of active weights and a fixed sample of the
current weights. That makes it a pure function of its inputs: a repeated or resumed
run draws exactly the same masks, and runs with different seeds (whose weights differ
from initialisation on) draw different ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor

from baselines.criteria import smallest_k
from baselines.registry import register

SAMPLED_WEIGHTS = 4096  # evenly spaced entries of the weight vector that enter the seed


def draw_seed(mask_seed: int, weight: Tensor, active: Tensor, k: int) -> int:
    """A 63-bit generator seed from the method's mask seed and the state it is asked about."""
    stride = max(1, weight.numel() // SAMPLED_WEIGHTS)
    sample = weight[::stride].detach().to("cpu", torch.float32).numpy().tobytes()
    header = f"{mask_seed}:{k}:{int(active.sum())}:".encode()
    return int.from_bytes(hashlib.sha256(header + sample).digest()[:8], "little") >> 1


@register("random")
@dataclass(frozen=True)
class RandomPruning:
    mask_seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.mask_seed, bool) or not isinstance(self.mask_seed, int):
            raise ValueError(f"mask_seed must be an integer, got {self.mask_seed!r}")

    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        generator = torch.Generator().manual_seed(draw_seed(self.mask_seed, weight, active, k))
        score = torch.rand(weight.numel(), generator=generator).to(weight.device)
        return smallest_k(score, active, k)
