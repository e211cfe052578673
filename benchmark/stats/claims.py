"""The paper's claims, each given a verdict by its own test and, beside it, the paper's reading.

Each claim is one family, tested at ALPHA on its own terms (docs/results.md, "The claims"):

- supported: its test rejects "the claim is false" (p_supported < ALPHA);
- contradicted: a test rejects "the claim holds" (p_contradicted < ALPHA);
- inconclusive: neither (too few seeds, too small a difference, or no data).

The pieces are one-sided tests within settings (`benchmark.stats.contrasts`: FGGP ahead of
every competitor, or some competitor ahead of FGGP) and, for the ranking, over seeds
(`benchmark.stats.seed_ranks`). A claim about a count of settings ("most", "two of
three", "all four", "one") is a partial conjunction of them (`at_least`), valid however
the settings depend on each other through shared seeds, and paying only for its own
settings. A claim can be wrong in one direction only (when it holds, only
"contradicted" is an error; when it does not, only "supported"), so across the five
claims Bonferroni, each decisive p below ALPHA / 5, bounds the chance of any wrong
verdict at ALPHA: `Claim.family_wise` says whether a verdict stands at that level too.
The point-estimate reading (FGGP has the strictly highest mean, as the paper states it)
is kept beside each verdict, labelled; a tie is never a win there either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.stats.contrasts import SettingContrasts, at_least
from benchmark.stats.dense import DenseTest, upper_bound
from benchmark.stats.ranking import ALPHA, Friedman
from benchmark.stats.seed_ranks import SeedRanks
from benchmark.stats.table import TIE_DECIMALS, Cell, Model, Setting, Table

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)
HOLDS, FAILS, UNKNOWN = "holds", "does not hold", "not enough data"
TEXTS = {
    1: "FGGP outperforms its alternatives in most of the experimental settings",
    2: "FGGP has the highest ranking across the experimental settings",
    3: "FGGP occasionally surpasses the upper bound of the corresponding dense network",
    4: "VGG-19: FGGP is best at 95% and 98% sparsity, from dense and from 50%-sparse starts",
    5: "ResNet-50: FGGP is best at two of the three sparsity levels (90, 95, 98%)",
}
FAMILY_ALPHA = ALPHA / len(TEXTS)
"""Each claim's level when all five are taken as one family (Bonferroni)."""
VGG_CONDITIONS = tuple((init, s) for init in (1.0, 0.5) for s in (0.95, 0.98))
RESNET_LEVELS = (0.90, 0.95, 0.98)
RESNET_WINS = 2


@dataclass(frozen=True)
class Reading:
    """The claim read on point estimates, as the paper states it."""

    status: str
    summary: str


@dataclass(frozen=True)
class Claim:
    id: int
    text: str
    p_supported: float
    """p-value of the test of 'the claim is false' (1.0 where no test is possible)."""
    p_contradicted: float
    """p-value of the test of 'the claim holds'."""
    evidence: Mapping[str, Any]
    """`summary`, one sentence on the tests, and the numbers behind it."""
    reading: Reading

    @property
    def verdict(self) -> str:
        supported, contradicted = self.p_supported < ALPHA, self.p_contradicted < ALPHA
        if supported != contradicted:
            return SUPPORTED if supported else CONTRADICTED
        return INCONCLUSIVE

    @property
    def p(self) -> float:
        """The p-value of the verdict's own test (for an inconclusive one, the smaller)."""
        if self.verdict == CONTRADICTED:
            return self.p_contradicted
        if self.verdict == SUPPORTED:
            return self.p_supported
        return min(self.p_supported, self.p_contradicted)

    @property
    def family_wise(self) -> bool:
        """Whether a decided verdict also stands with all five claims as one family."""
        return self.verdict != INCONCLUSIVE and self.p < FAMILY_ALPHA


def check_claims(
    table: Table,
    contrasts: Mapping[Setting, SettingContrasts],
    ranks: SeedRanks,
    friedman: Friedman,
    dense: Sequence[DenseTest],
    reference: str = "fggp",
) -> list[Claim]:
    """`contrasts`: per setting, the reference against its competitors (settings where it
    has none are left out); `friedman` gives the ranks of means for the reading."""
    contests = {s: c for s, c in contrasts.items() if c.contrasts}
    return [
        _most_settings(table, contests, reference),
        _best_average_rank(ranks, friedman, reference),
        _beats_dense(table, dense, reference),
        _vgg_high_sparsity(table, contests, reference),
        _resnet_two_of_three(table, contests, reference),
    ]


def is_best(cells: Mapping[str, Cell], reference: str) -> bool:
    """Strictly the highest mean: a tie with another method is not a win."""
    mine = round(cells[reference].mean, TIE_DECIMALS)
    return all(round(c.mean, TIE_DECIMALS) < mine for m, c in cells.items() if m != reference)


