"""How often the regression rule raises a false alarm, and how large a drop it sees.

`python -m benchmark.regression.simulate [REFERENCE.json ...]` prints the tables of
docs/regression.md for the shipped references (or the files named).

A simulated check draws a reference and a measurement now of the reference's cells, each
cell's accuracies normal around its own mean with a true sd that the scenario sets, and
judges them with `gate.judge` on real `reference.Cell` and `Reference` objects: the
figures are those of the rule as the check applies it (a change to `judge` or to `rule`
changes them). Three scenarios of true sds, from the reference's own figures:

- `pooled sd`: every cell at the sd pooled over the reference's cells (the model the old
  rule was built on);
- `own sds`: every cell at its own sd as the reference measured it;
- `one cell 2x`: every cell at the pooled sd but the first, at twice it.

Normal noise is the model of a check in another environment: a run there is a fresh draw
of its seed-to-seed noise (docs/regression.md). The accuracies of all checks are drawn at
once from one seeded numpy generator, so a figure is reproducible exactly.

Power needs one pass per scenario, not one per drop: the allowed drop of a cell depends on
the reference alone, so lowering a cell's runs now by `drop` changes nothing but its
change, and the cell is REGRESSED exactly when allowed + change < drop. The smallest drop
seen with 80% power is therefore the 80th percentile of allowed + change over the checks;
`power` confirms it through the verdicts themselves (tests/test_regression_rule.py).
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import special

from benchmark.regression import gate, rule
from benchmark.regression import reference as ref

REFERENCES = Path(__file__).resolve().parents[1] / "reference"
SHIPPED = ("regression.json", "regression_cifar10.json")
CHECKS = 10_000
POWER = 0.8
DROP = 5.0
"""Points: the one-cell drop whose power the table prints beside the 80%-power drop."""
NO_FLOOR = 10**15
"""`n_test` that switches the binomial floor off: its sd is about 1e-6 points."""


def pooled_noise(spreads: Sequence[rule.Spread], alpha: float = rule.ALPHA) -> list[rule.Noise]:
    """The rule before: s = max(cell sd, pooled sd, floor) on the pooled sd's degrees of
    freedom, sum (n_i - 1) over the reference's cells, for every cell; the runs now are
    not read."""
    spread = [(s.sd, s.n - 1) for s in spreads if s.sd is not None and s.n >= 2]
    dof = sum(d for _, d in spread)
    pooled = math.sqrt(math.fsum(d * sd * sd for sd, d in spread) / dof)
    t = rule.t_critical(len(spreads), dof, alpha)
    return [rule.Noise(max(s.sd or 0.0, pooled, s.floor), dof, t) for s in spreads]


def trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x, by limma's Newton iteration."""
    if x > 1e7:
        return 1.0 / math.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1.0 - tri / x) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


@functools.lru_cache
def _log_bias(dof: float) -> float:
    """E[log s^2] - log sigma^2 for an sd on `dof` degrees of freedom."""
    return float(special.digamma(dof / 2)) - math.log(dof / 2)


@functools.lru_cache
def _log_variance(dof: float) -> float:
    """Var[log s^2] for an sd on `dof` degrees of freedom."""
    return float(special.polygamma(1, dof / 2))


def fit_prior(spreads: Sequence[tuple[float, int]]) -> tuple[float, float]:
    """limma's `fitFDist` over (sd, dof) pairs by moments of log s^2: (s0, d0).

    log s^2 of a cell with d degrees of freedom scatters around log sigma^2 by
    digamma(d/2) - log(d/2) on average and by trigamma(d/2) in variance; what the cells'
    log variances scatter beyond that is the spread of their true variances, whose
    degrees of freedom d0 solve trigamma(d0/2) = that excess (infinite without excess:
    one common sd).
    """
    e = [math.log(sd * sd) - _log_bias(d) for sd, d in spreads]
    mean = math.fsum(e) / len(e)
    scatter = math.fsum((x - mean) ** 2 for x in e) / (len(e) - 1)
    excess = scatter - math.fsum(_log_variance(d) for _, d in spreads) / len(e)
    if excess <= 0:
        return math.exp(mean / 2), math.inf
    d0 = 2.0 * trigamma_inverse(excess)
    return math.exp((mean + float(special.digamma(d0 / 2)) - math.log(d0 / 2)) / 2), d0


