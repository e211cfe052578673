"""Everything the statistics say about a set of runs: one typed `Summary`.

`analyse` computes it; the report reads its fields (cells, tests, claims as the
dataclasses of this package), and `Summary.as_dict()` is its strict-JSON form, the
report's summary.json. There is no second, hand-kept dict of the same numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from benchmark.stats.aggregate import Aggregates, aggregate
from benchmark.stats.claims import FAMILY_ALPHA, Claim, check_claims
from benchmark.stats.contrasts import SettingContrasts, setting_contrasts
from benchmark.stats.dense import DenseTest, dense_flags, dense_tests, reaches, upper_bound
from benchmark.stats.paired import Comparison, compare
from benchmark.stats.power import Power
from benchmark.stats.power_plan import (
    ClaimPower,
    FamilyPower,
    claim_powers,
    comparison_power,
    dense_power,
)
from benchmark.stats.ranking import (
    ALPHA,
    AverageRank,
    Friedman,
    average_ranks,
    critical_difference,
    friedman,
    nemenyi_q,
    setting_ranks,
)
from benchmark.stats.seed_ranks import SeedRanks, seed_ranks
from benchmark.stats.table import Cell, Failure, Missing, Model, Setting, Table, collect

VERSION_FIELDS = ("torch", "torchvision", "numpy", "python", "cuda", "harness_versions")
"""Provenance fields whose values must agree for runs to be compared as equals."""


@dataclass(frozen=True)
class SettingStats:
    """One setting: its methods' cells, their ranks, and the dense bound they face."""

    setting: Setting
    cells: Mapping[str, Cell]
    ranks: Mapping[str, float]
    bound: Cell | None

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def model(self) -> Model:
        return self.setting.model

    @property
    def note(self) -> str | None:
        counts = {m: c.n for m, c in self.cells.items()}
        if len(set(counts.values())) > 1:
            return "unequal seed counts: " + ", ".join(f"{m} n={n}" for m, n in counts.items())
        return None

    def reaches_dense(self, method: str) -> bool:
        return self.bound is not None and reaches(self.cells[method].mean, self.bound)

    def is_top(self, method: str) -> bool:
        """Ranked first (ties included) among two or more methods."""
        return len(self.cells) > 1 and self.ranks[method] == min(self.ranks.values())

    def as_dict(self) -> dict[str, Any]:
        return _setting(self.setting) | {
            "methods": {
                m: c.as_dict() | {"rank": self.ranks[m], "reaches_dense": self.reaches_dense(m)}
                for m, c in self.cells.items()
            },
            "dense_mean": self.bound.mean if self.bound else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Nemenyi:
    """Demšar's CD over the Friedman blocks, and the pairs of methods further apart."""

    alpha: float
    k: int
    n_blocks: int
    cd: float | None
    pairs: tuple[tuple[str, str], ...]
    note: str | None

    @staticmethod
    def of(test: Friedman) -> Nemenyi:
        if test.k < 2 or test.n_blocks < 2:
            note = f"needs 2 methods in 2 settings (k={test.k}, n_blocks={test.n_blocks})"
            return Nemenyi(ALPHA, test.k, test.n_blocks, None, (), note)
        cd = critical_difference(test.k, test.n_blocks)
        ranks = test.average_ranks
        apart = tuple(
            (a, b)
            for a, b in itertools.combinations(test.methods, 2)
            if abs(ranks[a] - ranks[b]) > cd
        )
        rejected = test.pvalue is not None and test.pvalue < ALPHA
        note = None if rejected else "post-hoc test: Friedman did not reject, read with care"
        return Nemenyi(ALPHA, test.k, test.n_blocks, cd, apart, note)

    def as_dict(self) -> dict[str, Any]:
        if self.cd is None:
            return {"cd": None, "alpha": self.alpha, "note": self.note}
        return {
            "cd": self.cd,
            "q_alpha": nemenyi_q(self.k),
            "alpha": self.alpha,
            "k": self.k,
            "n_blocks": self.n_blocks,
            "significant_pairs": [list(pair) for pair in self.pairs],
            "note": self.note,
        }


@dataclass(frozen=True)
class Summary:
    """The statistics of one set of runs, computed once by `analyse`."""

    table: Table
    reference: str
    settings: tuple[SettingStats, ...]
    """Pruned settings in display order."""
    average_rank: Mapping[str, AverageRank]
    friedman: Friedman
    nemenyi: Nemenyi
    comparisons: tuple[Comparison, ...]
    comparison_power: FamilyPower
    contrasts: Mapping[Setting, SettingContrasts]
    """Per setting with the reference: it against each competitor, seeds as blocks."""
    seed_ranks: SeedRanks
    dense_tests: tuple[DenseTest, ...]
    dense_power: Power
    claims: tuple[Claim, ...]
    claim_powers: Mapping[int, ClaimPower]
    aggregates: Aggregates
    """Probability of improvement, mean and IQM over settings, with seed-bootstrap intervals."""

    @cached_property
    def dense_bounds(self) -> dict[str, Cell]:
        """Each model's dense cell, by the model's name."""
        return {model.name: cell for model, cell in self.table.dense.items()}

    def claim_power(self, claim: Claim) -> str:
        """The sentence that says what the grid could have detected for `claim`."""
        return self.claim_powers[claim.id].sentence()

    def version_mix(self) -> dict[str, list[str]]:
        """The version fields on which the runs disagree, with the values seen."""
        provenance = self.table.provenance
        return {f: list(provenance[f]) for f in VERSION_FIELDS if len(provenance.get(f, ())) > 1}

    def as_dict(self) -> dict[str, Any]:
        """The strict-JSON document (summary.json); docs/results.md describes its fields."""
        table = self.table
        return {
            "settings": [s.as_dict() for s in self.settings],
            "average_rank": {
                m: {"rank": a.rank, "settings": a.settings} for m, a in self.average_rank.items()
            },
            "friedman": _friedman_entry(self.friedman),
            "nemenyi_cd": self.nemenyi.as_dict(),
            "pairwise": [self._comparison_entry(c) for c in self.comparisons],
            "dense": self._dense_entry(),
            "power": {
                "comparisons": self.comparison_power.typical().as_dict(),
                "dense": self.dense_power.as_dict(),
            },
            "setting_tests": [_contrasts_entry(c) for c in self.contrasts.values()],
            "seed_ranks": _seed_ranks_entry(self.seed_ranks),
            "claims": [self._claim_entry(c) for c in self.claims],
            "family_alpha": FAMILY_ALPHA,
            "aggregates": self.aggregates.as_dict(),
            "failures": [_run_entry(f) | {"run_id": f.run_id} for f in table.failures],
            "missing": None if table.missing is None else [_run_entry(m) for m in table.missing],
            "provenance": dict(table.provenance),
        }

    def _claim_entry(self, claim: Claim) -> dict[str, Any]:
        return {
            "id": claim.id,
            "text": claim.text,
            "verdict": claim.verdict,
            "p_supported": claim.p_supported,
            "p_contradicted": claim.p_contradicted,
            "family_wise": claim.family_wise,
            "evidence": dict(claim.evidence),
            "point_reading": {"status": claim.reading.status, "summary": claim.reading.summary},
            "power": self.claim_powers[claim.id].as_dict() | {"sentence": self.claim_power(claim)},
        }

    def _comparison_entry(self, c: Comparison) -> dict[str, Any]:
        found = self.comparison_power.of(c)
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

    def _dense_entry(self) -> dict[str, Any]:
        table = self.table
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
            "settings_without_bound": [s.name for s in self.settings if s.bound is None],
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
                for t in self.dense_tests
            ],
        }


