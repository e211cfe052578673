"""Power of a finished grid's own tests, claim by claim, and the seeds a target would need.

Each figure describes the test its claim's verdict uses (benchmark.stats.claims):

- claims 1, 4 and 5 count won settings: each setting's win is k - 1 one-sided contrasts
  on the setting's residual sd, (k - 1)(n - 1) df, at the level the count gives it
  (ALPHA / (S - r + 1) for r of S). The figure assumes FGGP leads every competitor by the
  same amount in every setting the claim names, and the settings are independent;
- claim 2 tests per-seed rank leads over seeds (n - 1 df, one-sided, each competitor at
  ALPHA): the figure is for the closest competitor, in average ranks;
- claim 3 is one-sided paired t-tests against dense at ALPHA / S (n - 1 df).

Spreads are pooled over settings or comparisons to plan with, and the count pooled is
said; the settings share seeds, so that is not a count of independent estimates.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.stats.claims import Claim
from benchmark.stats.contrasts import SettingContrasts
from benchmark.stats.dense import DenseTest, upper_bound
from benchmark.stats.paired import Comparison, differences
from benchmark.stats.power import (
    POWER,
    TARGET_DIFFERENCE,
    ClaimDesign,
    Power,
    detectable_difference,
    fewest,
    pooled_sd,
    seeds_needed,
    smallest,
)
from benchmark.stats.ranking import ALPHA
from benchmark.stats.seed_ranks import SeedRanks, sd_of_leads
from benchmark.stats.table import Table

if TYPE_CHECKING:  # summary.py imports this module
    from benchmark.stats.summary import Summary

RANK_TARGET = 0.5
"""Average-rank lead the rank claim's seed plan is made for."""


@dataclass
class FamilyPower:
    """The pairwise family's pooled sd and level; Power per number of pairs, cached."""

    sd: float | None
    pooled_over: int
    alpha: float
    typical_n: int
    _cache: dict[int, Power] = field(default_factory=dict)

    def at(self, n: int) -> Power:
        if n not in self._cache:
            self._cache[n] = Power.of(self.sd, self.pooled_over, self.alpha, n)
        return self._cache[n]

    def of(self, comparison: Comparison) -> Power:
        return self.at(comparison.n if comparison.test == "t" else self.typical_n)

    def typical(self) -> Power:
        """At the number of pairs most comparisons have: the grid's seeds per cell."""
        return self.at(self.typical_n)


def comparison_power(table: Table, comparisons: Sequence[Comparison]) -> FamilyPower:
    """The detail table's paired t-tests, Holm over all of them: Bonferroni's first step."""
    t_tests = [c for c in comparisons if c.test == "t"]
    spreads = [
        _spread(differences(table.cells[c.setting][c.a], table.cells[c.setting][c.b]))
        for c in t_tests
    ]
    sd, _ = pooled_sd(spreads)
    pooled = sum(s is not None for s, _ in spreads)
    tested = sum(c.p is not None for c in t_tests) or len(t_tests)
    return FamilyPower(sd, pooled, ALPHA / max(tested, 1), _typical([c.n for c in t_tests]))


def dense_power(table: Table, tests: Sequence[DenseTest]) -> Power:
    spreads = []
    for t in tests:
        bound = upper_bound(table, t.setting)
        if bound is not None:
            spreads.append(_spread(differences(table.cells[t.setting][t.method], bound)))
    sd, _ = pooled_sd(spreads)
    pooled = sum(s is not None for s, _ in spreads)
    alpha = ALPHA / max(len(tests), 1)
    return Power.of(sd, pooled, alpha, _typical([t.n for t in tests]), sides=1)


@dataclass(frozen=True)
class ClaimPower:
    """What one claim's test detects at the grid's seeds, and the seeds a target needs."""

    claim: int
    unit: str
    """'points' (accuracy) or 'ranks' (average rank)."""
    sd: float | None
    pooled_over: int
    n: int
    detectable: float | None
    """Smallest lead found with 80% power at `n` seeds, in `unit`."""
    target: float
    seeds_for_target: int | None
    """Seeds that find a lead of `target` with 80% power; None: none can be planned."""
    design: str
    """What the figure assumes about the lead and the test."""
    at: Callable[[int], float | None] = field(repr=False, compare=False)
    """The detectable lead at any number of seeds (for the seed plan)."""
    untestable: str | None = None
    """Why the grid has no figure for this claim at all, where it has none."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "sd": self.sd,
            "pooled_over": self.pooled_over,
            "n": self.n,
            "power": POWER,
            "detectable": self.detectable,
            "target": self.target,
            "seeds_for_target": self.seeds_for_target,
            "design": self.design,
        }

    def sentence(self) -> str:
        if self.untestable:
            return f"no power figure: {self.untestable}"
        if self.sd is None:
            return f"no spread to estimate power from ({self.design})"
        found = (
            f"a lead of {self.detectable:.2f} {self.unit} is found with 80% power"
            if self.detectable is not None
            else "nothing can be found with fewer than 2 seeds"
        )
        needed = f"{self.seeds_for_target} seeds" if self.seeds_for_target else "too many seeds"
        return (
            f"with {self.n} seeds and an sd of {self.sd:.2f} {self.unit} (pooled over"
            f" {self.pooled_over}), {found}; {self.target:g} {self.unit} would need {needed}"
            f" ({self.design})"
        )


def claim_powers(
    claims: Sequence[Claim],
    contrasts: Mapping[Any, SettingContrasts],
    ranks: SeedRanks,
    dense: Power,
) -> dict[int, ClaimPower]:
    by_id = {c.id: c for c in claims}
    contests = [c for c in contrasts.values() if c.contrasts]
    sd, pooled = _residual_sd(contests)
    n = _typical([len(c.seeds) for c in contests])
    competitors = _typical([len(c.contrasts) for c in contests])
    powers = {
        2: _rank_power(ranks),
        3: _from_t(
            3,
            dense,
            "points",
            TARGET_DIFFERENCE,
            "one-sided paired t-tests against dense, Bonferroni over the settings",
        ),
    }
    for claim_id, design in _designs(by_id).items():
        powers[claim_id] = _design_power(claim_id, design, sd, pooled, n, competitors)
    return dict(sorted(powers.items()))


def _designs(claims: Mapping[int, Claim]) -> dict[int, ClaimDesign | None]:
    """Each counting claim's design on this grid; None where the grid cannot test it."""
    one = claims[1].evidence
    four = claims[4].evidence.get("details")
    five = claims[5].evidence.get("conditions")
    return {
        1: ClaimDesign(1, one["settings"], one["needed"], ALPHA) if "needed" in one else None,
        4: ClaimDesign(1, len(four), len(four), ALPHA) if four else None,
        5: ClaimDesign(len(five), 3, 2, ALPHA) if five else None,
    }


