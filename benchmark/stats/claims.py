"""The paper's claims, each given a verdict by tests and, beside it, the paper's reading.

With 2-5 seeds a mean that comes out on top says little: with all methods truly equal,
one of six is best in any setting by chance, and a method truly best by half a point is
not the top mean in most settings. So each claim gets one of three verdicts, decided by
tests at ALPHA (docs/results.md, "The claims"):

- supported: the tests show it;
- contradicted: the tests show its opposite;
- inconclusive: they show neither (too few seeds, too small a difference, or no data).

In one setting FGGP *wins* when a Holm-corrected paired t-test separates it from every
competitor in its favour, and *loses* when one separates a competitor in the
competitor's favour; a tie or an unseparated lead is neither. Holm over the whole family
bounds the chance of any false win or loss at ALPHA, and with it that of a wrong verdict.
The point-estimate reading (FGGP has the strictly highest mean, as the paper states it)
is kept beside each verdict, labelled; a tie is never a win there either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.stats.dense import DenseTest, upper_bound
from benchmark.stats.paired import Comparison
from benchmark.stats.ranking import ALPHA, Friedman, control_critical_difference
from benchmark.stats.table import TIE_DECIMALS, Cell, Model, Setting, Table

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)
HOLDS, FAILS, UNKNOWN = "holds", "does not hold", "not enough data"
WIN, LOSS, UNDECIDED = "win", "loss", "undecided"
TEXTS = {
    1: "FGGP outperforms its alternatives in most of the experimental settings",
    2: "FGGP has the highest ranking across the experimental settings",
    3: "FGGP occasionally surpasses the upper bound of the corresponding dense network",
    4: "VGG-19: FGGP is best at 95% and 98% sparsity, from dense and from 50%-sparse starts",
    5: "ResNet-50: FGGP is best at two of the three sparsity levels (90, 95, 98%)",
}
VGG_CONDITIONS = tuple((init, s) for init in (1.0, 0.5) for s in (0.95, 0.98))
RESNET_LEVELS = (0.90, 0.95, 0.98)


@dataclass(frozen=True)
class Reading:
    """The claim read on point estimates, as the paper states it."""

    status: str
    summary: str


@dataclass(frozen=True)
class Claim:
    id: int
    text: str
    verdict: str
    evidence: Mapping[str, Any]
    """`summary`, one sentence on the tests, and the numbers behind it."""
    reading: Reading


@dataclass(frozen=True)
class Contest:
    """FGGP against its competitors in one setting."""

    setting: Setting
    outcome: str
    """WIN, LOSS or UNDECIDED, by the Holm-corrected paired t-tests."""
    best_mean: bool
    """Strictly the highest mean (the point-estimate reading)."""
    beaten_by: tuple[str, ...]
    """Competitors significantly above FGGP."""


def check_claims(
    table: Table,
    friedman: Friedman,
    comparisons: Sequence[Comparison],
    dense: Sequence[DenseTest],
    reference: str = "fggp",
) -> list[Claim]:
    contests = {
        s: contest(s, cells, comparisons, reference)
        for s, cells in table.cells.items()
        if reference in cells and len(cells) >= 2
    }
    return [
        _most_settings(contests, reference),
        _best_average_rank(friedman, reference),
        _beats_dense(table, dense, reference),
        _vgg_high_sparsity(table, contests, reference),
        _resnet_two_of_three(table, contests, reference),
    ]


def is_best(cells: Mapping[str, Cell], reference: str) -> bool:
    """Strictly the highest mean: a tie with another method is not a win."""
    mine = round(cells[reference].mean, TIE_DECIMALS)
    return all(round(c.mean, TIE_DECIMALS) < mine for m, c in cells.items() if m != reference)


def contest(
    setting: Setting,
    cells: Mapping[str, Cell],
    comparisons: Sequence[Comparison],
    reference: str,
) -> Contest:
    tests = {c.b: c for c in comparisons if c.setting == setting and c.test == "t"}
    others = [m for m in cells if m != reference]
    above = [m for m in others if m in tests and _separates(tests[m], +1)]
    below = tuple(m for m in others if m in tests and _separates(tests[m], -1))
    outcome = LOSS if below else WIN if len(above) == len(others) else UNDECIDED
    return Contest(setting, outcome, is_best(cells, reference), below)


def _separates(c: Comparison, sign: int) -> bool:
    return _below_alpha(c.p_holm) and c.mean_diff is not None and sign * c.mean_diff > 0


def _below_alpha(p: float | None) -> bool:
    return p is not None and p < ALPHA


def _claim(id: int, verdict: str, summary: str, reading: Reading, **numbers: Any) -> Claim:
    return Claim(id, TEXTS[id], verdict, {"summary": summary, **numbers}, reading)


def _counts(contests: Sequence[Contest]) -> dict[str, int]:
    return {o: sum(c.outcome == o for c in contests) for o in (WIN, LOSS, UNDECIDED)}


def _most_settings(contests: Mapping[Setting, Contest], reference: str) -> Claim:
    """Supported: wins in more than half; contradicted: so many losses that the wins
    cannot be more than half even if every undecided setting were a win."""
    n = len(contests)
    if n < 2:
        why = f"{reference} has competitors in {n} setting(s); 'most' needs 2"
        return _claim(1, INCONCLUSIVE, why, Reading(UNKNOWN, why), settings=n)
    counts = _counts(list(contests.values()))
    if counts[WIN] > n / 2:
        verdict = SUPPORTED
    elif n - counts[LOSS] <= n / 2:
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"{reference} is significantly ahead of every competitor in {counts[WIN]} of {n}"
        f" settings and significantly behind one in {counts[LOSS]}; {counts[UNDECIDED]}"
        f" undecided (Holm-corrected paired t-tests, alpha {ALPHA:g}); 'most' needs"
        f" {n // 2 + 1} wins"
    )
    best = [c.setting.name for c in contests.values() if c.best_mean]
    reading = Reading(
        HOLDS if len(best) > n / 2 else FAILS,
        f"{reference} has the strictly highest mean in {len(best)} of {n} settings",
    )
    return _claim(
        1,
        verdict,
        summary,
        reading,
        settings=n,
        wins=counts[WIN],
        losses=counts[LOSS],
        undecided=counts[UNDECIDED],
        best_mean_in=best,
    )


def _best_average_rank(friedman: Friedman, reference: str) -> Claim:
    """Iman-Davenport over the complete settings, then FGGP as the control against each
    other method (Bonferroni-Dunn CD): supported when it is ahead of all of them by more
    than the CD, contradicted when one is ahead of it by more."""
    ranks = friedman.average_ranks
    k, n = friedman.k, friedman.n_blocks
    if reference not in ranks or k < 2 or n < 2:
        why = f"{n} setting(s) have all {k} methods, {reference} included; need 2 with 2 methods"
        return _claim(2, INCONCLUSIVE, why, Reading(UNKNOWN, why), n_blocks=n, k=k)
    others = {m: r for m, r in ranks.items() if m != reference}
    runner_up = min(others, key=lambda m: (others[m], m))
    gap = others[runner_up] - ranks[reference]
    reading = Reading(
        HOLDS if round(gap, TIE_DECIMALS) > 0 else FAILS,
        f"{reference} has average rank {ranks[reference]:.2f}, the best other ({runner_up})"
        f" {others[runner_up]:.2f}, over the {n} settings where all {k} methods have data",
    )
    if friedman.iman_davenport_p is None:
        why = f"no rank test: {friedman.note or 'not computed'}"
        return _claim(2, INCONCLUSIVE, why, reading, n_blocks=n, k=k, average_ranks=dict(ranks))
    cd = control_critical_difference(k, n)
    ahead = [m for m, r in others.items() if r - ranks[reference] > cd]
    behind = [m for m, r in others.items() if ranks[reference] - r > cd]
    if friedman.rejects and len(ahead) == len(others):
        verdict = SUPPORTED
    elif friedman.rejects and behind:
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"Iman-Davenport F = {friedman.iman_davenport:.3g}, p = {friedman.iman_davenport_p:.3g}"
        f" over {n} settings x {k} methods; {reference} (rank {ranks[reference]:.2f}) is ahead"
        f" of {len(ahead)} of the {len(others)} others by more than the Bonferroni-Dunn CD"
        f" {cd:.2f}" + (f", and behind {', '.join(behind)} by more" if behind else "")
    )
    return _claim(
        2,
        verdict,
        summary,
        reading,
        average_ranks=dict(ranks),
        n_blocks=n,
        k=k,
        control_cd=cd,
        ahead_of=ahead,
        behind=behind,
    )


def _beats_dense(table: Table, dense: Sequence[DenseTest], reference: str) -> Claim:
    """Supported when a one-sided test, Holm over settings, puts FGGP above dense in one;
    contradicted when FGGP is significantly below dense in every setting."""
    compared = [t for t in dense if t.method == reference]
    if not compared:
        why = f"no setting has both {reference} and dense runs"
        return _claim(3, INCONCLUSIVE, why, Reading(UNKNOWN, why))
    above = [t.setting.name for t in compared if _below_alpha(t.p_above_holm)]
    below = [t.setting.name for t in compared if _below_alpha(t.p_below)]
    if above:
        verdict = SUPPORTED
    elif len(below) == len(compared):
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"{reference} is significantly above dense in {len(above)} of {len(compared)} settings"
        f" (one-sided paired t-tests, Holm over settings) and significantly below it in"
        f" {len(below)} (one-sided, each at alpha {ALPHA:g})"
    )
    surpassing = [
        {"setting": s.name, "mean": cells[reference].mean, "dense_mean": bound.mean}
        for s, cells in table.cells.items()
        if reference in cells
        and (bound := upper_bound(table, s)) is not None
        and round(cells[reference].mean - bound.mean, TIE_DECIMALS) > 0
    ]
    reading = Reading(
        HOLDS if surpassing else FAILS,
        f"{reference}'s mean is above the dense mean in {len(surpassing)} of"
        f" {len(compared)} settings",
    )
    return _claim(
        3,
        verdict,
        summary,
        reading,
        settings=len(compared),
        significantly_above=above,
        significantly_below=below,
        means_above=surpassing,
    )


def _vgg_high_sparsity(table: Table, contests: Mapping[Setting, Contest], reference: str) -> Claim:
    groups = [
        group
        for model in _models(table, "vgg19")
        if (group := _required(contests, model, VGG_CONDITIONS)) is not None
    ]
    if not groups:
        why = "no VGG-19 model has all four settings (init 1.0/0.5 × sparsity 0.95/0.98)"
        return _claim(4, INCONCLUSIVE, why, Reading(UNKNOWN, why))
    required = [c for group in groups for c in group]
    counts = _counts(required)
    if counts[WIN] == len(required):
        verdict = SUPPORTED
    elif counts[LOSS]:
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"of the {len(required)} required VGG-19 settings {reference} wins {counts[WIN]} and"
        f" loses {counts[LOSS]} (Holm-corrected paired t-tests); all must be wins"
    )
    best = sum(c.best_mean for c in required)
    reading = Reading(
        HOLDS if best == len(required) else FAILS,
        f"{reference} has the strictly highest mean in {best} of the {len(required)}",
    )
    return _claim(4, verdict, summary, reading, details=[_detail(c) for c in required])


def _resnet_two_of_three(
    table: Table, contests: Mapping[Setting, Contest], reference: str
) -> Claim:
    conditions = []
    for model in _models(table, "resnet50"):
        for init in sorted({s.init_density for s in table.cells if s.model == model}, reverse=True):
            group = _required(contests, model, [(init, s) for s in RESNET_LEVELS])
            if group is not None:
                conditions.append((model, init, group))
    if not conditions:
        why = "no ResNet-50 initial condition has all three sparsity levels (0.90/0.95/0.98)"
        return _claim(5, INCONCLUSIVE, why, Reading(UNKNOWN, why))
    counts = [_counts(group) for _, _, group in conditions]
    if all(c[WIN] >= 2 for c in counts):
        verdict = SUPPORTED
    elif any(c[LOSS] >= 2 for c in counts):
        verdict = CONTRADICTED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"wins per initial condition {[c[WIN] for c in counts]}, losses"
        f" {[c[LOSS] for c in counts]} of 3 levels (Holm-corrected paired t-tests);"
        " every condition needs 2 wins"
    )
    best = [sum(c.best_mean for c in group) for _, _, group in conditions]
    reading = Reading(
        HOLDS if min(best) >= 2 else FAILS,
        f"{reference} has the strictly highest mean at {best} of 3 levels",
    )
    details = [
        {"model": model.name, "init_density": init, "details": [_detail(c) for c in group]}
        for model, init, group in conditions
    ]
    return _claim(5, verdict, summary, reading, conditions=details)


def _detail(c: Contest) -> dict[str, Any]:
    return {
        "setting": c.setting.name,
        "outcome": c.outcome,
        "best_mean": c.best_mean,
        "beaten_by": list(c.beaten_by),
    }


def _models(table: Table, arch: str) -> list[Model]:
    return list(dict.fromkeys(s.model for s in table.cells if s.model.arch == arch))


def _required(
    contests: Mapping[Setting, Contest], model: Model, needed: Sequence[tuple[float, float]]
) -> list[Contest] | None:
    """The contests of `model` at each required (init, sparsity); None unless all exist."""
    found = []
    for init, sparsity in needed:
        match = [
            c
            for s, c in contests.items()
            if s.model == model
            and math.isclose(s.init_density, init)
            and math.isclose(s.target_sparsity, sparsity)
        ]
        if not match:
            return None
        found.append(match[0])
    return found
