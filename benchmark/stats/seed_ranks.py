"""FGGP's average rank against each other method's, tested over seeds, not settings.

Seeds are shared across settings: seed i gives the same initial weights and data order
in every setting of an architecture, so a method's luck with seed i can carry through
all of them. A test that treats settings as independent blocks (Friedman,
Iman-Davenport) then sees one lucky seed six times over and rejects far more often than
its level when all methods are equal. The independent units are the seeds. So each seed
ranks the methods within every setting on its own runs, and averages those ranks over
the settings: one average rank per method and seed. Whatever a seed does across
settings stays inside its own number, and the seeds are independent replicates: FGGP
against a competitor is a one-sided t-test of the per-seed rank differences, n - 1
degrees of freedom. More settings make each seed's average less noisy; more seeds add
replicates. In one setting a seed's ranks are a handful of integers and the t-test is
too coarse for them (9% rejections at 5% with 5 methods and 5 seeds, simulated); from two
settings on it kept its level in every case simulated, so the test needs two.

"Highest ranking" is an intersection over the competitors (each test at the full level);
"another method ranks higher" is their union (Bonferroni).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmark.stats.contrasts import at_least
from benchmark.stats.paired import t_test
from benchmark.stats.table import TIE_DECIMALS, Setting, Table

MIN_SETTINGS = 2


@dataclass(frozen=True)
class RankContrast:
    competitor: str
    lead: float
    """Mean over seeds of (competitor's average rank - the reference's): > 0, reference ahead."""
    sd: float | None
    """Sd over seeds of that rank difference."""
    p_ahead: float | None
    p_behind: float | None


@dataclass(frozen=True)
class SeedRanks:
    reference: str
    methods: tuple[str, ...]
    settings: tuple[Setting, ...]
    """Settings where every method has runs of every seed in `seeds`."""
    seeds: tuple[int, ...]
    average_rank: Mapping[str, tuple[float, ...]]
    """Per method, per seed (in `seeds` order): its rank averaged over `settings`."""
    contrasts: tuple[RankContrast, ...]
    note: str | None

    @property
    def p_ahead_of_all(self) -> float:
        return at_least(len(self.contrasts), [c.p_ahead for c in self.contrasts])

    @property
    def p_some_ahead(self) -> float:
        return at_least(1, [c.p_behind for c in self.contrasts])


def seed_ranks(table: Table, reference: str) -> SeedRanks:
    methods = tuple(sorted({m for cells in table.cells.values() for m in cells}))
    settings = tuple(s for s, cells in table.cells.items() if set(cells) == set(methods))
    seeds = _common_seeds(table, settings, methods)
    empty = SeedRanks(reference, methods, settings, seeds, {}, (), None)
    if reference not in methods or len(methods) < 2:
        return dataclasses.replace(empty, note=f"needs {reference} and another method")
    if len(settings) < MIN_SETTINGS or len(seeds) < 2:
        return dataclasses.replace(
            empty,
            note=f"{len(settings)} setting(s) with all {len(methods)} methods and {len(seeds)}"
            f" seed(s) common to all of them: the test needs {MIN_SETTINGS} settings and 2 seeds",
        )
    ranks = np.zeros((len(methods), len(seeds)))
    for setting in settings:
        cells = table.cells[setting]
        accuracy = [[cells[m].accuracy[seed] for seed in seeds] for m in methods]
        # 1 = highest; ties (to TIE_DECIMALS) share their average rank, as in rank_means
        ranks += stats.rankdata(-np.round(accuracy, TIE_DECIMALS), axis=0)
    ranks /= len(settings)
    mine = ranks[methods.index(reference)]
    contrasts = tuple(
        _contrast(m, np.round(ranks[j] - mine, TIE_DECIMALS))
        for j, m in enumerate(methods)
        if m != reference
    )
    average = {m: tuple(float(r) for r in ranks[j]) for j, m in enumerate(methods)}
    return SeedRanks(reference, methods, settings, seeds, average, contrasts, None)


def _contrast(competitor: str, lead: np.ndarray) -> RankContrast:
    """One-sided t-tests of the per-seed rank leads; equal leads have no spread for t,
    and the exact sign-flip test (2^-n for n leads all of one sign) stands in."""
    n = len(lead)
    mean = float(np.mean(lead))
    if np.ptp(lead) == 0:
        exact = 0.5**n
        ahead = exact if mean > 0 else 1.0
        behind = exact if mean < 0 else 1.0
        return RankContrast(competitor, mean, 0.0, ahead, behind)
    values = lead.tolist()
    return RankContrast(
        competitor,
        mean,
        float(np.std(lead, ddof=1)),
        t_test(values, "greater"),
        t_test(values, "less"),
    )


def _common_seeds(
    table: Table, settings: tuple[Setting, ...], methods: tuple[str, ...]
) -> tuple[int, ...]:
    sets = [set(table.cells[s][m].accuracy) for s in settings for m in methods]
    return tuple(sorted(set.intersection(*sets))) if sets else ()


def sd_of_leads(ranks: SeedRanks) -> float | None:
    """The rank leads' sd, pooled over the competitors (a planning figure: the leads
    share the reference's ranks, so these are not independent estimates)."""
    spreads = [c.sd for c in ranks.contrasts if c.sd is not None]
    return math.sqrt(float(np.mean(np.square(spreads)))) if spreads else None
