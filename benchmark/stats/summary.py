"""Everything the statistics say about a set of runs, as one strict-JSON document."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchmark.stats.claims import check_claims
from benchmark.stats.dense import dense_flags, upper_bound
from benchmark.stats.paired import Comparison, compare
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
    return {
        "settings": [_setting_entry(table, s, ranks[s]) for s in table.cells],
        "average_rank": {
            m: {"rank": a.rank, "settings": a.settings} for m, a in average_ranks(ranks).items()
        },
        "friedman": _friedman_entry(test),
        "nemenyi_cd": _nemenyi_entry(test),
        "pairwise": [_comparison_entry(c) for c in comparisons],
        "dense": _dense_entry(table),
        "claims": [
            {"id": c.id, "text": c.text, "status": c.status, "evidence": dict(c.evidence)}
            for c in check_claims(table, test, comparisons, reference)
        ],
        "failures": [_run_entry(f) | {"run_id": f.run_id} for f in table.failures],
        "missing": None if table.missing is None else [_run_entry(m) for m in table.missing],
        "provenance": dict(table.provenance),
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
        "methods": {m: c.as_dict() | {"rank": ranks[m]} for m, c in cells.items()},
        "dense_mean": bound.mean if bound else None,
        "note": note,
    }


def _friedman_entry(test: Friedman) -> dict[str, Any]:
    return {
        "statistic": test.statistic,
        "pvalue": test.pvalue,
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


def _comparison_entry(c: Comparison) -> dict[str, Any]:
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
    }


def _dense_entry(table: Table) -> dict[str, Any]:
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
    }
