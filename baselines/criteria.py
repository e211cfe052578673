"""Exact, deterministic top-k selection shared by every criterion.

Threshold tricks (`score <= kth_value`) miscount when scores tie, and `torch.topk`
does not promise which of several equal scores it returns. `smallest_k` takes every
eligible entry strictly below the k-th smallest score and then the lowest-indexed
entries equal to it, so it returns exactly k entries and the same ones on every run.
It is O(n) (one `kthvalue`, one `cumsum`), cheap enough for 20M weights on a GPU.
"""

from __future__ import annotations

import torch
from torch import Tensor


def smallest_k(score: Tensor, eligible: Tensor, k: int) -> Tensor:
    """Bool mask of the `k` eligible entries with the smallest score (NaN ranks last)."""
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    n_eligible = int(eligible.sum())
    if k > n_eligible:
        raise ValueError(f"cannot select {k} of {n_eligible} eligible entries")
    if k == 0:
        return torch.zeros_like(eligible)
    if k == n_eligible:
        return eligible.clone()
    is_nan = torch.isnan(score)
    ranked = eligible & ~is_nan
    n_ranked = int(ranked.sum())
    if k >= n_ranked:  # all numbers, then the lowest-indexed NaNs
        return ranked | _first(eligible & is_nan, k - n_ranked)
    inf = torch.tensor(float("inf"), dtype=score.dtype, device=score.device)
    masked = torch.where(ranked, score, inf)
    kth = torch.kthvalue(masked, k).values
    below = ranked & (masked < kth)
    return below | _first(ranked & (masked == kth), k - below.sum())


def _first(candidates: Tensor, count: int | Tensor) -> Tensor:
    """The `count` lowest-indexed True entries of `candidates`."""
    return candidates & (torch.cumsum(candidates, 0) <= count)
