"""Paired comparisons of one method against every other, seed by seed, within settings.

Runs with the same seed share initial weights, initial mask and data order, so the
difference of a pair removes that shared variation; only seeds both methods have are
paired. With the paper's few seeds a test often *cannot* reach significance at all,
and the result says so instead of reporting a p-value that looks like evidence.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import special, stats

from benchmark.stats.table import TIE_DECIMALS, Cell, Setting, Table, mean_ci

TESTS = ("t", "wilcoxon")
MIN_WILCOXON_PAIRS = 6
"""The smallest two-sided exact Wilcoxon p for n non-zero pairs is 2/2^n: below 6 pairs
it is at least 0.0625, so the test cannot reach p < 0.05 whatever the data."""


@dataclasses.dataclass(frozen=True)
class Comparison:
    setting: Setting
    a: str
    b: str
    test: str
    n: int
    """Pairs used: seeds both methods have (for Wilcoxon, the non-zero differences)."""
    p: float | None
    p_holm: float | None
    """Holm-adjusted over every comparison of the same test, all settings together."""
    mean_diff: float | None
    """Mean of a - b over the pairs, in accuracy points."""
    ci95: tuple[float, float] | None
    note: str | None


def compare(table: Table, reference: str = "fggp") -> list[Comparison]:
    """`reference` against every other pruning method in every setting where it has data."""
    raw = [
        comparison
        for setting, cells in table.cells.items()
        if reference in cells
        for other in cells
        if other != reference
        for comparison in _pair(setting, reference, other, cells[reference], cells[other])
    ]
    adjusted: dict[int, float | None] = {}
    for test in TESTS:
        family = [i for i, c in enumerate(raw) if c.test == test]
        adjusted.update(zip(family, holm([raw[i].p for i in family]), strict=True))
    return [dataclasses.replace(c, p_holm=adjusted[i]) for i, c in enumerate(raw)]


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment; None (no test possible) is kept and not counted."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for position, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - position) * p))
        adjusted[i] = running
    return adjusted


def paired_t(differences: Sequence[float]) -> tuple[float | None, str | None]:
    n = len(differences)
    if n < 2:
        return None, f"n={n} pairs: the paired t-test needs at least 2"
    if np.ptp(differences) == 0:
        return None, f"all {n} differences equal ({differences[0]:g}): t is undefined"
    return t_test(differences), None


def t_test(differences: Sequence[float], alternative: str = "two-sided") -> float:
    """p-value of the one-sample t-test of a zero mean (of differences with a spread).

    The same value as scipy.stats.ttest_1samp (tested), from its formula through the
    Student t CDF ufunc: a tenth of the cost, which simulated grids of thousands of
    tests need.
    """
    n = len(differences)
    t = float(np.mean(differences)) / (float(np.std(differences, ddof=1)) / math.sqrt(n))
    if alternative == "greater":
        return float(special.stdtr(n - 1, -t))
    if alternative == "less":
        return float(special.stdtr(n - 1, t))
    return float(2 * special.stdtr(n - 1, -abs(t)))


def wilcoxon(differences: Sequence[float]) -> tuple[int, float | None, str | None]:
    """Signed-rank test on the non-zero differences (Wilcoxon's convention for zeros).

    SciPy's "auto" method is exact without ties and an exhaustive permutation test with
    them at these sizes, so the p-value is exact whenever it is reported.
    """
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n < MIN_WILCOXON_PAIRS:
        floor = f"min p = {2 / 2**n:.3g}" if n else "all differences are zero"
        return n, None, f"n={n} pairs: Wilcoxon cannot reach p<0.05 ({floor})"
    return n, float(stats.wilcoxon(nonzero).pvalue), None


def mean_difference(
    differences: Sequence[float],
) -> tuple[float | None, tuple[float, float] | None]:
    """Mean difference with its 95% t-interval; no interval without a spread to scale it."""
    if not differences:
        return None, None
    return float(np.mean(differences)), mean_ci(differences)[0]


def differences(a: Cell, b: Cell) -> list[float]:
    """a - b for the seeds both have, rounded so float noise is neither spread nor a tie."""
    seeds = sorted(set(a.accuracy) & set(b.accuracy))
    return [round(a.accuracy[s] - b.accuracy[s], TIE_DECIMALS) for s in seeds]


def _pair(setting: Setting, a: str, b: str, cell_a: Cell, cell_b: Cell) -> list[Comparison]:
    d = differences(cell_a, cell_b)
    mean, ci95 = mean_difference(d)
    t_p, t_note = paired_t(d)
    w_n, w_p, w_note = wilcoxon(d)
    unpaired = _unpaired_note(cell_a, cell_b, len(d))
    return [
        Comparison(setting, a, b, "t", len(d), t_p, None, mean, ci95, _join(unpaired, t_note)),
        Comparison(setting, a, b, "wilcoxon", w_n, w_p, None, mean, ci95, _join(unpaired, w_note)),
    ]


def _unpaired_note(a: Cell, b: Cell, n_pairs: int) -> str | None:
    if a.n == b.n == n_pairs:
        return None
    return f"seeds differ (n={a.n} vs n={b.n}): only the {n_pairs} common seed(s) are paired"


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None
