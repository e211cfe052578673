"""The dense network as the upper bound of every pruned setting of the same model."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.stats.table import TIE_DECIMALS, Cell, Setting, Table


@dataclass(frozen=True)
class DenseFlag:
    """A pruned method whose mean accuracy reaches or exceeds its dense upper bound."""

    setting: Setting
    method: str
    mean: float
    dense_mean: float


def upper_bound(table: Table, setting: Setting) -> Cell | None:
    return table.dense.get(setting.model)


def reaches(mean: float, bound: Cell) -> bool:
    return round(mean - bound.mean, TIE_DECIMALS) >= 0


def dense_flags(table: Table) -> list[DenseFlag]:
    return [
        DenseFlag(setting, method, cell.mean, bound.mean)
        for setting, cells in table.cells.items()
        if (bound := upper_bound(table, setting)) is not None
        for method, cell in cells.items()
        if reaches(cell.mean, bound)
    ]
