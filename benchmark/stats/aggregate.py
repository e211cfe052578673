"""Aggregates over all settings with bootstrap intervals, after Agarwal et al. (2021).

"Deep RL at the edge of the statistical precipice" (the rliable package) summarises few
runs over many tasks by the probability of improvement and by the interquartile mean
(IQM), with percentile bootstrap intervals. Here the tasks are the settings, and:

* P(reference > competitor), rliable's definition: per setting the Mann-Whitney U over
  all pairs of the two methods' runs, / (n_a n_b), ties 1/2, averaged over the settings
  where both have runs. Beside it the *paired* estimate: the share of same-seed pairs the
  reference wins (ties 1/2), per setting, averaged likewise. The report should lead with
  the paired one. Runs of one seed share initial weights, initial mask and data order
  (benchmark/train.py), so the design pairs them, as `contrasts` does: comparing seed i's
  run with seed i's removes the luck both methods share with that seed, which rliable's
  all-pairs U counts as noise between methods. The unpaired figure is the one comparable
  with other papers, and it is exact to rliable's definition, so it is kept.
* Per method the mean over settings (of each setting's mean over runs, rliable's
  aggregate_mean) and the IQM (scipy.stats.trim_mean(x, 0.25) of all its runs ×
  settings, rliable's aggregate_iqm), over the settings where every method has runs, so
  that all methods are scored on the same settings.

The bootstrap resamples seeds, jointly: a replicate draws n seeds with replacement from
the n seeds of the table, and every setting and method takes those seeds' runs. A seed's
luck persists across settings (seed i gives the same weights and data order in each
setting of an architecture), so seeds are the independent units, not runs; resampling
each setting's runs independently, as rliable's StratifiedBootstrap does, breaks that
dependence and gives intervals too narrow. The seeds are not stratified by architecture
either: the seed also fixes the data order and augmentation, the same for every
architecture on a dataset, so seed i's VGG and ResNet runs are not known to be
independent. Resampling them together is valid whether they are or not; stratifying
would be valid only if they were, and would understate the spread where a seed's luck
carries over between architectures. A setting a replicate leaves without runs of a
method (possible only where seeds are missing) drops out of that replicate's averages.

Few seeds make few distinct resamples: the statistics depend only on how often each
seed was drawn, and there are C(2n - 1, n) such draws of n seeds, 10 for 3 seeds, 126
for 5. With fewer than 3 seeds no interval is given (of 2 seeds, the resamples are one
seed twice, the other twice, or both, and the "interval" is two single-seed values).
Below 10 seeds the interval is given with a note that it is too narrow: a percentile
bootstrap of n units has about sqrt((n - 1)/n) of the spread and normal, not t,
quantiles. On 1,000 simulated grids of equal methods (12 settings, 5 methods, seed, luck
and run sd 1, 0.75 and 1.5 points as in `simulate`), the 95% intervals of P covered 0.5
in 87-88% of the grids with 3 seeds and with 5, those of the mean and IQM the true mean
in 74% with 3 and 83% with 5; with 10 seeds (400 grids) 90-92% for all four.

Why not the rliable package (1.2.0): it installs beside numpy 2.4.6 and scipy 1.17.1,
but brings 11 packages this project does not have (arch, statsmodels, pandas, seaborn,
patsy, formulaic, absl-py and their dependencies) for a few lines of arithmetic; its
StratifiedBootstrap draws every (run, task) index independently, and its bootstrap of
the probability of improvement resamples the two methods independently, so it can
resample neither seeds jointly across tasks nor same-seed pairs; and it draws from
numpy's global RandomState, one replicate at a time. Here a replicate is a row of seed
counts from a seeded numpy Generator, every statistic is computed for all rows at once
(and once per distinct row), one call on 12 settings × 6 methods × 5 seeds takes about
10 ms, and `resamples=0` skips the bootstrap for simulations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.stats.table import TIE_DECIMALS, Setting, Table

RESAMPLES = 2000
CONFIDENCE = 0.95
MIN_SEEDS = 3
"""Fewer seeds: no interval (2 seeds have 3 distinct resamples)."""
FEW_SEEDS = 10
"""Fewer seeds: the interval comes with a note that it undercovers."""
IQM_CUT = 0.25
Draws = tuple[np.ndarray, np.ndarray]
"""The distinct rows of `seed_counts` and, per replicate, the index of its row."""


@dataclass(frozen=True)
class Estimate:
    value: float | None
    """None where there is nothing to estimate from (no setting with runs of both)."""
    ci95: tuple[float, float] | None
    """95% percentile bootstrap interval over seeds; None: not bootstrapped or too few seeds."""
    seeds: int
    """Distinct seeds behind it: a method's; unpaired, the fewer of the two methods'; paired,
    those the two share."""
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci95": list(self.ci95) if self.ci95 else None,
            "seeds": self.seeds,
            "note": self.note,
        }


@dataclass(frozen=True)
class Improvement:
    """The reference against one competitor: how often it finishes ahead."""

    competitor: str
    settings: tuple[Setting, ...]
    """Settings where both have runs: those `unpaired` averages over."""
    paired_settings: tuple[Setting, ...]
    """Settings where both have a run of one same seed: those `paired` averages over."""
    paired: Estimate
    """Share of same-seed pairs the reference wins, ties 1/2: the one to lead with."""
    unpaired: Estimate
    """rliable's P(reference > competitor): Mann-Whitney U / (n_a n_b) over all pairs."""

    def sentence(self, reference: str) -> str:
        """One line for a report: the paired figure first, rliable's beside it."""
        if self.paired.value is None and self.unpaired.value is None:
            return f"{reference} vs {self.competitor}: no setting where both have runs"
        notes = {e.note for e in (self.paired, self.unpaired) if e.note}
        parts = [
            f"{reference} vs {self.competitor}: ahead in "
            f"{_percent(self.paired)} of same-seed pairs",
            f"P({reference} > {self.competitor}) over all pairs of runs {_percent(self.unpaired)}",
            f"{len(self.settings)} settings, {self.unpaired.seeds} seeds",
        ]
        return "; ".join(parts + sorted(notes))

    def as_dict(self) -> dict[str, Any]:
        return {
            "competitor": self.competitor,
            "settings": [s.name for s in self.settings],
            "paired_settings": [s.name for s in self.paired_settings],
            "paired": self.paired.as_dict(),
            "unpaired": self.unpaired.as_dict(),
        }


