"""Everything the statistics say about a set of runs, as one strict-JSON document."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchmark.stats.claims import Claim, check_claims
from benchmark.stats.dense import DenseTest, dense_flags, dense_tests, reaches, upper_bound
from benchmark.stats.paired import Comparison, compare
from benchmark.stats.power import Power
from benchmark.stats.power_plan import FamilyPower, comparison_power, dense_power, rank_power
from benchmark.stats.ranking import (
    ALPHA,
    Friedman,
    average_ranks,
    critical_difference,
    friedman,
    nemenyi_q,
    setting_ranks,
)
from benchmark.stats.table import Failure, Missing, Setting, Table, collect


def summarise(
    results: Sequence[Mapping[str, Any]],
    expected: Iterable[Mapping[str, Any]] | None = None,
    *,
    reference: str = "fggp",
    methods: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The statistics of `results` (see `collect` for `expected` and `methods`).

    `reference` is the label FGGP's runs carry: "fggp" unless runs of fggp with
    different parameters made the labels spell them out, e.g. "fggp(rate=0.5)".
    """
    table = collect(results, expected, methods)
    ranks = setting_ranks(table)
    test = friedman(table)
    comparisons = compare(table, reference)
    versus_dense = dense_tests(table, reference)
    claims = check_claims(table, test, comparisons, versus_dense, reference)
    power = comparison_power(table, comparisons)
    dense_family = dense_power(table, versus_dense)
    rank_family = rank_power(test)
    return {
        "settings": [_setting_entry(table, s, ranks[s]) for s in table.cells],
        "average_rank": {
            m: {"rank": a.rank, "settings": a.settings} for m, a in average_ranks(ranks).items()
        },
        "friedman": _friedman_entry(test),
        "nemenyi_cd": _nemenyi_entry(test),
        "pairwise": [_comparison_entry(c, power) for c in comparisons],
        "dense": _dense_entry(table, versus_dense),
        "power": {
            "comparisons": power.typical().as_dict(),
            "dense": dense_family.as_dict(),
            "ranks": dict(rank_family),
        },
        "claims": [_claim_entry(c, power.typical(), dense_family, rank_family) for c in claims],
        "failures": [_run_entry(f) | {"run_id": f.run_id} for f in table.failures],
        "missing": None if table.missing is None else [_run_entry(m) for m in table.missing],
        "provenance": dict(table.provenance),
    }


def _claim_entry(
    claim: Claim, comparisons: Power, dense: Power, ranks: Mapping[str, Any]
) -> dict[str, Any]:
    """A claim with the sentence that says what the grid could have detected for it."""
    if claim.id == 2:
        power = ranks["sentence"]
    elif claim.id == 3:
        power = dense.sentence()
    else:
        power = "a win needs a lead over every competitor: " + comparisons.sentence()
    return {
        "id": claim.id,
        "text": claim.text,
        "verdict": claim.verdict,
        "evidence": dict(claim.evidence),
        "point_reading": {"status": claim.reading.status, "summary": claim.reading.summary},
        "power": power,
    }


def _setting(setting: Setting) -> dict[str, Any]:
    return {"name": setting.name, "model": setting.model.name, **setting.as_dict()}


def _run_entry(run: Failure | Missing) -> dict[str, Any]:
    setting = _setting(run.setting)
    return {"setting": setting, "method": run.method, "seed": run.seed, "status": run.status}


def _setting_entry(table: Table, setting: Setting, ranks: Mapping[str, float]) -> dict[str, Any]:
    cells = table.cells[setting]
    bound = upper_bound(table, setting)
    counts = {m: c.n for m, c in cells.items()}
    note = None
    if len(set(counts.values())) > 1:
        note = "unequal seed counts: " + ", ".join(f"{m} n={n}" for m, n in counts.items())
    return _setting(setting) | {
        "methods": {
            m: c.as_dict()
            | {"rank": ranks[m], "reaches_dense": bound is not None and reaches(c.mean, bound)}
            for m, c in cells.items()
        },
        "dense_mean": bound.mean if bound else None,
        "note": note,
    }


def _friedman_entry(test: Friedman) -> dict[str, Any]:
    return {
        "statistic": test.statistic,
        "pvalue": test.pvalue,
        # strict JSON has no infinity: F is infinite when every setting ranks alike (p = 0)
        "iman_davenport": _finite(test.iman_davenport),
        "iman_davenport_p": test.iman_davenport_p,
        "n_blocks": test.n_blocks,
        "k": test.k,
        "methods": list(test.methods),
        "blocks": [s.name for s in test.blocks],
        "average_ranks": dict(test.average_ranks),
        "note": test.note,
    }


def _nemenyi_entry(test: Friedman) -> dict[str, Any]:
    """Demšar's CD over the Friedman blocks, and the pairs of methods further apart."""
    if test.k < 2 or test.n_blocks < 2:
        note = f"needs 2 methods in 2 settings (k={test.k}, n_blocks={test.n_blocks})"
        return {"cd": None, "alpha": ALPHA, "note": note}
    cd = critical_difference(test.k, test.n_blocks)
    ranks = test.average_ranks
    apart = [
        [a, b] for a, b in itertools.combinations(test.methods, 2) if abs(ranks[a] - ranks[b]) > cd
    ]
    rejected = test.pvalue is not None and test.pvalue < ALPHA
    return {
        "cd": cd,
        "q_alpha": nemenyi_q(test.k),
        "alpha": ALPHA,
        "k": test.k,
        "n_blocks": test.n_blocks,
        "significant_pairs": apart,
        "note": None if rejected else "post-hoc test: Friedman did not reject, read with care",
    }


def _comparison_entry(c: Comparison, power: FamilyPower) -> dict[str, Any]:
    found = power.of(c)
    return {
        "setting": _setting(c.setting),
        "a": c.a,
        "b": c.b,
        "test": c.test,
        "n": c.n,
        "p": c.p,
        "p_holm": c.p_holm,
        "mean_diff": c.mean_diff,
        "ci95": list(c.ci95) if c.ci95 else None,
        "note": c.note,
        "detectable": found.detectable,
        "seeds_for_target": found.seeds_for_target,
    }


def _dense_entry(table: Table, tests: list[DenseTest]) -> dict[str, Any]:
    return {
        "bounds": [
            {"name": model.name, **model.as_dict(), **cell.as_dict()}
            for model, cell in table.dense.items()
        ],
        "flags": [
            {
                "setting": _setting(f.setting),
                "method": f.method,
                "mean": f.mean,
                "dense_mean": f.dense_mean,
            }
            for f in dense_flags(table)
        ],
        "settings_without_bound": [s.name for s in table.cells if upper_bound(table, s) is None],
        "tests": [
            {
                "setting": _setting(t.setting),
                "method": t.method,
                "n": t.n,
                "mean_diff": t.mean_diff,
                "p_above": t.p_above,
                "p_above_holm": t.p_above_holm,
                "p_below": t.p_below,
                "note": t.note,
            }
            for t in tests
        ],
    }


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
