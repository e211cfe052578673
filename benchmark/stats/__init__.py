"""Statistics over run results: per-cell summaries, ranks, tests and the paper's claims.

Pure functions over result dicts (docs/results.md); `analyse` is the one-call entry
point a report needs (a typed `Summary`, whose `as_dict()` is summary.json, also given by
`summarise`), the rest is exposed for finer use and for tests. Imported by `reports`,
`regression` and run_all.py; it imports only `errors` (no torch, no harness), so the
statistics can be recomputed from result files anywhere.
"""

from __future__ import annotations

from benchmark.stats.aggregate import Aggregates, Estimate, Improvement, Scores, aggregate
from benchmark.stats.claims import Claim, check_claims, is_best
from benchmark.stats.contrasts import Contrast, SettingContrasts, at_least, setting_contrasts
from benchmark.stats.dense import DenseFlag, DenseTest, dense_flags, dense_tests, upper_bound
from benchmark.stats.paired import (
    Comparison,
    compare,
    differences,
    holm,
    mean_difference,
    paired_t,
    wilcoxon,
)
from benchmark.stats.power import detectable_difference, seeds_needed, t_power
from benchmark.stats.power_plan import ClaimPower, seed_plan
from benchmark.stats.ranking import (
    AverageRank,
    Friedman,
    average_ranks,
    critical_difference,
    friedman,
    iman_davenport,
    nemenyi_q,
    rank_means,
    setting_ranks,
)
from benchmark.stats.seed_ranks import RankContrast, SeedRanks, seed_ranks
from benchmark.stats.summary import Nemenyi, SettingStats, Summary, analyse, summarise
from benchmark.stats.table import (
    Cell,
    Failure,
    Missing,
    Model,
    RunKeys,
    Setting,
    Table,
    collect,
    mean_ci,
)

__all__ = [
    "Aggregates",
    "AverageRank",
    "Cell",
    "Claim",
    "ClaimPower",
    "Comparison",
    "Contrast",
    "DenseFlag",
    "DenseTest",
    "Estimate",
    "Failure",
    "Friedman",
    "Improvement",
    "Missing",
    "Model",
    "Nemenyi",
    "RankContrast",
    "RunKeys",
    "Scores",
    "SeedRanks",
    "Setting",
    "SettingContrasts",
    "SettingStats",
    "Summary",
    "Table",
    "aggregate",
    "analyse",
    "at_least",
    "average_ranks",
    "check_claims",
    "collect",
    "compare",
    "critical_difference",
    "dense_flags",
    "dense_tests",
    "detectable_difference",
    "differences",
    "friedman",
    "holm",
    "iman_davenport",
    "is_best",
    "mean_ci",
    "mean_difference",
    "nemenyi_q",
    "paired_t",
    "rank_means",
    "seed_plan",
    "seed_ranks",
    "seeds_needed",
    "setting_contrasts",
    "setting_ranks",
    "summarise",
    "t_power",
    "upper_bound",
    "wilcoxon",
]
