"""What a grid of few seeds can detect: power of the paired t-test, exactly.

The suite's verdicts rest on paired t-tests (docs/results.md). With 2-5 seeds a test that
finds nothing says little unless the reader knows how large a difference it could have
found, so every comparison reports the smallest difference it detects with 80% power and
the seeds a 0.5-point difference would need. Power comes from the noncentral t
distribution (no normal approximation, which flatters small n), given a true standard
deviation of the paired differences; the grid's estimate of it is pooled over all its
comparisons, because one comparison's 1-4 degrees of freedom estimate it too poorly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from scipy import optimize, stats

POWER = 0.8
TARGET_DIFFERENCE = 0.5
"""Accuracy points: the size of effect the seed plan is made for."""
MAX_SEEDS = 100_000


def t_power(delta: float, sd: float, n: int, alpha: float, sides: int = 2) -> float:
    """Probability that a paired t-test over `n` pairs at level `alpha` rejects.

    `delta` is the true mean difference and `sd` the true sd of one paired difference;
    `sides` = 1 tests in the direction of `delta`.
    """
    if n < 2:
        return 0.0
    df = n - 1
    shift = abs(delta) * math.sqrt(n) / sd
    critical = stats.t.ppf(1 - alpha / sides, df)
    power = stats.nct.sf(critical, df, shift)
    if sides == 2:  # P(T < -c) as the upper tail of -T: scipy's lower tail is NaN at large shifts
        power += stats.nct.sf(critical, df, -shift)
    return float(power)


def detectable_difference(
    sd: float, n: int, alpha: float, power: float = POWER, sides: int = 2
) -> float | None:
    """The smallest true difference the test finds with probability `power`; None for n < 2."""
    if n < 2 or not sd > 0:
        return None
    # power grows without bound in delta, so a bracket [0, hi] exists for any power < 1
    high = sd
    while t_power(high, sd, n, alpha, sides) < power:
        high *= 2
    return float(
        optimize.brentq(lambda d: t_power(d, sd, n, alpha, sides) - power, 0.0, high, xtol=1e-9)
    )


def seeds_needed(
    delta: float, sd: float, alpha: float, power: float = POWER, sides: int = 2
) -> int | None:
    """Fewest pairs that detect `delta` with probability `power`; None beyond MAX_SEEDS.

    Power rises with n for a fixed difference, so a doubling search and a bisection find
    the smallest n exactly.
    """
    if not sd > 0:
        return 2

    def enough(n: int) -> bool:
        return t_power(delta, sd, n, alpha, sides) >= power

    high = 2
    while not enough(high):
        if high >= MAX_SEEDS:
            return None
        high = min(2 * high, MAX_SEEDS)
    low = high // 2 if high > 2 else 1
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return max(high, 2)


def pooled_sd(groups: Iterable[tuple[float | None, int]]) -> tuple[float | None, int]:
    """sqrt(sum (n_i - 1) sd_i^2 / sum (n_i - 1)) over (sd, n) pairs, and its degrees of freedom."""
    weighted = [(n - 1, sd) for sd, n in groups if sd is not None and n >= 2]
    dof = sum(d for d, _ in weighted)
    if dof == 0:
        return None, 0
    return math.sqrt(sum(d * sd * sd for d, sd in weighted) / dof), dof


@dataclass(frozen=True)
class Power:
    """What one family of paired tests can detect, at its per-test level `alpha`."""

    sd: float | None
    """The sd of a paired difference the figures assume (pooled over the family)."""
    dof: int
    alpha: float
    sides: int
    n: int
    detectable: float | None
    """Smallest difference (points) found with 80% power by a test over `n` pairs."""
    seeds_for_target: int | None
    """Seeds (pairs) that detect TARGET_DIFFERENCE points with 80% power; None: too many."""

    @staticmethod
    def of(sd: float | None, dof: int, alpha: float, n: int, sides: int = 2) -> Power:
        if sd is None:
            return Power(None, dof, alpha, sides, n, None, None)
        return Power(
            sd,
            dof,
            alpha,
            sides,
            n,
            detectable_difference(sd, n, alpha, sides=sides),
            seeds_needed(TARGET_DIFFERENCE, sd, alpha, sides=sides),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "sd": self.sd,
            "dof": self.dof,
            "alpha": self.alpha,
            "sides": self.sides,
            "n": self.n,
            "power": POWER,
            "detectable": self.detectable,
            "target_difference": TARGET_DIFFERENCE,
            "seeds_for_target": self.seeds_for_target,
        }

    def sentence(self) -> str:
        if self.sd is None:
            return "no spread of paired differences to estimate power from"
        tail = "one-sided" if self.sides == 1 else "two-sided"
        found = (
            f"detects {self.detectable:.2f} points with 80% power"
            if self.detectable is not None
            else "cannot test (fewer than 2 pairs)"
        )
        needed = (
            f"{self.seeds_for_target} seeds" if self.seeds_for_target else f"over {MAX_SEEDS:,}"
        )
        return (
            f"with {self.n} seeds and a paired-difference sd of {self.sd:.2f}"
            f" ({self.dof} df), a {tail} paired t-test at alpha {self.alpha:.3g} {found};"
            f" {TARGET_DIFFERENCE:g} points would need {needed}"
        )
