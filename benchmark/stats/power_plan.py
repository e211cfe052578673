"""Power of a finished grid's own tests, and the seeds a 0.5-point difference would need.

The figures describe the tests the verdicts use (benchmark.stats.claims): paired t-tests
against FGGP with Holm over the whole family, whose first step is Bonferroni's alpha / m
(so a single comparison is significant at that level whatever the others do), and the
one-sided tests against dense with Holm over the settings. The sd of a paired difference
is pooled over the family: one comparison's 1-4 degrees of freedom say too little.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.stats.dense import DenseTest, upper_bound
from benchmark.stats.paired import Comparison, differences
from benchmark.stats.power import TARGET_DIFFERENCE, Power, pooled_sd
from benchmark.stats.ranking import ALPHA, Friedman, control_critical_difference
from benchmark.stats.table import Table

if TYPE_CHECKING:  # summary.py imports this module
    from benchmark.stats.summary import Summary


@dataclass
class FamilyPower:
    """The comparison family's pooled sd and level; Power per number of pairs, cached."""

    sd: float | None
    dof: int
    alpha: float
    typical_n: int
    _cache: dict[int, Power] = field(default_factory=dict)

    def at(self, n: int) -> Power:
        if n not in self._cache:
            self._cache[n] = Power.of(self.sd, self.dof, self.alpha, n)
        return self._cache[n]

    def of(self, comparison: Comparison) -> Power:
        return self.at(comparison.n if comparison.test == "t" else self.typical_n)

    def typical(self) -> Power:
        """At the number of pairs most comparisons have: the grid's seeds per cell."""
        return self.at(self.typical_n)


def comparison_power(table: Table, comparisons: Sequence[Comparison]) -> FamilyPower:
    t_tests = [c for c in comparisons if c.test == "t"]
    spreads = [
        _spread(differences(table.cells[c.setting][c.a], table.cells[c.setting][c.b]))
        for c in t_tests
    ]
    sd, dof = pooled_sd(spreads)
    tested = sum(c.p is not None for c in t_tests) or len(t_tests)
    return FamilyPower(sd, dof, ALPHA / max(tested, 1), _typical([c.n for c in t_tests]))


def dense_power(table: Table, tests: Sequence[DenseTest]) -> Power:
    spreads = []
    for t in tests:
        bound = upper_bound(table, t.setting)
        if bound is not None:
            spreads.append(_spread(differences(table.cells[t.setting][t.method], bound)))
    sd, dof = pooled_sd(spreads)
    alpha = ALPHA / max(len(tests), 1)
    return Power.of(sd, dof, alpha, _typical([t.n for t in tests]), sides=1)


def rank_power(test: Friedman) -> Mapping[str, Any]:
    """The rank claim's resolution: the control CD, which seeds do not shrink and settings do."""
    if test.k < 2 or test.n_blocks < 2:
        return {"cd": None, "sentence": "no rank test: too few complete settings or methods"}
    cd = control_critical_difference(test.k, test.n_blocks)
    quarter = control_critical_difference(test.k, 4 * test.n_blocks)
    sentence = (
        f"over {test.n_blocks} settings FGGP's average rank must lead every other method's by"
        f" more than the Bonferroni-Dunn CD {cd:.2f} (ranks 1-{test.k}); more seeds make each"
        f" setting's ranks less noisy but leave the CD as it is, {4 * test.n_blocks} settings"
        f" would halve it to {quarter:.2f}"
    )
    return {"cd": cd, "k": test.k, "n_blocks": test.n_blocks, "sentence": sentence}


def _spread(d: Sequence[float]) -> tuple[float | None, int]:
    return (float(np.std(d, ddof=1)) if len(d) >= 2 else None), len(d)


def _typical(ns: Sequence[int]) -> int:
    """The most common number of pairs (the smaller on a tie); 0 without any."""
    if not ns:
        return 0
    counts = Counter(ns)
    return min(counts, key=lambda n: (-counts[n], n))


PLAN_SEEDS = (2, 3, 5, 10, 20)


def seed_plan(summary: Summary) -> str:
    """The lines `run_all.py --seed-plan` prints: what the grid detects now, what more
    seeds would detect, and the seeds a 0.5-point difference needs, per test family."""
    lines = ["seed plan (80% power; the tests of the verdicts, docs/results.md):"]
    for title, family in (
        ("paired t-tests against FGGP (claims 1, 4, 5)", summary.comparison_power.typical()),
        ("one-sided tests against dense (claim 3)", summary.dense_power),
    ):
        lines.append(f"  {title}:")
        if family.sd is None:
            lines.append("    no paired differences with a spread yet: nothing to plan from")
            continue
        lines.append(
            f"    per-test alpha {family.alpha:.3g}, paired-difference sd"
            f" {family.sd:.2f} points (pooled, {family.dof} df)"
        )
        found = {
            n: Power.of(family.sd, family.dof, family.alpha, n, family.sides).detectable
            for n in sorted({*PLAN_SEEDS, family.n})
            if n >= 2
        }
        lines.append(
            "    seeds -> detectable difference: "
            + ", ".join(f"{n}: {d:.2f}" for n, d in found.items() if d is not None)
        )
        needed = family.seeds_for_target
        lines.append(
            f"    now {family.n} seeds; {TARGET_DIFFERENCE:g} points needs "
            + (f"{needed} seeds" if needed else "more seeds than can be planned")
        )
    lines.append(f"  ranks (claim 2): {summary.rank_power['sentence']}")
    return "\n".join(lines)
