"""The pass/fail rule of the regression check, as pure functions (docs/regression.md).

A cell (one method in one setting, over several seeds) regresses when its mean accuracy
falls below the reference mean by more than the noise of a few-seed mean allows:

    fail if  mean_now < mean_ref - z * s * sqrt(1/n_ref + 1/n_now)
    s = max(sd_ref of the cell, sd pooled over all reference cells, binomial sd)
    z = the one-sided normal quantile at alpha / m  (alpha = 0.01, m cells: Bonferroni)

The seed-to-seed sd of the reference sets the noise scale. Three seeds estimate it
poorly (2 degrees of freedom), so it is propped up by the sd pooled over every cell of
the reference (the same network, data and budget) and floored by the binomial sd of an
accuracy measured on n_test images, 100 * sqrt(p (1 - p) / n_test): a cell whose seeds
happened to agree must not fail on a new torch version or GPU that moves each run by a
few test images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Any

ALPHA = 0.01
"""Family-wise false-alarm rate of one check when nothing changed but the noise."""


def binomial_sd(mean_percent: float, n_test: int) -> float:
    """Sd (in points) of an accuracy of `mean_percent` measured on `n_test` test images."""
    p = min(max(mean_percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1.0 - p) / n_test)


def pooled_sd(cells: Iterable[tuple[float | None, int]]) -> float | None:
    """sqrt(sum (n_i - 1) sd_i^2 / sum (n_i - 1)) over (sd, n) pairs; None without a spread."""
    weighted = [(n - 1, sd) for sd, n in cells if sd is not None and n >= 2]
    dof = sum(d for d, _ in weighted)
    if dof == 0:
        return None
    return math.sqrt(sum(d * sd * sd for d, sd in weighted) / dof)


def z_critical(m: int, alpha: float = ALPHA) -> float:
    """One-sided normal quantile with a Bonferroni split of `alpha` over `m` cells."""
    return NormalDist().inv_cdf(1.0 - alpha / max(m, 1))


def noise_sd(cell_sd: float | None, pooled: float | None, floor: float) -> float:
    return max(cell_sd or 0.0, pooled or 0.0, floor)


def allowed_drop(noise: float, n_ref: int, n_now: int, z: float) -> float:
    """How far below the reference mean a mean of `n_now` runs may fall by chance."""
    return z * noise * math.sqrt(1.0 / n_ref + 1.0 / n_now)


def sparsity_problem(result: Mapping[str, Any]) -> str | None:
    """Why a completed run's final sparsity is not exactly its target, or None.

    The harness leaves exactly round((1 - target) N) of the N prunable weights active
    after the last pruning step, and every pruned weight is zero; both are read back
    from the result (mask counts and the zeros actually in the weights).
    """
    n = sum(int(layer["numel"]) for layer in result["layers"])
    target = float(result["config"]["target_sparsity"])
    expected = round((1.0 - target) * n)
    active = round((1.0 - result["final"]["mask_sparsity"]) * n)
    if active != expected:
        return f"{active} of {n} weights active, target {target:g} means exactly {expected}"
    zeros = round(result["final"]["sparsity"] * n)
    if zeros < n - active:
        return f"{n - active - zeros} pruned weights are not zero"
    return None