def _design_power(
    claim_id: int,
    design: ClaimDesign | None,
    sd: float | None,
    pooled: int,
    n: int,
    competitors: int,
) -> ClaimPower:
    if design is None:
        why = "this grid lacks the settings the claim names"
        return ClaimPower(
            claim_id, "points", None, pooled, n, None, TARGET_DIFFERENCE, None, why, _nothing, why
        )
    text = (
        f"{design.needed} of {design.settings} settings won"
        + (f" in each of {design.groups} conditions" if design.groups > 1 else "")
        + f", each setting's {competitors} one-sided contrasts at alpha {design.level:.3g};"
        " the same lead over every competitor in every setting"
    )
    if sd is None or sd == 0 or competitors < 1:
        return ClaimPower(
            claim_id, "points", None, pooled, n, None, TARGET_DIFFERENCE, None, text, _nothing
        )

    def at(m: int) -> float | None:
        if m < 2:
            return None
        return smallest(lambda lead: design.probability(lead, sd, m, competitors), POWER, sd)

    seeds = fewest(lambda m: design.probability(TARGET_DIFFERENCE, sd, m, competitors) >= POWER)
    return ClaimPower(claim_id, "points", sd, pooled, n, at(n), TARGET_DIFFERENCE, seeds, text, at)


def _rank_power(ranks: SeedRanks) -> ClaimPower:
    sd = sd_of_leads(ranks)
    n = len(ranks.seeds)
    text = "one-sided t-test over seeds of the closest competitor's per-seed rank lead"
    pooled = sum(c.sd is not None for c in ranks.contrasts)
    if not sd:
        return ClaimPower(2, "ranks", None, pooled, n, None, RANK_TARGET, None, text, _nothing)

    def at(m: int) -> float | None:
        return detectable_difference(sd, m, ALPHA, sides=1)

    seeds = seeds_needed(RANK_TARGET, sd, ALPHA, sides=1)
    return ClaimPower(2, "ranks", sd, pooled, n, at(n), RANK_TARGET, seeds, text, at)


def _from_t(claim_id: int, power: Power, unit: str, target: float, text: str) -> ClaimPower:
    def at(m: int) -> float | None:
        if power.sd is None:
            return None
        return detectable_difference(power.sd, m, power.alpha, sides=power.sides)

    return ClaimPower(
        claim_id,
        unit,
        power.sd,
        power.pooled_over,
        power.n,
        power.detectable,
        target,
        power.seeds_for_target,
        f"{text} (alpha {power.alpha:.3g} each)",
        at,
    )


def _nothing(seeds: int) -> float | None:
    return None


def _residual_sd(contests: Sequence[SettingContrasts]) -> tuple[float | None, int]:
    """sqrt of the df-weighted mean residual variance over the settings, and their count."""
    usable = [(c.residual_sd, c.dof) for c in contests if c.residual_sd is not None and c.dof]
    dof = sum(d for _, d in usable)
    if not dof:
        return None, 0
    return math.sqrt(sum(d * s * s for s, d in usable) / dof), len(usable)


def _spread(d: Sequence[float]) -> tuple[float | None, int]:
    return (float(np.std(d, ddof=1)) if len(d) >= 2 else None), len(d)


def _typical(ns: Sequence[int]) -> int:
    """The most common value (the smaller on a tie); 0 without any."""
    if not ns:
        return 0
    counts = Counter(ns)
    return min(counts, key=lambda n: (-counts[n], n))


PLAN_SEEDS = (2, 3, 5, 10, 20)


def seed_plan(summary: Summary) -> str:
    """The lines `run_all.py --seed-plan` prints: per claim, what the grid detects now,
    what more seeds would detect, and the seeds its target lead needs."""
    lines = ["seed plan (80% power; each claim's own test, docs/results.md):"]
    for claim in summary.claims:
        power = summary.claim_powers[claim.id]
        lines.append(f"  claim {claim.id} ({power.design}):")
        if power.untestable:
            continue
        if power.sd is None:
            lines.append("    no spread to plan from yet")
            continue
        lines.append(f"    sd {power.sd:.2f} {power.unit} (pooled over {power.pooled_over})")
        found = {m: power.at(m) for m in sorted({*PLAN_SEEDS, power.n}) if m >= 2}
        lines.append(
            "    seeds -> detectable lead: "
            + ", ".join(f"{m}: {d:.2f}" for m, d in found.items() if d is not None)
        )
        needed = power.seeds_for_target
        lines.append(
            f"    now {power.n} seeds; {power.target:g} {power.unit} needs "
            + (f"{needed} seeds" if needed else "more seeds than can be planned")
        )
    return "\n".join(lines)