@dataclass(frozen=True)
class Scores:
    """One method's accuracy over the settings every method has runs in (points)."""

    method: str
    mean: Estimate
    iqm: Estimate

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "mean": self.mean.as_dict(), "iqm": self.iqm.as_dict()}


@dataclass(frozen=True)
class Aggregates:
    reference: str
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    """The seeds a replicate draws from: every seed of any run in the table."""
    settings: tuple[Setting, ...]
    """Settings where every method has runs: those `scores` are over."""
    resamples: int
    rng_seed: int
    improvements: tuple[Improvement, ...]
    scores: tuple[Scores, ...]
    note: str | None

    def sentences(self) -> list[str]:
        return [i.sentence(self.reference) for i in self.improvements]

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "methods": list(self.methods),
            "seeds": list(self.seeds),
            "settings": [s.name for s in self.settings],
            "resamples": self.resamples,
            "rng_seed": self.rng_seed,
            "interval": "95% percentile bootstrap over seeds, resampled jointly across "
            "settings and methods",
            "improvements": [
                i.as_dict() | {"sentence": i.sentence(self.reference)} for i in self.improvements
            ],
            "scores": [s.as_dict() for s in self.scores],
            "note": self.note,
        }


def aggregate(
    table: Table, reference: str = "fggp", *, resamples: int = RESAMPLES, seed: int = 0
) -> Aggregates:
    """Probability of improvement of `reference` over each other method, and every
    method's mean and IQM, with a joint seed bootstrap of `resamples` replicates drawn
    from numpy's Generator seeded by `seed` (0 replicates: point estimates only)."""
    if resamples < 0:
        raise ValueError(f"resamples must be >= 0, not {resamples}")
    methods = tuple(sorted({m for cells in table.cells.values() for m in cells}))
    settings = tuple(table.cells)
    pool = tuple(
        sorted({s for cells in table.cells.values() for c in cells.values() for s in c.accuracy})
    )
    runs = np.round(_runs(table, methods, settings, pool), TIE_DECIMALS)
    draws = np.unique(seed_counts(len(pool), resamples, seed), axis=0, return_inverse=True)
    common = [k for k, s in enumerate(settings) if len(table.cells[s]) == len(methods)]
    notes = [
        *([] if resamples else ["resamples=0: point estimates only, no intervals"]),
        *([] if reference in methods else [f"no runs of {reference}: no improvement to give"]),
    ]
    improvements = tuple(
        _improvement(runs[methods.index(reference)], runs[j], draws, m, settings)
        for j, m in enumerate(methods)
        if reference in methods and m != reference
    )
    scores = tuple(_scores(runs[j][common], draws, m) for j, m in enumerate(methods))
    return Aggregates(
        reference,
        methods,
        pool,
        tuple(settings[k] for k in common),
        resamples,
        seed,
        improvements,
        scores,
        "; ".join(notes) or None,
    )


