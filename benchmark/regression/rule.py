"""The pass/fail rule of the regression check, as pure functions (docs/regression.md).

A cell (one method in one setting, over several seeds) regresses when its mean accuracy
falls below the reference mean by more than the noise of two few-seed means allows, each
cell judged on its own spread:

    fail if  mean_now < mean_ref - t * s * sqrt(1/n_ref + 1/n_now)
    s = max(s_cell, binomial sd),
    s_cell^2 = ((n_ref - 1) sd_ref^2 + (n_now - 1) sd_now^2) / (n_ref + n_now - 2)
    t = the one-sided Student t quantile at alpha / m with n_ref + n_now - 2 degrees of
        freedom  (alpha = 0.01, m cells: Bonferroni)

That is the two-sample t test of each cell, one-sided, Bonferroni-corrected over the
cells. The cells of a check do not share one spread (one method's seeds scatter more than
another's), and a rule that pools the spread over cells, or shrinks each cell's toward a
pooled one (the moderated t of limma), lets a cell noisier than the rest raise false
alarms above the stated rate; a cell's own sd on its own degrees of freedom makes its
test exact whatever the other cells do. Both the reference's runs and the runs measured
now are draws of the same cell, so both estimate its spread: twice the degrees of freedom
of the reference alone. `python -m benchmark.regression.simulate` measures all three.
The binomial sd of an accuracy measured on n_test images floors s: a cell whose seeds
happened to agree must not fail on a new torch version or GPU that moves each run by a
few test images; it can only widen the allowed drop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import special

ALPHA = 0.01
"""Family-wise false-alarm rate of one check when nothing changed but the noise."""


def binomial_sd(mean_percent: float, n_test: int) -> float:
    """Sd (in points) of an accuracy of `mean_percent` measured on `n_test` test images."""
    p = min(max(mean_percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1.0 - p) / n_test)


def t_critical(m: int, dof: float, alpha: float = ALPHA) -> float:
    """One-sided Student t quantile at `alpha / m` (Bonferroni over `m` cells), `dof` df.

    The noise sd is estimated, so (mean_now - mean_ref) / (sd * sqrt(1/n_ref + 1/n_now))
    is t-distributed when nothing changed: the t quantile makes each cell's false-alarm
    rate alpha / m, the normal quantile would make it larger. `dof` may be fractional;
    undefined without a degree of freedom.
    """
    if not dof >= 1:
        raise ValueError(f"no degrees of freedom to estimate the noise (dof {dof})")
    return float(special.stdtrit(dof, 1.0 - alpha / max(m, 1)))


@dataclass(frozen=True)
class Spread:
    """What the rule reads of one cell: the reference's sd over its `n` runs, the binomial
    floor of its accuracy, and the sd over the `n_now` runs measured now (None: fewer
    than two)."""

    sd: float | None
    n: int
    floor: float
    sd_now: float | None = None
    n_now: int = 0


@dataclass(frozen=True)
class Noise:
    """What the rule uses for one cell: its noise sd and the t quantile it is judged by."""

    sd: float
    dof: float
    critical: float


def two_sample_noise(spreads: Sequence[Spread], alpha: float = ALPHA) -> list[Noise | None]:
    """Each cell's sd pooled over its reference runs and its runs now, floored, with the
    Bonferroni t quantile on its n + n_now - 2 degrees of freedom; None for a cell with
    no degree of freedom (a single run on each side)."""
    noises: list[Noise | None] = []
    for s in spreads:
        parts = [(sd, n - 1) for sd, n in ((s.sd, s.n), (s.sd_now, s.n_now)) if sd is not None]
        dof = sum(d for _, d in parts)
        if dof < 1:
            noises.append(None)
            continue
        sd = math.sqrt(math.fsum(d * v * v for v, d in parts) / dof)
        noises.append(Noise(max(sd, s.floor), dof, t_critical(len(spreads), dof, alpha)))
    return noises


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
