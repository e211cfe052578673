"""How often each claim's verdict is wrong, and how often it is reached, on simulated grids.

`python -m benchmark.stats.simulate` prints the tables of docs/results.md.

A simulated grid is the paper's: VGG-19 and ResNet-50, dense and 50%-sparse starts,
90/95/98% target sparsity (12 settings), FGGP and the four competitors of the `paper`
preset, and the dense bound per architecture. A run's accuracy is

    true mean of (method, setting) + seed effect (arch, seed) + persistent (arch, method, seed)
    + run noise

where the seed effect is shared by every method of the architecture (the same initial
weights and data order), and the persistent method x seed effect is one method's luck
with one seed, the same in all six settings of the architecture: the dependence that
makes settings no independent blocks. The records are judged by `claims_of`, the code
`benchmark.stats.analyse` runs, from result dicts through `collect`. Grids are drawn
from one seeded numpy generator per scenario, so every figure is reproducible exactly.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.stats.claims import CONTRADICTED, FAMILY_ALPHA, SUPPORTED, TEXTS
from benchmark.stats.summary import claims_of
from benchmark.stats.table import collect

ARCHS = ("vgg19", "resnet50")
INITS = (1.0, 0.5)
LEVELS = (0.90, 0.95, 0.98)
SETTINGS = tuple((a, i, s) for a in ARCHS for i in INITS for s in LEVELS)
COMPETITORS = ("magnitude", "gradient", "annealed_hybrid", "granet")
HIGH_SPARSITY = tuple(x for x in SETTINGS if x[2] >= 0.95)
"""Where FGGP leads in the power scenarios: 8 of the 12 settings (95 and 98%)."""
BASE = 90.0
SEED_SD = 1.0
GRIDS = 2000


@dataclass(frozen=True)
class Scenario:
    name: str
    seeds: int
    run_sd: float
    persistent_sd: float = 0.0
    lead: float = 0.0
    """FGGP's true lead over every competitor where it leads (points)."""
    leads_in: tuple[tuple[str, float, float], ...] = ()
    dense_offset: float = 0.0
    """Dense's true mean minus the competitors' (points)."""
    noisy_competitor: float = 1.0
    """Run sd multiplier of the first competitor (1: all alike)."""