def moderated_noise(spreads: Sequence[rule.Spread], alpha: float = rule.ALPHA) -> list[rule.Noise]:
    """The moderated t of limma (Smyth 2004), measured and not chosen: each cell's sd over
    its runs then and now (d = n + n_now - 2 df) shrunk toward a prior fitted to all
    cells, s^2 = (d0 s0^2 + d sd^2) / (d0 + d), on min(d0 + d, sum d_i) df."""
    merged = [_within(s) for s in spreads]
    s0, d0 = fit_prior(merged)
    total = sum(d for _, d in merged)
    noises = []
    for (sd, d), s in zip(merged, spreads, strict=True):
        if math.isinf(d0):
            variance, dof = s0 * s0, total
        else:
            variance, dof = (d0 * s0 * s0 + d * sd * sd) / (d0 + d), min(d0 + d, total)
        noises.append(
            rule.Noise(
                max(math.sqrt(variance), s.floor), dof, rule.t_critical(len(spreads), dof, alpha)
            )
        )
    return noises


def _within(spread: rule.Spread) -> tuple[float, int]:
    """A cell's sd over its runs then and now (kept above 0 for the log), and its df."""
    parts = [(sd, n - 1) for sd, n in ((spread.sd, spread.n), (spread.sd_now, spread.n_now))]
    dof = sum(d for _, d in parts)
    return max(math.sqrt(math.fsum(d * sd * sd for sd, d in parts) / dof), 1e-6), dof


RULES = {
    "before: pooled sd": pooled_noise,
    "moderated t": moderated_noise,
    "now: own sd": rule.two_sample_noise,
}


@dataclass(frozen=True)
class TrueCell:
    """A simulated cell: the true mean and sd of one run's accuracy, and its test images."""

    mean: float
    sd: float
    n_test: int = NO_FLOOR


@dataclass(frozen=True)
class Outcome:
    """Every simulated check judged: per check and cell, the change and the allowed drop,
    and per check whether any cell was not ok (all without any drop)."""

    change: np.ndarray
    allowed: np.ndarray
    failed: np.ndarray

    @property
    def false_alarms(self) -> float:
        return float(self.failed.mean())

    def power_at(self, cell: int, drop: float) -> float:
        """The share of checks in which `cell`, `drop` points lower, is REGRESSED."""
        return float(np.mean(self.allowed[:, cell] + self.change[:, cell] < drop))

    def detectable(self, cell: int, power: float = POWER) -> float:
        """The smallest drop of `cell` alone (to 1e-9 points) that is REGRESSED in a
        `power` share of checks: a drop is REGRESSED where it exceeds allowed + change."""
        reach = np.sort(self.allowed[:, cell] + self.change[:, cell])
        return float(reach[math.ceil(power * len(reach)) - 1]) + 1e-9


def simulate(
    truth: Sequence[TrueCell],
    n: int,
    *,
    checks: int = CHECKS,
    seed: int = 0,
    noise_rule: gate.NoiseRule = rule.two_sample_noise,
    drop: tuple[int, float] | None = None,
) -> Outcome:
    """`checks` simulated checks of cells `truth` with `n` seeds each, through `gate.judge`.

    `drop` (cell, points) lowers that cell's runs now; then `failed` counts checks in
    which that cell is REGRESSED (the power to see it), else any cell not ok.
    """
    rng = np.random.default_rng(seed)
    means = np.array([c.mean for c in truth])[:, None]
    sds = np.array([c.sd for c in truth])[:, None]
    before = rng.normal(means, sds, size=(checks, len(truth), n))
    now = rng.normal(means, sds, size=(checks, len(truth), n))
    if drop is not None:
        now[:, drop[0], :] -= drop[1]
    seeds = tuple(range(n))
    templates = [_template(i, seeds, cell.n_test) for i, cell in enumerate(truth)]
    path = Path("simulated.json")
    change = np.empty((checks, len(truth)))
    allowed = np.empty((checks, len(truth)))
    failed = np.empty(checks, dtype=bool)
    for i, (check_before, check_now) in enumerate(
        zip(_summaries(before), _summaries(now), strict=True)
    ):
        cells = tuple(_cell(t, seeds, *s) for t, s in zip(templates, check_before, strict=True))
        reference = ref.Reference(path, "simulated", ref.HARNESS_VERSION, {}, cells)
        measured = [_cell(t, seeds, *s) for t, s in zip(templates, check_now, strict=True)]
        verdicts = gate.judge(reference, measured, noise_rule)
        change[i] = [v.change for v in verdicts]
        allowed[i] = [v.allowed for v in verdicts]
        if drop is not None:
            failed[i] = verdicts[drop[0]].status == "REGRESSED"
        else:
            failed[i] = any(v.status != "ok" for v in verdicts)
    return Outcome(change, allowed, failed)