def analyse(
    results: Sequence[Mapping[str, Any]],
    expected: Iterable[Mapping[str, Any]] | None = None,
    *,
    reference: str = "fggp",
    methods: Iterable[str] | None = None,
) -> Summary:
    """The statistics of `results` (see `collect` for `expected` and `methods`).

    `reference` is the label FGGP's runs carry: "fggp" unless runs of fggp with
    different parameters made the labels spell them out, e.g. "fggp(rate=0.5)".
    """
    table = collect(results, expected, methods)
    ranks = setting_ranks(table)
    test = friedman(table)
    comparisons = compare(table, reference)
    verdicts = claims_of(table, reference, test)
    dense = dense_power(table, verdicts.dense_tests)
    return Summary(
        table=table,
        reference=reference,
        settings=tuple(
            SettingStats(s, cells, ranks[s], upper_bound(table, s))
            for s, cells in table.cells.items()
        ),
        average_rank=average_ranks(ranks),
        friedman=test,
        nemenyi=Nemenyi.of(test),
        comparisons=tuple(comparisons),
        comparison_power=comparison_power(table, comparisons),
        contrasts=verdicts.contrasts,
        seed_ranks=verdicts.seed_ranks,
        dense_tests=verdicts.dense_tests,
        dense_power=dense,
        claims=verdicts.claims,
        claim_powers=claim_powers(verdicts.claims, verdicts.contrasts, verdicts.seed_ranks, dense),
        aggregates=aggregate(table, reference),
    )


