"""The paper's claims, each decided on the data with the numbers that decide it.

Like the paper, "best" compares mean accuracies (ties count as best) and a setting only
counts when FGGP has at least one competitor in it; claim 1 also says how many of the
wins survive Holm-corrected paired t-tests, which the paper does not report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.stats.dense import reaches, upper_bound
from benchmark.stats.paired import Comparison
from benchmark.stats.ranking import ALPHA, Friedman, critical_difference
from benchmark.stats.table import TIE_DECIMALS, Cell, Model, Setting, Table

HOLDS, FAILS, UNKNOWN = "holds", "does not hold", "not enough data"
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
class Claim:
    id: int
    text: str
    status: str
    evidence: Mapping[str, Any]
    """`summary`, one sentence, and the numbers behind it."""


def check_claims(
    table: Table, friedman: Friedman, comparisons: Sequence[Comparison], reference: str = "fggp"
) -> list[Claim]:
    return [
        _most_settings(table, comparisons, reference),
        _best_average_rank(friedman, reference),
        _beats_dense(table, reference),
        _vgg_high_sparsity(table, reference),
        _resnet_two_of_three(table, reference),
    ]


def is_best(cells: Mapping[str, Cell], reference: str) -> bool:
    top = max(round(c.mean, TIE_DECIMALS) for c in cells.values())
    return round(cells[reference].mean, TIE_DECIMALS) == top


def _contested(cells: Mapping[str, Cell], reference: str) -> bool:
    return reference in cells and len(cells) >= 2


def _claim(id: int, status: str, summary: str, **numbers: Any) -> Claim:
    return Claim(id, TEXTS[id], status, {"summary": summary, **numbers})


def _most_settings(table: Table, comparisons: Sequence[Comparison], reference: str) -> Claim:
    settings = [s for s, cells in table.cells.items() if _contested(cells, reference)]
    if len(settings) < 2:
        summary = f"{reference} has competitors in {len(settings)} setting(s); 'most' needs 2"
        return _claim(1, UNKNOWN, summary, settings=len(settings))
    best = [s for s in settings if is_best(table.cells[s], reference)]
    significant = [s for s in best if _wins_significantly(s, comparisons)]
    summary = (
        f"{reference} has the highest mean accuracy in {len(best)} of {len(settings)} settings;"
        f" {len(significant)} of these wins are significant against every other method"
        f" (Holm-corrected paired t-tests, alpha {ALPHA})"
    )
    status = HOLDS if len(best) > len(settings) / 2 else FAILS
    return _claim(
        1,
        status,
        summary,
        settings_best=len(best),
        settings=len(settings),
        best_in=[s.name for s in best],
        best_and_significant=len(significant),
    )


def _wins_significantly(setting: Setting, comparisons: Sequence[Comparison]) -> bool:
    tests = [c for c in comparisons if c.setting == setting and c.test == "t"]
    return bool(tests) and all(
        c.p_holm is not None and c.p_holm < ALPHA and c.mean_diff is not None and c.mean_diff > 0
        for c in tests
    )


def _best_average_rank(friedman: Friedman, reference: str) -> Claim:
    ranks = friedman.average_ranks
    if reference not in ranks or friedman.k < 2 or friedman.n_blocks < 2:
        summary = (
            f"{friedman.n_blocks} setting(s) have all {friedman.k} methods, {reference} included;"
            " need 2 with at least 2 methods"
        )
        return _claim(2, UNKNOWN, summary, n_blocks=friedman.n_blocks, k=friedman.k)
    runner_up = min((m for m in ranks if m != reference), key=lambda m: ranks[m])
    gap = ranks[runner_up] - ranks[reference]
    cd = critical_difference(friedman.k, friedman.n_blocks)
    verdict = "exceeds" if abs(gap) > cd else "is within"
    summary = (
        f"over the {friedman.n_blocks} settings where all {friedman.k} methods have data,"
        f" {reference} has average rank {ranks[reference]:.2f} and the best other,"
        f" {runner_up}, {ranks[runner_up]:.2f}; the gap {verdict}"
        f" the Nemenyi critical difference {cd:.2f}"
    )
    status = HOLDS if round(gap, TIE_DECIMALS) >= 0 else FAILS
    return _claim(
        2, status, summary, average_ranks=dict(ranks), n_blocks=friedman.n_blocks, nemenyi_cd=cd
    )


def _beats_dense(table: Table, reference: str) -> Claim:
    compared = [
        (s, cells[reference], bound)
        for s, cells in table.cells.items()
        if reference in cells and (bound := upper_bound(table, s)) is not None
    ]
    if not compared:
        return _claim(3, UNKNOWN, f"no setting has both {reference} and dense runs")
    above = [
        {"setting": s.name, "mean": cell.mean, "dense_mean": bound.mean}
        for s, cell, bound in compared
        if reaches(cell.mean, bound)
    ]
    summary = f"{reference} reaches the dense mean in {len(above)} of {len(compared)} settings"
    status = HOLDS if above else FAILS
    return _claim(3, status, summary, settings_at_or_above=above, settings=len(compared))


def _vgg_high_sparsity(table: Table, reference: str) -> Claim:
    groups = [
        group
        for model in _models(table, "vgg19")
        if (group := _who_is_best(table, reference, model, VGG_CONDITIONS)) is not None
    ]
    if not groups:
        summary = "no VGG-19 model has all four settings (init 1.0/0.5 × sparsity 0.95/0.98)"
        return _claim(4, UNKNOWN, summary)
    details = [row for group in groups for row in group]
    best = sum(row["best"] for row in details)
    summary = f"{reference} is best in {best} of the {len(details)} required VGG-19 settings"
    status = HOLDS if best == len(details) else FAILS
    return _claim(4, status, summary, settings_best=best, settings=len(details), details=details)


def _resnet_two_of_three(table: Table, reference: str) -> Claim:
    conditions = []
    for model in _models(table, "resnet50"):
        for init in sorted({s.init_density for s in table.cells if s.model == model}, reverse=True):
            group = _who_is_best(table, reference, model, [(init, s) for s in RESNET_LEVELS])
            if group is not None:
                best = sum(row["best"] for row in group)
                conditions.append(
                    {
                        "model": model.name,
                        "init_density": init,
                        "levels_best": best,
                        "details": group,
                    }
                )
    if not conditions:
        summary = "no ResNet-50 initial condition has all three sparsity levels (0.90/0.95/0.98)"
        return _claim(5, UNKNOWN, summary)
    counts = [c["levels_best"] for c in conditions]
    summary = f"{reference} is best at {counts} of 3 levels (one count per initial condition)"
    status = HOLDS if min(counts) >= 2 else FAILS
    return _claim(5, status, summary, conditions=conditions)


def _models(table: Table, arch: str) -> list[Model]:
    return list(dict.fromkeys(s.model for s in table.cells if s.model.arch == arch))


def _who_is_best(
    table: Table, reference: str, model: Model, needed: Sequence[tuple[float, float]]
) -> list[dict[str, Any]] | None:
    """Per required (init, sparsity) setting: is `reference` best; None unless all exist."""
    rows = []
    for init, sparsity in needed:
        setting, cells = _find(table, model, init, sparsity)
        if setting is None or not _contested(cells, reference):
            return None
        leaders = [m for m in cells if is_best(cells, m)]
        rows.append({"setting": setting.name, "best": reference in leaders, "leaders": leaders})
    return rows


def _find(
    table: Table, model: Model, init: float, sparsity: float
) -> tuple[Setting | None, Mapping[str, Cell]]:
    for setting, cells in table.cells.items():
        if (
            setting.model == model
            and math.isclose(setting.init_density, init)
            and math.isclose(setting.target_sparsity, sparsity)
        ):
            return setting, cells
    return None, {}