def seed_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of n seeds is drawn, one row per replicate: row 0 all ones (the
    seeds as they are: the point estimate), then `resamples` rows of n draws with
    replacement. A replicate is one row for every setting and method: the seeds are
    resampled jointly by construction, and each statistic below weighs a seed's runs by
    its count, which equals computing it on the resampled runs."""
    # high=max(n, 1): a table without runs has no seeds, and numpy refuses an empty range
    draws = np.random.default_rng(seed).integers(0, max(n, 1), size=(resamples, n))
    counts = (draws[:, :, None] == np.arange(n)).sum(axis=1)
    return np.vstack([np.ones((1, n), dtype=counts.dtype), counts])


def improvement(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """rliable's probability of improvement of a over b, per replicate: a and b are
    (settings, seeds) with NaN where there is no run, counts (replicates, seeds). Per
    setting U / (n_a n_b) over all pairs of runs, ties 1/2, averaged over the settings
    where both have runs (NaN where there is none). Values are compared exactly."""
    beats = (a[:, :, None] > b[:, None, :]) + 0.5 * (a[:, :, None] == b[:, None, :])
    wins = np.einsum("ri,kij,rj->rk", counts, beats, counts, optimize=True)
    pairs = (counts @ np.isfinite(a).T) * (counts @ np.isfinite(b).T)
    return _over_settings(wins, pairs)


def paired_improvement(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Share of same-seed pairs in which a beats b, ties 1/2, per replicate: arrays as
    for `improvement`; per setting over the seeds both have, averaged over the settings
    with at least one."""
    beats = (a > b) + 0.5 * (a == b)
    return _over_settings(counts @ beats.T, counts @ (np.isfinite(a) & np.isfinite(b)).T)