@dataclass(frozen=True)
class Verdicts:
    """The tests the claims rest on, and the claims."""

    contrasts: Mapping[Setting, SettingContrasts]
    seed_ranks: SeedRanks
    dense_tests: tuple[DenseTest, ...]
    claims: tuple[Claim, ...]


def claims_of(table: Table, reference: str, test: Friedman | None = None) -> Verdicts:
    """The claims' verdicts and their tests: what `analyse` computes for them, alone
    (the simulations of benchmark.stats.simulate judge their grids with it)."""
    contrasts = {
        s: setting_contrasts(s, cells, reference)
        for s, cells in table.cells.items()
        if reference in cells
    }
    by_seed = seed_ranks(table, reference)
    versus_dense = tuple(dense_tests(table, reference))
    ranked = friedman(table) if test is None else test
    claims = check_claims(table, contrasts, by_seed, ranked, versus_dense, reference)
    return Verdicts(contrasts, by_seed, versus_dense, tuple(claims))


def summarise(
    results: Sequence[Mapping[str, Any]],
    expected: Iterable[Mapping[str, Any]] | None = None,
    *,
    reference: str = "fggp",
    methods: Iterable[str] | None = None,
) -> dict[str, Any]:
    """`analyse(...).as_dict()`: the JSON document, for scripts that want only that."""
    return analyse(results, expected, reference=reference, methods=methods).as_dict()


def _setting(setting: Setting) -> dict[str, Any]:
    return {"name": setting.name, "model": setting.model.name, **setting.as_dict()}


def _run_entry(run: Failure | Missing) -> dict[str, Any]:
    setting = _setting(run.setting)
    return {"setting": setting, "method": run.method, "seed": run.seed, "status": run.status}


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


def _contrasts_entry(c: SettingContrasts) -> dict[str, Any]:
    return {
        "setting": _setting(c.setting),
        "reference": c.reference,
        "seeds": list(c.seeds),
        "residual_sd": c.residual_sd,
        "dof": c.dof,
        "p_win": c.p_win,
        "p_loss": c.p_loss,
        "contrasts": [
            {
                "competitor": x.competitor,
                "mean_diff": x.mean_diff,
                "p_ahead": x.p_ahead,
                "p_behind": x.p_behind,
            }
            for x in c.contrasts
        ],
        "note": c.note,
    }


def _seed_ranks_entry(r: SeedRanks) -> dict[str, Any]:
    return {
        "methods": list(r.methods),
        "settings": [s.name for s in r.settings],
        "seeds": list(r.seeds),
        "average_rank": {m: list(v) for m, v in r.average_rank.items()},
        "contrasts": [
            {
                "competitor": c.competitor,
                "lead": c.lead,
                "sd": c.sd,
                "p_ahead": c.p_ahead,
                "p_behind": c.p_behind,
            }
            for c in r.contrasts
        ],
        "note": r.note,
    }


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