def _claim(
    id: int,
    p_supported: float,
    p_contradicted: float,
    summary: str,
    reading: Reading,
    **numbers: Any,
) -> Claim:
    evidence = {"summary": summary, **numbers}
    return Claim(id, TEXTS[id], p_supported, p_contradicted, evidence, reading)


def _no_test(id: int, why: str, **numbers: Any) -> Claim:
    return _claim(id, 1.0, 1.0, why, Reading(UNKNOWN, why), **numbers)


def _below(pvalues: Sequence[float], level: float) -> int:
    return sum(p < level for p in pvalues)


def _most_settings(
    table: Table, contests: Mapping[Setting, SettingContrasts], reference: str
) -> Claim:
    """At least r = floor(S/2) + 1 of the S settings won: a partial conjunction of the
    settings' win tests, (S - r + 1) p_(r). Contradicted: at least S - r + 1 settings
    lost (some competitor ahead), which leaves fewer than r that FGGP can win."""
    n = len(contests)
    if n < 2:
        return _no_test(1, f"{reference} has competitors in {n} setting(s); 'most' needs 2")
    needed = n // 2 + 1
    wins = [c.p_win for c in contests.values()]
    losses = [c.p_loss for c in contests.values()]
    p_supported = at_least(needed, wins)
    p_contradicted = at_least(n - needed + 1, losses)
    win_level, loss_level = ALPHA / (n - needed + 1), ALPHA / needed
    summary = (
        f"'most' is at least {needed} of {n} settings: {reference} is ahead of every competitor"
        f" with p < {win_level:.3g} in {_below(wins, win_level)} of them, and some competitor is"
        f" ahead of it with p < {loss_level:.3g} in {_below(losses, loss_level)}"
        f" (one-sided contrasts within settings, seeds as blocks); p = {p_supported:.3g} for the"
        f" claim, {p_contradicted:.3g} against it"
    )
    best = [s.name for s in contests if is_best(table.cells[s], reference)]
    reading = Reading(
        HOLDS if len(best) > n / 2 else FAILS,
        f"{reference} has the strictly highest mean in {len(best)} of {n} settings",
    )
    details = [_detail(table, c) for c in contests.values()]
    return _claim(
        1,
        p_supported,
        p_contradicted,
        summary,
        reading,
        settings=n,
        needed=needed,
        best_mean_in=best,
        details=details,
    )


def _best_average_rank(ranks: SeedRanks, friedman: Friedman, reference: str) -> Claim:
    """Ahead of every other method in average rank, tested over seeds (seed_ranks):
    an intersection of the one-sided tests against each; contradicted by their union."""
    means = friedman.average_ranks
    if reference in means and len(means) >= 2:
        others = {m: r for m, r in means.items() if m != reference}
        runner_up = min(others, key=lambda m: (others[m], m))
        gap = others[runner_up] - means[reference]
        reading = Reading(
            HOLDS if round(gap, TIE_DECIMALS) > 0 else FAILS,
            f"{reference} has average rank {means[reference]:.2f}, the best other ({runner_up})"
            f" {others[runner_up]:.2f}, over the {friedman.n_blocks} settings where all"
            f" {friedman.k} methods have data",
        )
    else:
        reading = Reading(UNKNOWN, f"no setting ranks {reference} among 2 or more methods")
    if not ranks.contrasts:
        why = f"no rank test: {ranks.note}"
        return _claim(2, 1.0, 1.0, why, reading, seeds=len(ranks.seeds))
    closest = min(ranks.contrasts, key=lambda c: (c.lead, c.competitor))
    p_supported, p_contradicted = ranks.p_ahead_of_all, ranks.p_some_ahead
    summary = (
        f"each of {len(ranks.seeds)} seeds ranks the {len(ranks.methods)} methods in the"
        f" {len(ranks.settings)} settings where all have runs; {reference}'s average rank leads"
        f" the closest other method's ({closest.competitor}) by {closest.lead:+.2f} on average"
        f" over seeds (one-sided t-tests over seeds against each method); p = {p_supported:.3g}"
        f" for the claim, {p_contradicted:.3g} against it"
    )
    leads = {c.competitor: c.lead for c in ranks.contrasts}
    return _claim(
        2,
        p_supported,
        p_contradicted,
        summary,
        reading,
        seeds=len(ranks.seeds),
        settings=len(ranks.settings),
        rank_leads=leads,
    )