def mean_over_settings(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """rliable's aggregate_mean per replicate: each setting's mean over its runs,
    averaged over the settings; x is (settings, seeds), NaN where there is no run."""
    return _over_settings(counts @ np.nan_to_num(x).T, counts @ np.isfinite(x).T)


def iqm(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """rliable's aggregate_iqm per replicate, scipy.stats.trim_mean(scores, 0.25) of all
    runs × settings (x as for `mean_over_settings`): of the n runs, int(n / 4) are cut
    from either end (scipy's count) and the rest averaged. A run drawn c times stands at
    c places of the sorted runs; it keeps the part of them inside the cut."""
    setting, seed = np.nonzero(np.isfinite(x))
    order = np.argsort(x[setting, seed], kind="stable")
    values = x[setting, seed][order]
    weight = counts[:, seed[order]]
    total = weight.sum(axis=-1, keepdims=True)
    cut = np.floor(IQM_CUT * total)
    upto = np.cumsum(weight, axis=-1)
    inside = np.minimum(upto, total - cut) - np.maximum(upto - weight, cut)
    kept = np.maximum(inside, 0.0)
    return _ratio(kept @ values, (total - 2 * cut)[:, 0])


def _runs(
    table: Table, methods: Sequence[str], settings: Sequence[Setting], pool: Sequence[int]
) -> np.ndarray:
    """Accuracies as (methods, settings, seeds), NaN where there is no run."""
    runs = np.full((len(methods), len(settings), len(pool)), np.nan)
    for k, setting in enumerate(settings):
        for j, method in enumerate(methods):
            cell = table.cells[setting].get(method)
            for i, s in enumerate(pool):
                if cell is not None and s in cell.accuracy:
                    runs[j, k, i] = cell.accuracy[s]
    return runs


def _improvement(
    a: np.ndarray, b: np.ndarray, draws: Draws, competitor: str, settings: Sequence[Setting]
) -> Improvement:
    has_a, has_b = np.isfinite(a), np.isfinite(b)
    both = has_a.any(axis=-1) & has_b.any(axis=-1)
    paired = (has_a & has_b).any(axis=-1)
    seeds = min(_seeds(has_a[both]), _seeds(has_b[both]))
    return Improvement(
        competitor,
        tuple(s for s, keep in zip(settings, both, strict=True) if keep),
        tuple(s for s, keep in zip(settings, paired, strict=True) if keep),
        _estimate(_replicates(paired_improvement, draws, a, b), _seeds((has_a & has_b)[paired])),
        _estimate(_replicates(improvement, draws, a, b), seeds),
    )


def _scores(x: np.ndarray, draws: Draws, method: str) -> Scores:
    seeds = _seeds(np.isfinite(x))
    mean = _estimate(_replicates(mean_over_settings, draws, x), seeds)
    return Scores(method, mean, _estimate(_replicates(iqm, draws, x), seeds))


def _replicates(
    statistic: Callable[..., np.ndarray], draws: Draws, *arrays: np.ndarray
) -> np.ndarray:
    """The statistic of every replicate, computed once per distinct draw: a statistic
    depends only on how often each seed was drawn, and 2,000 draws of 5 seeds hold at
    most 126 distinct ones."""
    distinct, inverse = draws
    return statistic(*arrays, distinct)[inverse]


def _seeds(has: np.ndarray) -> int:
    """Distinct seeds with a run in some setting of a (settings, seeds) mask."""
    return int(has.any(axis=0).sum())


def _estimate(replicates: np.ndarray, seeds: int) -> Estimate:
    """The point estimate (replicate 0) and the percentile interval of the others."""
    value, rest = replicates[0], replicates[1:]
    if not np.isfinite(value):
        return Estimate(None, None, seeds, None)
    rest = rest[np.isfinite(rest)]
    if rest.size == 0:
        return Estimate(float(value), None, seeds, None)
    if seeds < MIN_SEEDS:
        note = f"{seeds} seed(s), {_multisets(seeds)} distinct resample(s): no interval"
        return Estimate(float(value), None, seeds, note)
    note = (
        f"only {seeds} seeds, {_multisets(seeds)} distinct resamples of them: the interval"
        f" is too narrow (it covers less than {CONFIDENCE:.0%} of the time)"
        if seeds < FEW_SEEDS
        else None
    )
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(rest, [tail, 1 - tail])
    return Estimate(float(value), (float(low), float(high)), seeds, note)


def _over_settings(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mean over the last axis of total/count, over the entries with count > 0."""
    per = _ratio(total, count)
    valid = count > 0
    return _ratio(np.where(valid, per, 0.0).sum(axis=-1), valid.sum(axis=-1))


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)


def _multisets(n: int) -> int:
    """Distinct resamples of n seeds: multisets of size n drawn from n."""
    return math.comb(2 * n - 1, n)


def _percent(estimate: Estimate) -> str:
    if estimate.value is None:
        return "n/a"
    interval = f" [95% CI {estimate.ci95[0]:.0%}, {estimate.ci95[1]:.0%}]" if estimate.ci95 else ""
    return f"{estimate.value:.0%}{interval}"
