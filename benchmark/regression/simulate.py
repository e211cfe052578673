"""How often the regression rule raises a false alarm, and how often it sees a drop.

`python -m benchmark.regression.simulate` prints the table of docs/regression.md.

A simulated check draws a reference and a measurement now of `m` cells with `n` seeds
each, every accuracy normal with the same true sd, and judges them with `gate.judge` on
real `reference.Cell` and `Reference` objects: the figures are those of the rule as the
check applies it (a change to `judge` or to `rule` changes them). Normal noise with one
sd for every cell is the model the rule is built on: a run in another environment is a
fresh draw of its seed-to-seed noise (docs/regression.md). The accuracies of all checks
are drawn at once from one seeded numpy generator, so a figure is reproducible exactly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import numpy as np

from benchmark.regression import gate, rule
from benchmark.regression import reference as ref
from benchmark.stats.power import pooled_sd

REFERENCES = Path(__file__).resolve().parents[1] / "reference"
SHIPPED = ("regression.json", "regression_cifar10.json")
CHECKS = 10_000
NO_FLOOR = 10**15
"""`n_test` that switches the binomial floor off: its sd is about 1e-6 points."""


def normal_critical(m: int, dof: int, alpha: float = rule.ALPHA) -> float:
    """The quantile the rule used before: the normal one, ignoring that the sd is estimated."""
    return NormalDist().inv_cdf(1.0 - alpha / max(m, 1))


def simulate(
    m: int,
    n: int,
    sd: float,
    *,
    n_test: int | None = None,
    drop: float = 0.0,
    mean: float = 30.0,
    checks: int = CHECKS,
    seed: int = 0,
    critical: Callable[[int, int], float] = rule.t_critical,
) -> float:
    """The fraction of `checks` simulated checks that flag something.

    Without a `drop`, the fraction of checks that fail (any cell not ok): the family-wise
    false-alarm rate. With one, the first cell's runs now are `drop` points lower and the
    result is the fraction of checks in which that cell is REGRESSED: the power to see it
    (false alarms in the other cells are not counted). `n_test` None: no binomial floor.
    `critical` is passed on to `gate.judge` (`normal_critical` gives the old rule).
    """
    rng = np.random.default_rng(seed)
    before = rng.normal(mean, sd, size=(checks, m, n))
    now = rng.normal(mean, sd, size=(checks, m, n))
    now[:, 0, :] -= drop
    seeds = tuple(range(n))
    templates = [_template(i, seeds, n_test or NO_FLOOR) for i in range(m)]
    path = Path("simulated.json")
    flagged = 0
    for check_before, check_now in zip(_summaries(before), _summaries(now), strict=True):
        before_cells = (_cell(t, seeds, *s) for t, s in zip(templates, check_before, strict=True))
        reference = ref.Reference(path, "simulated", ref.HARNESS_VERSION, {}, tuple(before_cells))
        cells = [_cell(t, seeds, *s) for t, s in zip(templates, check_now, strict=True)]
        verdicts, _ = gate.judge(reference, cells, critical)
        if drop:
            flagged += verdicts[0].status == "REGRESSED"
        else:
            flagged += any(v.status != "ok" for v in verdicts)
    return flagged / checks


def _summaries(accuracy: np.ndarray) -> list:
    """Per check and cell: (accuracies, mean, sample sd or None), as Python floats."""
    checks, m, n = accuracy.shape
    means = accuracy.mean(axis=-1).tolist()
    sds = accuracy.std(axis=-1, ddof=1).tolist() if n > 1 else [[None] * m] * checks
    return [
        list(zip(check, check_means, check_sds, strict=True))
        for check, check_means, check_sds in zip(accuracy.tolist(), means, sds, strict=True)
    ]


def _template(i: int, seeds: tuple[int, ...], n_test: int) -> dict:
    config = {"method": f"method{i}", "seed": 0, "method_params": {}}
    return {
        "key": ref.cell_key(config),
        "setting": "simulated",
        "method": f"method{i}",
        "config": ref.cell_config(config),
        "seeds": seeds,
        "sparsity": 0.9,
        "n_test": n_test,
        "data": "simulated",
        "method_source": None,
    }


def _cell(
    template: dict, seeds: tuple[int, ...], accuracy: list[float], mean: float, std: float | None
) -> ref.Cell:
    return ref.Cell(
        **template, accuracy=dict(zip(seeds, accuracy, strict=True)), mean=mean, std=std
    )


def shipped_noise(path: Path) -> dict:
    """What a simulation needs from a reference file: its cells, seeds, sd, mean, n_test."""
    reference = ref.read(path)
    cells = reference.cells
    sd, dof = pooled_sd((c.std, c.n) for c in cells)
    return {
        "m": len(cells),
        "n": min(c.n for c in cells),
        "sd": sd,
        "dof": dof,
        "mean": statistics.fmean(c.mean for c in cells),
        "n_test": min(c.n_test for c in cells),
    }


def main(checks: int = CHECKS) -> None:
    error = math.sqrt(rule.ALPHA * (1 - rule.ALPHA) / checks)
    print(
        f"{checks} simulated checks per figure (numpy seed 0; standard error {error:.2%} "
        f"at a rate of {rule.ALPHA:.0%}), normal accuracies with the pooled sd of a shipped "
        "reference as the true sd of every cell; 'before' is the rule with the normal quantile"
    )
    rules = {"t (now)": rule.t_critical, "normal (before)": normal_critical}
    for name in SHIPPED:
        shipped = shipped_noise(REFERENCES / name)
        m, n, sd, mean = shipped["m"], shipped["n"], shipped["sd"], shipped["mean"]
        t = rule.t_critical(m, shipped["dof"])
        print(
            f"\n{name}: m = {m} cells, n = {n} seeds, pooled sd {sd:.2f} points "
            f"({shipped['dof']} df, t = {t:.3f}), mean {mean:.1f}%, n_test {shipped['n_test']}"
        )
        print(f"  {'simulated check':<42}" + "".join(f"{r:>17}" for r in rules))
        rows = []
        for cells in (m, 1):
            for floor in (shipped["n_test"], None):
                label = f"false alarms, m={cells} n={n}, " + ("floor" if floor else "no floor")
                rows.append((label, {"m": cells, "n_test": floor}))
        for drop in (2.0, 5.0, 10.0, 20.0):
            rows.append((f"power, m={m} n={n}, floor, drop {drop:g} points", {"drop": drop}))
        for label, case in rows:
            case = {"m": m, "n_test": shipped["n_test"], **case}
            figures = [
                simulate(n=n, sd=sd, mean=mean, checks=checks, critical=c, **case)
                for c in rules.values()
            ]
            print(f"  {label:<42}" + "".join(f"{f:>17.2%}" for f in figures))


if __name__ == "__main__":
    main()
