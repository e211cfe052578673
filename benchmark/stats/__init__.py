"""Statistics over run results: per-cell summaries, ranks, tests and the paper's claims.

Pure functions over result dicts (docs/results.md); `summarise` is the one-call entry
point a report needs, the rest is exposed for finer use and for tests.
"""

from __future__ import annotations

from benchmark.stats.claims import Claim, check_claims, is_best
from benchmark.stats.dense import DenseFlag, dense_flags, upper_bound
from benchmark.stats.paired import (
    Comparison,
    compare,
    differences,
    holm,
    mean_difference,
    paired_t,
    wilcoxon,
)
from benchmark.stats.ranking import (
    AverageRank,
    Friedman,
    average_ranks,
    critical_difference,
    friedman,
    nemenyi_q,
    rank_means,
    setting_ranks,
)
from benchmark.stats.summary import summarise
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
    "AverageRank",
    "Cell",
    "Claim",
    "Comparison",
    "DenseFlag",
    "Failure",
    "Friedman",
    "Missing",
    "Model",
    "RunKeys",
    "Setting",
    "Table",
    "average_ranks",
    "check_claims",
    "collect",
    "compare",
    "critical_difference",
    "dense_flags",
    "differences",
    "friedman",
    "holm",
    "is_best",
    "mean_ci",
    "mean_difference",
    "nemenyi_q",
    "paired_t",
    "rank_means",
    "setting_ranks",
    "summarise",
    "upper_bound",
    "wilcoxon",
]
