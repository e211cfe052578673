"""The report's tables as plain data: rows for CSV, the paper-layout table, ranks, costs.

Pure functions over the statistics (`benchmark.stats.Summary`) and the runs
(`reports.runs`); the HTML template, the CSV writer and the LaTeX writer
(`reports.latex`) all read the same structures, so a number cannot differ between the
report and the table pasted into a paper. Imported by `reports.build` and
`reports.latex`, and by the tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from benchmark.stats import Cell, Comparison, RunKeys, Setting, SettingStats, Summary
from benchmark.stats.ranking import ALPHA
from benchmark.stats.table import CONDITION_FIELDS, DENSE, MODEL_FIELDS
from reports.runs import Record, Run, group_runs
from reports.styles import method_order

# ---------------------------------------------------------------- every run


SETTING_FIELDS = (*MODEL_FIELDS, *CONDITION_FIELDS)
"""What places a run or a cell in the grid; both CSVs carry them under these names."""

RUN_COLUMNS = (
    "run_id",
    "method",
    *SETTING_FIELDS,
    "seed",
    "status",
    "test_acc",
    "best_test_acc",
    "sparsity",
    "wall_seconds",
    "train_flops_vs_dense",
    "inference_flops_vs_dense",
    "error",
)


def run_rows(runs: Sequence[Run], keys: RunKeys) -> list[dict[str, Any]]:
    """One row per run of the grid, finished or not (results.csv and the run list)."""
    rows = []
    for run in runs:
        config = run.config
        _, label, seed = keys.of_config(config)
        record = run.record or {}
        final = record.get("final") or {}
        cost = record.get("cost") or {}
        rows.append(
            {
                "run_id": run.run_id,
                "method": label,
                **{name: config[name] for name in SETTING_FIELDS},
                "seed": seed,
                "status": run.status,
                "test_acc": final.get("test_acc"),
                "best_test_acc": final.get("best_test_acc"),
                "sparsity": final.get("sparsity"),
                "wall_seconds": cost.get("wall_seconds"),
                "train_flops_vs_dense": _ratio(cost, "train_flops"),
                "inference_flops_vs_dense": _ratio(cost, "inference_flops"),
                "error": record.get("error"),
                "log": run.log,
            }
        )
    return rows


def _ratio(cost: Mapping[str, Any], name: str) -> float | None:
    value, dense = cost.get(name), cost.get(f"dense_{name}")
    return value / dense if value is not None and dense else None


# ---------------------------------------------------------------- aggregated


TABLE_COLUMNS = (
    "setting",
    *SETTING_FIELDS,
    "method",
    "n",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "min",
    "max",
    "rank",
    "dense_mean",
    "diverged",
)


def aggregate_rows(summary: Summary) -> list[dict[str, Any]]:
    """One row per setting and method (table.csv), dense bounds included with no rank."""
    rows = []
    for stats in summary.settings:
        dense_mean = stats.bound.mean if stats.bound else None
        where = stats.setting.as_dict()
        for method in method_order(stats.cells):
            cell, rank = stats.cells[method], stats.ranks[method]
            rows.append(_aggregate_row(stats.name, where, method, cell, rank, dense_mean))
    for model, bound in summary.table.dense.items():
        rows.append(_aggregate_row(model.name, model.as_dict(), DENSE, bound, None, bound.mean))
    return rows


def _aggregate_row(
    name: str,
    where: Mapping[str, Any],
    method: str,
    cell: Cell,
    rank: float | None,
    dense_mean: float | None,
) -> dict[str, Any]:
    """`where` is a setting's or a dense bound's fields (a bound has no conditions)."""
    low, high = cell.ci95 or (None, None)
    values = cell.accuracy.values()
    return {
        "setting": name,
        **{field: where.get(field) for field in SETTING_FIELDS},
        "method": method,
        "n": cell.n,
        "mean": cell.mean,
        "std": cell.std,
        "ci95_low": low,
        "ci95_high": high,
        "min": min(values),
        "max": max(values),
        "rank": rank,
        "dense_mean": dense_mean,
        "diverged": len(cell.diverged),
    }


# ---------------------------------------------------------------- paper layout


@dataclass(frozen=True)
class Column:
    model: str
    arch: str
    target_sparsity: float
    setting: str | None
    """The setting's name, or None where this init condition has no run at that level."""


@dataclass(frozen=True)
class Entry:
    mean: float
    std: float | None
    n: int
    best: bool = False
    significant: str | None = None
    """'worse' / 'better' when a paired t-test against the reference, Holm-corrected,
    rejects at ALPHA; None otherwise (and always for the reference itself)."""
    reaches_dense: bool = False
    diverged: int = 0
    """Runs that diverged, counted in the mean at chance accuracy."""


