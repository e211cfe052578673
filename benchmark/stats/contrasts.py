"""FGGP against each competitor within one setting, with the seeds as blocks.

In a setting every method runs with the same seeds, and the runs of one seed share
initial weights, initial mask and data order: a randomized complete block design
(methods × seeds). Its two-way analysis (method + seed) estimates the run-to-run spread
from the residuals of all k methods, with (k - 1)(n - 1) degrees of freedom instead of a
paired t-test's n - 1: 16 instead of 4 for 5 methods and 5 seeds. That is what lets a
one-sided test at the small levels a count of settings needs reach significance at all
(the 0.99 quantile of t is 3.75 at 4 df, 2.58 at 16). It assumes the methods' spread is
alike within a setting; docs/results.md measures what one method twice as noisy does.
With two methods the contrast is exactly the paired t-test.

Each contrast is one-sided both ways. A *win* (FGGP ahead of every competitor) is an
intersection of the k - 1 contrasts, each at the full level (an intersection-union test:
no split of alpha). A *loss* (some competitor ahead) is their union: Bonferroni over them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from benchmark.stats.table import TIE_DECIMALS, Cell, Setting


@dataclass(frozen=True)
class Contrast:
    """FGGP minus one competitor over the setting's complete blocks."""

    competitor: str
    mean_diff: float
    """Reference mean minus competitor mean over the blocks, in points."""
    p_ahead: float | None
    """One-sided p of H1: the reference's mean is above the competitor's; None: no test."""
    p_behind: float | None
    """One-sided p of H1: the competitor's mean is above the reference's."""


@dataclass(frozen=True)
class SettingContrasts:
    setting: Setting
    reference: str
    seeds: tuple[int, ...]
    """The blocks: seeds every method of the setting has."""
    residual_sd: float | None
    """Run-to-run sd left after the method and seed effects (points)."""
    dof: int
    contrasts: tuple[Contrast, ...]
    note: str | None

    @property
    def p_win(self) -> float:
        """p of 'the reference is ahead of every competitor' (1.0: no test possible)."""
        return at_least(len(self.contrasts), [c.p_ahead for c in self.contrasts])

    @property
    def p_loss(self) -> float:
        """p of 'some competitor is ahead of the reference'."""
        return at_least(1, [c.p_behind for c in self.contrasts])


def at_least(r: int, pvalues: Sequence[float | None]) -> float:
    """p-value of 'at least r of these hypotheses' alternatives hold' (r >= 1).

    Benjamini and Heller's (2008) partial conjunction test in its Bonferroni form,
    (S - r + 1) p_(r) over S p-values: valid under any dependence between them, because
    when fewer than r alternatives hold, p_(r) is at most the smallest p of the S - r + 1
    or more true nulls. r = S is the intersection-union test (the largest p, no
    correction), r = 1 Bonferroni's union. A missing p (no test possible) counts as 1.
    """
    if not 1 <= r <= len(pvalues):
        return 1.0
    ordered = sorted(1.0 if p is None else p for p in pvalues)
    return min(1.0, (len(pvalues) - r + 1) * ordered[r - 1])


def setting_contrasts(
    setting: Setting, cells: Mapping[str, Cell], reference: str
) -> SettingContrasts:
    """The reference against every other method of `cells`, seeds as blocks."""
    others = [m for m in cells if m != reference]
    methods = [reference, *others]
    seeds = tuple(sorted(set.intersection(*(set(cells[m].accuracy) for m in methods))))
    k, n = len(methods), len(seeds)
    dof = (k - 1) * (n - 1)
    if k < 2 or n < 2:
        note = f"{n} seed(s) common to all {k} methods: the contrasts need 2 methods and 2 seeds"
        return SettingContrasts(setting, reference, seeds, None, max(dof, 0), (), note)
    y = np.array([[cells[m].accuracy[s] for s in seeds] for m in methods], dtype=float)
    means = y.mean(axis=1)
    residuals = y - means[:, None] - y.mean(axis=0)[None, :] + y.mean()
    rss = float(np.sum(np.round(residuals, TIE_DECIMALS) ** 2))
    sd = math.sqrt(rss / dof)
    if sd == 0.0:
        note = "no run-to-run spread left after the method and seed effects: no test"
        blank = tuple(
            Contrast(m, _diff(means[0], means[j]), None, None) for j, m in enumerate(others, 1)
        )
        return SettingContrasts(setting, reference, seeds, 0.0, dof, blank, note)
    se = sd * math.sqrt(2.0 / n)
    contrasts = []
    for j, method in enumerate(others, start=1):
        diff = _diff(means[0], means[j])
        t = diff / se
        contrasts.append(
            Contrast(method, diff, float(special.stdtr(dof, -t)), float(special.stdtr(dof, t)))
        )
    unequal = any(cells[m].n != n for m in methods)
    note = f"only the {n} seeds every method has are blocks" if unequal else None
    return SettingContrasts(setting, reference, seeds, sd, dof, tuple(contrasts), note)


def _diff(a: float, b: float) -> float:
    return round(float(a - b), TIE_DECIMALS)
