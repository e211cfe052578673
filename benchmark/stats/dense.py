"""The dense network as the upper bound of every pruned setting of the same model."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.stats.paired import differences, holm, mean_difference, t_test
from benchmark.stats.table import TIE_DECIMALS, Cell, Setting, Table


@dataclass(frozen=True)
class DenseFlag:
    """A pruned method whose mean accuracy reaches or exceeds its dense upper bound."""

    setting: Setting
    method: str
    mean: float
    dense_mean: float


@dataclass(frozen=True)
class DenseTest:
    """One-sided paired t-tests of a pruned method against its dense bound in one setting.

    Dense runs share the seed, so initial weights and data order, with the pruned runs of
    the same seed: pairing by seed removes that shared variation, as for the methods.
    """

    setting: Setting
    method: str
    n: int
    mean_diff: float | None
    """Method minus dense, in points, over the common seeds."""
    p_above: float | None
    """H1: the method's mean is above dense's."""
    p_above_holm: float | None
    """Holm over every setting of this method: 'above dense somewhere' is a union claim."""
    p_below: float | None
    """H1: below dense. 'Below in every setting' is an intersection, so each p stands
    at alpha unadjusted (intersection-union test)."""
    note: str | None


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


def dense_tests(table: Table, method: str) -> list[DenseTest]:
    """`method` against dense in every setting that has both, Holm over those settings."""
    raw = []
    for setting, cells in table.cells.items():
        bound = upper_bound(table, setting)
        if method not in cells or bound is None:
            continue
        d = differences(cells[method], bound)
        mean, _ = mean_difference(d)
        above, below, note = _one_sided(d)
        raw.append((setting, len(d), mean, above, below, note))
    adjusted = holm([above for _, _, _, above, _, _ in raw])
    return [
        DenseTest(setting, method, n, mean, above, p_holm, below, note)
        for (setting, n, mean, above, below, note), p_holm in zip(raw, adjusted, strict=True)
    ]


def _one_sided(d: list[float]) -> tuple[float | None, float | None, str | None]:
    if len(d) < 2:
        return None, None, f"n={len(d)} pairs with dense: a t-test needs at least 2"
    if max(d) == min(d):
        return None, None, f"all {len(d)} differences from dense equal ({d[0]:g})"
    return t_test(d, "greater"), t_test(d, "less"), None