@dataclass(frozen=True)
class PaperTable:
    init_density: float
    columns: list[Column]
    rows: list[tuple[str, list[Entry | None]]]
    dense: list[Entry | None]
    """The dense upper bound of each column's model."""

    @property
    def models(self) -> list[tuple[str, str, int]]:
        """(model name, arch, number of columns) in order, for the grouped header."""
        groups: list[tuple[str, str, int]] = []
        for column in self.columns:
            if groups and groups[-1][0] == column.model:
                name, arch, count = groups[-1]
                groups[-1] = (name, arch, count + 1)
            else:
                groups.append((column.model, column.arch, 1))
        return groups


def paper_tables(summary: Summary) -> list[PaperTable]:
    """Methods × (architecture, target sparsity), one table per initial density.

    The paper prints one such table per starting condition; a column is best where its
    mean is the highest among the pruning methods (ties all bold), and the dense row is
    the upper bound of the column's model, not a competitor.
    """
    settings = summary.settings
    significance = _significance(summary.comparisons, summary.reference)
    models = sorted({(s.model.name, s.model.arch) for s in settings}, key=lambda m: (m[1], m[0]))
    levels = sorted({s.setting.target_sparsity for s in settings})
    methods = method_order(m for s in settings for m in s.cells)
    tables = []
    for init in sorted({s.setting.init_density for s in settings}, reverse=True):
        by_key = {
            (s.model.name, s.setting.target_sparsity): s
            for s in settings
            if s.setting.init_density == init
        }
        columns = [
            Column(model, arch, level, by_key[(model, level)].name)
            for model, arch in models
            for level in levels
            if (model, level) in by_key
        ]
        rows = [
            (
                method,
                [
                    _entry(by_key[(c.model, c.target_sparsity)], method, significance)
                    for c in columns
                ],
            )
            for method in methods
        ]
        dense = [_dense_entry(summary.dense_bounds.get(c.model)) for c in columns]
        tables.append(PaperTable(init, columns, rows, dense))
    return tables


def _significance(comparisons: Iterable[Comparison], reference: str) -> dict[tuple[str, str], str]:
    marks = {}
    for c in comparisons:
        if c.test != "t" or c.a != reference or c.p_holm is None or c.p_holm >= ALPHA:
            continue
        marks[(c.setting.name, c.b)] = "worse" if (c.mean_diff or 0) > 0 else "better"
    return marks


def _entry(
    stats: SettingStats, method: str, significance: Mapping[tuple[str, str], str]
) -> Entry | None:
    cell = stats.cells.get(method)
    if cell is None:
        return None
    return Entry(
        mean=cell.mean,
        std=cell.std,
        n=cell.n,
        best=stats.is_top(method),
        significant=significance.get((stats.name, method)),
        reaches_dense=stats.reaches_dense(method),
        diverged=len(cell.diverged),
    )


def _dense_entry(bound: Cell | None) -> Entry | None:
    if bound is None:
        return None
    return Entry(bound.mean, bound.std, bound.n, diverged=len(bound.diverged))


# ---------------------------------------------------------------- ranks


@dataclass(frozen=True)
class RankTable:
    settings: list[str]
    rows: list[tuple[str, list[float | None], float | None]]
    """(method, its rank in each setting, its average rank)."""


def rank_table(summary: Summary) -> RankTable:
    settings = summary.settings
    average = summary.average_rank
    rows = [
        (
            method,
            [s.ranks.get(method) for s in settings],
            average[method].rank if method in average else None,
        )
        for method in method_order(m for s in settings for m in s.cells)
    ]
    return RankTable([s.name for s in settings], rows)


# ---------------------------------------------------------------- paired tests


