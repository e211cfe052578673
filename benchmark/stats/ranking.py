"""Ranks of methods within settings, the Friedman test across settings and Nemenyi's CD.

Ranking is how the paper states "highest ranking"; Friedman and Nemenyi (Demšar 2006)
say whether rank differences across settings are larger than chance *if the settings are
independent blocks*. Here they are not: the settings share seeds, and a method's luck
with a seed can carry across them, so these tests are shown as a description (with the
critical-difference diagram) and the ranking claim is tested over seeds instead
(benchmark.stats.seed_ranks). Both need every compared method in every block, so they
use only the settings where all have data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmark.stats.table import TIE_DECIMALS, Cell, Setting, Table

ALPHA = 0.05


@dataclass(frozen=True)
class AverageRank:
    rank: float
    settings: int
    """How many settings the average is over: only those where the method has data."""


@dataclass(frozen=True)
class Friedman:
    methods: tuple[str, ...]
    blocks: tuple[Setting, ...]
    average_ranks: Mapping[str, float]
    """Over `blocks` only, so that every method is ranked against the same opponents."""
    statistic: float | None
    pvalue: float | None
    note: str | None
    iman_davenport: float | None = None
    """Iman and Davenport's F = (N - 1) chi2 / (N (k - 1) - chi2): Friedman's chi2 is
    conservative at few blocks, F with (k - 1, (k - 1)(N - 1)) df is not (Demšar 2006)."""
    iman_davenport_p: float | None = None

    @property
    def k(self) -> int:
        return len(self.methods)

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)


def rank_means(means: Mapping[str, float]) -> dict[str, float]:
    """1 = highest mean; tied means share the average of their ranks."""
    labels = list(means)
    rounded = np.round([means[label] for label in labels], TIE_DECIMALS)
    return {label: float(r) for label, r in zip(labels, stats.rankdata(-rounded), strict=True)}


def setting_ranks(table: Table) -> dict[Setting, dict[str, float]]:
    return {
        s: rank_means({m: c.mean for m, c in cells.items()}) for s, cells in table.cells.items()
    }


def average_ranks(ranks: Mapping[Setting, Mapping[str, float]]) -> dict[str, AverageRank]:
    by_method: dict[str, list[float]] = {}
    for setting_ranks_ in ranks.values():
        for method, rank in setting_ranks_.items():
            by_method.setdefault(method, []).append(rank)
    return {m: AverageRank(float(np.mean(r)), len(r)) for m, r in sorted(by_method.items())}


def friedman(table: Table) -> Friedman:
    """Friedman's test over the settings where every pruning method has data."""
    methods = tuple(sorted({m for cells in table.cells.values() for m in cells}))
    blocks = tuple(s for s, cells in table.cells.items() if set(cells) == set(methods))
    means = [[table.cells[s][m].mean for m in methods] for s in blocks]
    ranks = [rank_means(dict(zip(methods, row, strict=True))) for row in means]
    average = {m: float(np.mean([r[m] for r in ranks])) for m in methods} if blocks else {}
    note = _friedman_note(table.cells, methods, blocks)
    if note is not None:
        return Friedman(methods, blocks, average, None, None, note)
    columns = np.round(np.array(means), TIE_DECIMALS).T
    if np.all(columns == columns[0]):  # scipy would divide by a zero tie correction
        return Friedman(methods, blocks, average, None, None, "all methods tie in every setting")
    statistic, pvalue = stats.friedmanchisquare(*columns)
    f, f_p = iman_davenport(float(statistic), len(methods), len(blocks))
    return Friedman(methods, blocks, average, float(statistic), float(pvalue), None, f, f_p)


def iman_davenport(chi2: float, k: int, n_blocks: int) -> tuple[float, float]:
    """F statistic and p-value; a perfect agreement of every block (chi2 at its maximum
    N (k - 1)) is an infinite F with p = 0."""
    denominator = n_blocks * (k - 1) - chi2
    if denominator <= 1e-12 * n_blocks * (k - 1):
        return math.inf, 0.0
    f = (n_blocks - 1) * chi2 / denominator
    return f, float(stats.f.sf(f, k - 1, (k - 1) * (n_blocks - 1)))


def _friedman_note(
    cells: Mapping[Setting, Mapping[str, Cell]],
    methods: Sequence[str],
    blocks: Sequence[Setting],
) -> str | None:
    if len(methods) < 3:
        return f"k={len(methods)} methods: Friedman needs at least 3 (see the paired tests)"
    if len(blocks) < 2:
        lacking = {m: sum(m not in c for c in cells.values()) for m in methods}
        gaps = "".join(f"; {m} lacks {n} setting(s)" for m, n in lacking.items() if n)
        return f"{len(blocks)} setting(s) with all {len(methods)} methods, need 2{gaps}"
    return None


def nemenyi_q(k: int, alpha: float = ALPHA) -> float:
    """Demšar's q_alpha: the studentized range quantile for k groups, infinite df, over √2."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n_blocks: int, alpha: float = ALPHA) -> float:
    """Average ranks further apart than this differ significantly (Nemenyi, Demšar 2006)."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n_blocks))
