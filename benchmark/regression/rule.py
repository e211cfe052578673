"""The pass/fail rule of the regression check, as pure functions (docs/regression.md).

A cell (one method in one setting, over several seeds) regresses when its mean accuracy
falls below the reference mean by more than the noise of a few-seed mean allows:

    fail if  mean_now < mean_ref - t * s * sqrt(1/n_ref + 1/n_now)
    s = max(sd_ref of the cell, sd pooled over all reference cells, binomial sd)
    t = the one-sided Student t quantile at alpha / m with the pooled sd's degrees of
        freedom, sum (n_i - 1) over the reference cells  (alpha = 0.01, m cells: Bonferroni)

The seed-to-seed sd of the reference sets the noise scale. Three seeds estimate it
poorly (2 degrees of freedom), so it is propped up by the sd pooled over every cell of
the reference (the same network, data and budget) and floored by the binomial sd of an
accuracy measured on n_test images, 100 * sqrt(p (1 - p) / n_test): a cell whose seeds
happened to agree must not fail on a new torch version or GPU that moves each run by a
few test images. That sd is estimated, not known, so the quantile is Student's t, not the
normal one: on 7 cells of 3 seeds (14 degrees of freedom) the normal quantile raised
false alarms in 2.3% of checks, not 1%, and in 7.3% on a single cell without the floor;
the t quantile keeps them at 0.6% and at exactly 1% (`python -m benchmark.regression.simulate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy import special

ALPHA = 0.01
"""Family-wise false-alarm rate of one check when nothing changed but the noise."""


def binomial_sd(mean_percent: float, n_test: int) -> float:
    """Sd (in points) of an accuracy of `mean_percent` measured on `n_test` test images."""
    p = min(max(mean_percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1.0 - p) / n_test)


def t_critical(m: int, dof: int, alpha: float = ALPHA) -> float:
    """One-sided Student t quantile at `alpha / m` (Bonferroni over `m` cells), `dof` df.

    The noise sd is estimated from the reference (the pooled sd, `dof` degrees of
    freedom), so (mean_now - mean_ref) / (sd * sqrt(1/n_ref + 1/n_now)) is t-distributed
    when nothing changed: the t quantile makes each cell's false-alarm rate alpha / m, the
    normal quantile would make it larger. Undefined without a degree of freedom.
    """
    if dof < 1:
        raise ValueError(f"no degrees of freedom to estimate the noise (dof {dof})")
    return float(special.stdtrit(dof, 1.0 - alpha / max(m, 1)))


def noise_sd(cell_sd: float | None, pooled: float | None, floor: float) -> float:
    """The larger of the cell's sd, the pooled sd and the binomial floor.

    With normal noise of one sd in every cell, the pooled sd alone makes each cell's t test
    exact; the cell's own sd and the floor can only widen the allowed drop (fewer false
    alarms), for cells noisier than the rest and for environments that move each run by a
    few test images.
    """
    return max(cell_sd or 0.0, pooled or 0.0, floor)


def allowed_drop(noise: float, n_ref: int, n_now: int, critical: float) -> float:
    """How far below the reference mean a mean of `n_now` runs may fall by chance."""
    return critical * noise * math.sqrt(1.0 / n_ref + 1.0 / n_now)


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
