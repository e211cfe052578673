"""What a grid of few seeds can detect: power of the paired t-test, exactly.

The suite's verdicts rest on paired t-tests (docs/results.md). With 2-5 seeds a test that
finds nothing says little unless the reader knows how large a difference it could have
found, so every comparison reports the smallest difference it detects with 80% power and
the seeds a 0.5-point difference would need. Power comes from the noncentral t
distribution (no normal approximation, which flatters small n), given a true standard
deviation of the paired differences; the grid's estimate of it is pooled over its
comparisons, because one comparison's 1-4 degrees of freedom estimate it too poorly. The
comparisons share FGGP's runs and the seeds, so the pooled figure is a planning value,
not an estimate with the summed degrees of freedom: the figures say how many spreads it
pools, never a df it does not have. The tests' own df (n - 1) is what the power uses.

A win in a setting (benchmark.stats.contrasts) needs every one of k - 1 one-sided
contrasts to reject, each on the setting's pooled residual sd: `WinPower` gives its
probability by simulation of those k - 1 correlated t statistics, and `ClaimDesign`
the probability that a claim's count of wins is reached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

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
    return fewest(lambda n: t_power(delta, sd, n, alpha, sides) >= power)


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
    pooled_over: int
    """How many comparisons' spreads `sd` pools (they share runs: not independent)."""
    alpha: float
    sides: int
    n: int
    detectable: float | None
    """Smallest difference (points) found with 80% power by a test over `n` pairs."""
    seeds_for_target: int | None
    """Seeds (pairs) that detect TARGET_DIFFERENCE points with 80% power; None: too many."""

    @staticmethod
    def of(sd: float | None, pooled_over: int, alpha: float, n: int, sides: int = 2) -> Power:
        if sd is None:
            return Power(None, pooled_over, alpha, sides, n, None, None)
        return Power(
            sd,
            pooled_over,
            alpha,
            sides,
            n,
            detectable_difference(sd, n, alpha, sides=sides),
            seeds_needed(TARGET_DIFFERENCE, sd, alpha, sides=sides),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "sd": self.sd,
            "pooled_over": self.pooled_over,
            "test_dof": max(self.n - 1, 0),
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
            f"with {self.n} seeds and a paired-difference sd of {self.sd:.2f} (pooled over"
            f" {self.pooled_over}), a {tail} paired t-test ({max(self.n - 1, 0)} df) at alpha"
            f" {self.alpha:.3g} {found};"
            f" {TARGET_DIFFERENCE:g} points would need {needed}"
        )


WIN_DRAWS = 20_000
"""Simulated draws per win probability: a Monte-Carlo sd of at most 0.35 points of power."""


@lru_cache(maxsize=256)
def _win_thresholds(competitors: int, dof: int, level: float) -> np.ndarray:
    """Sorted draws of the noncentrality a win needs: c s/sigma - min_j w_j.

    With the contrasts' common scale sigma sqrt(2/n), contrast j's t statistic is
    (ncp + w_j) / (s / sigma), where w_j = (z_0 - z_j) / sqrt(2) shares FGGP's z_0 (the
    contrasts are correlated 1/2) and (s / sigma)^2 is chi2(dof) / dof. All k - 1 reject
    at `level` exactly when ncp exceeds this threshold, so the win probability at ncp is
    the share of thresholds below it. Seeded: the same figures every time.
    """
    rng = np.random.default_rng(20241108)
    z0 = rng.standard_normal(WIN_DRAWS)
    zj = rng.standard_normal((WIN_DRAWS, competitors))
    scale = np.sqrt(rng.chisquare(dof, WIN_DRAWS) / dof)
    critical = float(special.stdtrit(dof, 1.0 - level))
    worst = ((z0[:, None] - zj) / math.sqrt(2.0)).min(axis=1)
    return np.sort(critical * scale - worst)


def win_power(ncp: float, competitors: int, dof: int, level: float) -> float:
    """Probability that a setting is won at `level`: FGGP ahead of each of `competitors`
    by ncp contrast standard errors (lead * sqrt(n / 2) / sigma)."""
    if dof < 1 or competitors < 1:
        return 0.0
    thresholds = _win_thresholds(competitors, dof, level)
    return float(np.searchsorted(thresholds, ncp, side="right") / len(thresholds))


@dataclass(frozen=True)
class ClaimDesign:
    """A claim as a count of won settings: in each of `groups` groups, at least `needed`
    of `settings` settings won, the settings' tests at ALPHA / (settings - needed + 1)."""

    groups: int
    settings: int
    needed: int
    alpha: float

    @property
    def level(self) -> float:
        return self.alpha / (self.settings - self.needed + 1)

    def probability(self, lead: float, sd: float, n: int, competitors: int) -> float:
        """The claim is supported, if FGGP leads every competitor by `lead` points in every
        setting, the run-to-run sd is `sd`, with `n` seeds (settings taken as independent)."""
        if n < 2:
            return 0.0
        ncp = lead * math.sqrt(n / 2.0) / sd
        p = win_power(ncp, competitors, competitors * (n - 1), self.level)
        tail = float(stats.binom.sf(self.needed - 1, self.settings, p))
        return tail**self.groups


def smallest(rises: Callable[[float], float], target: float, high: float) -> float | None:
    """Smallest x in [0, high * 2^30] with rises(x) >= target, for a nondecreasing
    `rises`; None when even the top does not reach it (bisection to 1e-6 relative)."""
    while rises(high) < target:
        high *= 2
        if high > 2**30:
            return None
    low = 0.0
    while high - low > 1e-6 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if rises(middle) >= target else (middle, high)
    return high


def fewest(enough: Callable[[int], bool]) -> int | None:
    """Smallest n >= 2 with enough(n), for a monotone `enough`; None beyond MAX_SEEDS."""
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