def pairwise_rows(summary: Summary) -> list[dict[str, Any]]:
    """One row per (setting, competitor) with both tests side by side.

    The summary lists the paired t-test and the Wilcoxon test as separate comparisons;
    they share the pairs, the mean difference and its CI, so a reader compares them best
    on one line. Notes of both tests are kept, labelled.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for c in summary.comparisons:
        row = rows.setdefault(
            (c.setting.name, c.b),
            {
                "setting": c.setting.name,
                "a": c.a,
                "b": c.b,
                "mean_diff": c.mean_diff,
                "ci95": c.ci95,
                "notes": [],
            },
        )
        if c.test == "t":
            power = summary.comparison_power.of(c)
            row["detectable"], row["seeds_for_target"] = power.detectable, power.seeds_for_target
        row[f"{c.test}_n"] = c.n
        row[f"{c.test}_p"] = c.p
        row[f"{c.test}_p_holm"] = c.p_holm
        if c.note:
            name = "t" if c.test == "t" else "Wilcoxon"
            named = name in c.note if name == "Wilcoxon" else " t " in f" {c.note}"
            row["notes"].append(c.note if named else f"{name}: {c.note}")
    return list(rows.values())


# ---------------------------------------------------------------- cost


@dataclass(frozen=True)
class CostRow:
    model: str
    init_density: float | None
    target_sparsity: float | None
    method: str
    n: int
    wall_seconds: float
    train_flops_vs_dense: float | None
    inference_flops_vs_dense: float | None
    sparsity: float
    dense_gradient_percent: float | None
    """Mean share (%) of the training MACs spent on dense gradients (RigL/GraNet growth)."""


def cost_rows(runs: Sequence[Run], keys: RunKeys) -> list[CostRow]:
    """Mean cost of each method in each setting over its completed runs.

    Ordered by model, its dense runs first, then as `ModelRuns.cells`. FLOPs are the
    harness's own count of the Conv2d/Linear multiply-accumulates with the density in
    force (docs/results.md), so the ratios compare methods, not hardware.
    """
    rows = []
    for group in group_runs(runs, keys):
        name = group.model.name
        if group.dense:
            rows.append(_cost_row(name, None, None, DENSE, group.dense))
        rows += [
            _cost_row(name, s.init_density, s.target_sparsity, label, records)
            for s, label, records in group.cells()
        ]
    return rows


def _cost_row(
    model: str,
    init_density: float | None,
    target_sparsity: float | None,
    method: str,
    records: Sequence[Record],
) -> CostRow:
    costs = [r["cost"] for r in records]
    return CostRow(
        model=model,
        init_density=init_density,
        target_sparsity=target_sparsity,
        method=method,
        n=len(records),
        wall_seconds=statistics.mean(c["wall_seconds"] for c in costs),
        train_flops_vs_dense=_mean_ratio(costs, "train_flops"),
        inference_flops_vs_dense=_mean_ratio(costs, "inference_flops"),
        sparsity=statistics.mean(r["final"]["sparsity"] for r in records),
        dense_gradient_percent=_mean_known(_dense_gradient_percent(c) for c in costs),
    )


def _mean_ratio(costs: Sequence[Mapping[str, Any]], name: str) -> float | None:
    return _mean_known(_ratio(c, name) for c in costs)


def _dense_gradient_percent(cost: Mapping[str, Any]) -> float | None:
    """`dense_gradient_flops` as a percentage of `train_flops`, which includes it.

    Records from before regrowth methods lack the field: they spent nothing on it.
    """
    spent, total = cost.get("dense_gradient_flops", 0), cost.get("train_flops")
    return 100 * spent / total if spent is not None and total else None


def _mean_known(values: Iterable[float | None]) -> float | None:
    """The mean of the finite values; None when there is none."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.mean(known) if known else None


# ---------------------------------------------------------------- regrowth


@dataclass(frozen=True)
class Growth:
    """What one run's mask updates switched on over its whole training."""

    grown: int
    updates: int
    """Mask updates that grew at least one weight."""
    prunable: int
    """Prunable weights of the network: the sum of `numel` over its layers."""

    @property
    def percent(self) -> float | None:
        return 100 * self.grown / self.prunable if self.prunable else None


def run_growth(record: Record) -> Growth:
    """Sum of `grown` over a run's mask updates: the weights each switched on that were
    inactive before it (0 in records from before regrowth methods, which lack the key)."""
    counts = [entry.get("grown") or 0 for entry in record["prune_schedule"]]
    return Growth(
        grown=sum(counts),
        updates=sum(count > 0 for count in counts),
        prunable=sum(layer["numel"] for layer in record["layers"]),
    )


@dataclass(frozen=True)
class RegrowthRow:
    """One method in one setting, means over its completed runs (regrowth.csv, the report)."""

    setting: Setting
    method: str
    n: int
    grown_mean: float
    grown_percent_mean: float | None
    """Weights grown as a percentage of the prunable weights; a weight grown twice counts twice."""
    growth_updates_mean: float


_REGROWTH_NUMBERS = tuple(f.name for f in fields(RegrowthRow) if f.name != "setting")
REGROWTH_COLUMNS = ("setting", *SETTING_FIELDS, *_REGROWTH_NUMBERS)


def regrowth_rows(runs: Sequence[Run], keys: RunKeys) -> list[RegrowthRow]:
    """Each setting and method some of whose completed runs grew weights; others have none.

    Ordered as the cost table. Dense runs make no mask update, so they never have a row.
    """
    rows = []
    for group in group_runs(runs, keys):
        for setting, label, records in group.cells():
            growths = [run_growth(record) for record in records]
            if any(g.grown for g in growths):
                rows.append(_regrowth_row(setting, label, growths))
    return rows


def _regrowth_row(setting: Setting, method: str, growths: Sequence[Growth]) -> RegrowthRow:
    return RegrowthRow(
        setting=setting,
        method=method,
        n=len(growths),
        grown_mean=statistics.mean(g.grown for g in growths),
        grown_percent_mean=_mean_known(g.percent for g in growths),
        growth_updates_mean=statistics.mean(g.updates for g in growths),
    )


def regrowth_csv_row(row: RegrowthRow) -> dict[str, Any]:
    """A row of regrowth.csv: the setting's name and fields, then the row's numbers."""
    where = row.setting.as_dict()
    return {
        "setting": row.setting.name,
        **{name: where[name] for name in SETTING_FIELDS},
        **{name: getattr(row, name) for name in _REGROWTH_NUMBERS},
    }