def _beats_dense(table: Table, dense: Sequence[DenseTest], reference: str) -> Claim:
    """Above dense in at least one setting (Bonferroni over the settings); contradicted
    when below dense in every setting (an intersection: each test at ALPHA)."""
    compared = [t for t in dense if t.method == reference]
    if not compared:
        return _no_test(3, f"no setting has both {reference} and dense runs")
    p_supported = at_least(1, [t.p_above for t in compared])
    p_contradicted = at_least(len(compared), [t.p_below for t in compared])
    above = [
        t.setting.name
        for t in compared
        if t.p_above is not None and t.p_above < ALPHA / len(compared)
    ]
    summary = (
        f"{reference} is above dense with p < {ALPHA / len(compared):.3g} in {len(above)} of"
        f" {len(compared)} settings (one-sided paired t-tests, Bonferroni over the settings);"
        f" p = {p_supported:.3g} for the claim, {p_contradicted:.3g} for 'below dense in every"
        " setting'"
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
        p_supported,
        p_contradicted,
        summary,
        reading,
        settings=len(compared),
        significantly_above=above,
        means_above=surpassing,
    )


def _vgg_high_sparsity(
    table: Table, contests: Mapping[Setting, SettingContrasts], reference: str
) -> Claim:
    """Every required setting won (intersection: the largest win p); contradicted when
    any is lost (union: Bonferroni over them)."""
    groups = [
        group
        for model in _models(table, "vgg19")
        if (group := _required(contests, model, VGG_CONDITIONS)) is not None
    ]
    if not groups:
        return _no_test(
            4, "no VGG-19 model has all four settings (init 1.0/0.5 × sparsity 0.95/0.98)"
        )
    required = [c for group in groups for c in group]
    p_supported = at_least(len(required), [c.p_win for c in required])
    p_contradicted = at_least(1, [c.p_loss for c in required])
    summary = (
        f"all {len(required)} required VGG-19 settings must be won: the largest of their win"
        f" p-values is {p_supported:.3g}; some competitor ahead in one of them: p ="
        f" {p_contradicted:.3g} (Bonferroni over the {len(required)})"
    )
    best = sum(is_best(table.cells[c.setting], reference) for c in required)
    reading = Reading(
        HOLDS if best == len(required) else FAILS,
        f"{reference} has the strictly highest mean in {best} of the {len(required)}",
    )
    return _claim(
        4,
        p_supported,
        p_contradicted,
        summary,
        reading,
        details=[_detail(table, c) for c in required],
    )


def _resnet_two_of_three(
    table: Table, contests: Mapping[Setting, SettingContrasts], reference: str
) -> Claim:
    """In every initial condition, at least two of the three levels won (a partial
    conjunction per condition, then their intersection); contradicted when some condition
    loses at least two levels (Bonferroni over the conditions)."""
    conditions = []
    for model in _models(table, "resnet50"):
        for init in sorted({s.init_density for s in table.cells if s.model == model}, reverse=True):
            group = _required(contests, model, [(init, s) for s in RESNET_LEVELS])
            if group is not None:
                conditions.append((model, init, group))
    if not conditions:
        return _no_test(
            5, "no ResNet-50 initial condition has all three sparsity levels (0.90/0.95/0.98)"
        )
    won = [at_least(RESNET_WINS, [c.p_win for c in group]) for _, _, group in conditions]
    lost = [at_least(RESNET_WINS, [c.p_loss for c in group]) for _, _, group in conditions]
    p_supported = at_least(len(won), won)
    p_contradicted = at_least(1, lost)
    summary = (
        f"per initial condition, p of 'two of three levels won' is {_list(won)} and of 'two"
        f" lost' {_list(lost)}; every condition must hold: p = {p_supported:.3g} for the claim,"
        f" {p_contradicted:.3g} against it"
    )
    best = [
        sum(is_best(table.cells[c.setting], reference) for c in group) for *_, group in conditions
    ]
    reading = Reading(
        HOLDS if min(best) >= RESNET_WINS else FAILS,
        f"{reference} has the strictly highest mean at {best} of 3 levels",
    )
    details = [
        {"model": model.name, "init_density": init, "details": [_detail(table, c) for c in group]}
        for model, init, group in conditions
    ]
    return _claim(5, p_supported, p_contradicted, summary, reading, conditions=details)


def _list(pvalues: Sequence[float]) -> str:
    return "[" + ", ".join(f"{p:.3g}" for p in pvalues) + "]"


def _detail(table: Table, c: SettingContrasts) -> dict[str, Any]:
    return {
        "setting": c.setting.name,
        "p_win": c.p_win,
        "p_loss": c.p_loss,
        "best_mean": is_best(table.cells[c.setting], c.reference),
    }


def _models(table: Table, arch: str) -> list[Model]:
    return list(dict.fromkeys(s.model for s in table.cells if s.model.arch == arch))


def _required(
    contests: Mapping[Setting, SettingContrasts],
    model: Model,
    needed: Sequence[tuple[float, float]],
) -> list[SettingContrasts] | None:
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