def power(truth: Sequence[TrueCell], n: int, cell: int, drop: float, **options) -> float:
    """The share of checks in which `cell`, `drop` points lower now, is REGRESSED."""
    return simulate(truth, n, drop=(cell, drop), **options).false_alarms


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


@dataclass(frozen=True)
class Shipped:
    """What a simulation needs from a reference file."""

    methods: tuple[str, ...]
    cells: tuple[TrueCell, ...]
    """Each cell's mean, its own sd as measured, and its test images."""
    n: int
    pooled: float

    def scenarios(self) -> dict[str, tuple[TrueCell, ...]]:
        pooled = tuple(replace(c, sd=self.pooled) for c in self.cells)
        return {
            "pooled sd": pooled,
            "own sds": self.cells,
            "one cell 2x": (replace(pooled[0], sd=2 * self.pooled), *pooled[1:]),
        }


def shipped(path: Path) -> Shipped:
    reference = ref.read(path)
    cells = reference.cells
    dof = sum(c.n - 1 for c in cells)
    pooled = math.sqrt(math.fsum((c.n - 1) * c.std**2 for c in cells) / dof)
    return Shipped(
        methods=tuple(c.method for c in cells),
        cells=tuple(TrueCell(c.mean, c.std, c.n_test) for c in cells),
        n=min(c.n for c in cells),
        pooled=pooled,
    )


def report(path: Path, checks: int = CHECKS) -> str:
    """The table of one reference: per scenario and rule, the false-alarm rate, the power
    to see a drop of `DROP` points in one cell (the first cell's, and the least over the
    cells), and the smallest one-cell drop seen with 80% power (median and most)."""
    data = shipped(path)
    lines = [
        f"{path.name}: {len(data.cells)} cells of {data.n} seeds, pooled sd "
        f"{data.pooled:.2f} points; own sds "
        + ", ".join(f"{m} {c.sd:.2f}" for m, c in zip(data.methods, data.cells, strict=True)),
        f"  {'scenario':<14}{'rule':<19}{'false alarms':>13}{f'power {DROP:g} pts':>16}"
        f"  80%-power drop (points): median, most; {', '.join(data.methods)}",
    ]
    for scenario, truth in data.scenarios().items():
        for name, noise_rule in RULES.items():
            outcome = simulate(truth, data.n, checks=checks, noise_rule=noise_rule)
            drops = [outcome.detectable(i) for i in range(len(truth))]
            powers = [outcome.power_at(i, DROP) for i in range(len(truth))]
            lines.append(
                f"  {scenario:<14}{name:<19}{outcome.false_alarms:>13.2%}"
                f"{f'{powers[0]:.0%} (>={min(powers):.0%})':>16}  "
                f"{statistics.median(drops):5.2f}, {max(drops):5.2f}; "
                + " ".join(f"{d:.2f}" for d in drops)
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("references", nargs="*", type=Path, help="reference files (the shipped)")
    parser.add_argument("--checks", type=int, default=CHECKS)
    args = parser.parse_args(argv)
    error = math.sqrt(rule.ALPHA * (1 - rule.ALPHA) / args.checks)
    print(
        f"{args.checks} simulated checks per figure (numpy seed 0; standard error "
        f"{error:.2%} at a false-alarm rate of {rule.ALPHA:.0%}), through gate.judge"
    )
    for path in args.references or [REFERENCES / name for name in SHIPPED]:
        print("\n" + report(path, args.checks))


if __name__ == "__main__":
    main()