def records(scenario: Scenario, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One simulated grid's result dicts."""
    n = scenario.seeds
    methods = ("fggp", *COMPETITORS)
    out = []
    for arch in ARCHS:
        seed_effect = rng.normal(0.0, SEED_SD, n)
        persistent = {m: rng.normal(0.0, scenario.persistent_sd, n) for m in (*methods, "dense")}
        for init, sparsity in ((i, s) for a, i, s in SETTINGS if a == arch):
            leads = (arch, init, sparsity) in scenario.leads_in
            for method in methods:
                mean = BASE + (scenario.lead if method == "fggp" and leads else 0.0)
                sd = scenario.run_sd * (
                    scenario.noisy_competitor if method == COMPETITORS[0] else 1.0
                )
                acc = mean + seed_effect + persistent[method] + rng.normal(0.0, sd, n)
                out += [
                    record(method, float(a), s, arch=arch, init=init, sparsity=sparsity)
                    for s, a in enumerate(acc)
                ]
        dense = BASE + scenario.dense_offset + seed_effect + persistent["dense"]
        dense = dense + rng.normal(0.0, scenario.run_sd, n)
        out += [record("dense", float(a), s, arch=arch, sparsity=0.0) for s, a in enumerate(dense)]
    return out


def record(
    method: str = "fggp",
    acc: float | None = 90.0,
    seed: int = 0,
    *,
    arch: str = "vgg19",
    init: float = 1.0,
    sparsity: float = 0.95,
    params: dict[str, Any] | None = None,
    status: str = "completed",
    **config: Any,
) -> dict[str, Any]:
    """A result dict with only the fields the statistics read (a dense run's target
    sparsity is 0 whatever `sparsity` says; `config` overrides any configuration field)."""
    config = {
        "dataset": "cifar10",
        "arch": arch,
        "width": 1.0,
        "epochs": 160,
        "init_density": init,
        "target_sparsity": 0.0 if method == "dense" else sparsity,
        "method": method,
        "method_params": params if params is not None else {},
        "seed": seed,
    } | config
    return {
        "run_id": f"{method}-{arch}-{init}-{sparsity}-{seed}",
        "status": status,
        "config": config,
        "final": {"test_acc": acc},
        "data": {"num_classes": 10},
    }


@dataclass(frozen=True)
class Rates:
    grids: int
    supported: dict[int, float]
    contradicted: dict[int, float]
    any_decided: float
    """Share of grids in which some claim was decided (at each claim's own level)."""
    any_decided_family: float
    """The same with the verdicts that stand at the family-wise level (ALPHA / 5)."""


def rates(scenario: Scenario, grids: int = GRIDS, seed: int = 0) -> Rates:
    rng = np.random.default_rng(seed)
    supported: Counter = Counter()
    contradicted: Counter = Counter()
    any_decided = any_family = 0
    for _ in range(grids):
        claims = claims_of(collect(records(scenario, rng)), "fggp").claims
        supported.update(c.id for c in claims if c.verdict == SUPPORTED)
        contradicted.update(c.id for c in claims if c.verdict == CONTRADICTED)
        any_decided += any(c.verdict in (SUPPORTED, CONTRADICTED) for c in claims)
        any_family += any(c.family_wise for c in claims)
    return Rates(
        grids,
        {i: supported[i] / grids for i in TEXTS},
        {i: contradicted[i] / grids for i in TEXTS},
        any_decided / grids,
        any_family / grids,
    )


def null_scenarios() -> list[Scenario]:
    return [
        Scenario(f"null, {n} seeds, persistent sd {p:g}", n, 1.5, p)
        for n in (2, 3, 5)
        for p in (0.0, 0.75, 1.5)
    ]


def power_scenarios() -> list[Scenario]:
    return [
        Scenario(
            "paper scale: sd 0.15, lead 0.5 in 8 of 12, 5 seeds", 5, 0.15, 0.0, 0.5, HIGH_SPARSITY
        ),
        Scenario("sd 1.5, lead 2 in 8 of 12, 5 seeds", 5, 1.5, 0.0, 2.0, HIGH_SPARSITY),
        Scenario(
            "sd 1.5, lead 2 in 8 of 12, 5 seeds, persistent 0.75", 5, 1.5, 0.75, 2.0, HIGH_SPARSITY
        ),
    ]


def robustness_scenarios() -> list[Scenario]:
    """Assumptions bent: one competitor twice as noisy (the blocks' pooled sd assumes
    alike spreads), with all equal, and with FGGP ahead of all but that one."""
    return [
        Scenario("null, 5 seeds, magnitude 2x noisier", 5, 1.5, 0.0, noisy_competitor=2.0),
        Scenario("null, 3 seeds, magnitude 2x noisier", 3, 1.5, 0.0, noisy_competitor=2.0),
    ]


def table(scenarios: Iterable[Scenario], grids: int) -> list[str]:
    header = "  ".join(f"{'c' + str(i) + ' sup/con':>13}" for i in TEXTS)
    lines = [f"{'scenario':<56}{header}  {'any':>6}  {'any fw':>6}"]
    for scenario in scenarios:
        r = rates(scenario, grids)
        cells = "  ".join(f"{r.supported[i]:>6.1%}/{r.contradicted[i]:<6.1%}" for i in TEXTS)
        lines.append(
            f"{scenario.name:<56}{cells}  {r.any_decided:>6.1%}  {r.any_decided_family:>6.1%}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=GRIDS, help="simulated grids per scenario")
    grids = parser.parse_args(argv).grids
    error = math.sqrt(0.05 * 0.95 / grids)
    print(
        f"{grids} simulated grids per scenario (numpy seed 0; Monte-Carlo sd {error:.2%} at a"
        f" rate of 5%); 12 settings, fggp + {len(COMPETITORS)} competitors + dense, seed effect"
        f" sd {SEED_SD:g} shared by the methods; 'sup/con': the share of grids in which the"
        f" claim was supported / contradicted; 'any': some claim decided; 'any fw': some claim"
        f" decided at the family-wise level {FAMILY_ALPHA:g}"
    )
    for title, scenarios in (
        ("all methods equal (every decision is wrong)", null_scenarios()),
        ("FGGP truly ahead (claims 1, 3, 4, 5 true; 2 true)", power_scenarios()),
        ("assumptions bent", robustness_scenarios()),
    ):
        print(f"\n{title}")
        print("\n".join(table(scenarios, grids)))


if __name__ == "__main__":
    main()
