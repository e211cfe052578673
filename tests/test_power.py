"""Power of the paired t-test and the rank tests' constants, against tables and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.stats import (
    bonferroni_dunn_q,
    control_critical_difference,
    detectable_difference,
    iman_davenport,
    seeds_needed,
    t_power,
)


def test_seeds_needed_matches_the_textbook_sample_size():
    # paired t, effect size d = 0.5, two-sided alpha 0.05, power 0.8: 34 pairs (Cohen 1988;
    # G*Power gives the same), and d = 0.8 needs 15
    assert seeds_needed(0.5, 1.0, 0.05) == 34
    assert seeds_needed(0.8, 1.0, 0.05) == 15
    assert t_power(0.5, 1.0, 33, 0.05) < 0.8 <= t_power(0.5, 1.0, 34, 0.05)


def test_power_matches_a_simulated_t_test():
    """At the detectable difference, 20,000 simulated paired t-tests reject 80% of the time."""
    rng = np.random.default_rng(0)
    for n, alpha, sides in ((3, 0.05, 2), (5, 0.01, 2), (4, 0.025, 1)):
        delta = detectable_difference(1.5, n, alpha, sides=sides)
        d = rng.normal(delta, 1.5, size=(20000, n))
        alternative = "greater" if sides == 1 else "two-sided"
        p = stats.ttest_1samp(d, 0.0, axis=1, alternative=alternative).pvalue
        assert np.mean(p < alpha) == pytest.approx(0.8, abs=0.01)


def test_detectable_difference_shrinks_with_seeds_and_tends_to_the_normal_formula():
    found = [detectable_difference(1.0, n, 0.05) for n in (2, 3, 5, 10, 100)]
    assert found == sorted(found, reverse=True)
    normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(1000)
    assert detectable_difference(1.0, 1000, 0.05) == pytest.approx(normal, rel=0.01)
    assert detectable_difference(1.0, 1, 0.05) is None


def test_iman_davenport_by_hand():
    # Demšar 2006, section 3.2.2: chi2_F = 9.28 over N = 14 data sets, k = 4: F_F = 3.69
    f, p = iman_davenport(9.28, 4, 14)
    assert f == pytest.approx(13 * 9.28 / (14 * 3 - 9.28)) and f == pytest.approx(3.69, abs=0.01)
    assert p == pytest.approx(stats.f.sf(f, 3, 39))
    assert iman_davenport(14 * 3, 4, 14) == (math.inf, 0.0)  # every data set ranks alike


def test_bonferroni_dunn_q_matches_demsar_table():
    # Demšar 2006, table 5(b), alpha 0.05
    for k, q in {2: 1.960, 3: 2.241, 4: 2.394, 5: 2.498, 6: 2.576, 10: 2.773}.items():
        assert bonferroni_dunn_q(k) == pytest.approx(q, abs=1e-3)
    assert control_critical_difference(4, 14) == pytest.approx(2.394 * math.sqrt(20 / 84), abs=1e-3)


def test_seed_plan_states_the_grid_figures():
    from benchmark.stats import analyse, seed_plan
    from tests.test_stats import run

    # fggp - magnitude: 1, 2, 0 at 90% and 0, 1, 2 at 95%: sd 1 each, pooled sd 1 (4 df)
    results = [run("fggp", 91.0 + d, s, sparsity=0.9) for s, d in enumerate((1, 2, 0))]
    results += [run("fggp", 91.0 + d, s, sparsity=0.95) for s, d in enumerate((0, 1, 2))]
    results += [
        run("magnitude", 91.0, s, sparsity=level) for s in range(3) for level in (0.9, 0.95)
    ]
    summary = analyse(results)
    family = summary.as_dict()["power"]["comparisons"]
    assert (family["sd"], family["dof"], family["alpha"], family["n"]) == (1.0, 4, 0.025, 3)
    assert family["detectable"] == pytest.approx(detectable_difference(1.0, 3, 0.025))
    assert family["seeds_for_target"] == seeds_needed(0.5, 1.0, 0.025)
    plan = seed_plan(summary)
    assert f"5: {detectable_difference(1.0, 5, 0.025):.2f}" in plan
    assert f"0.5 points needs {seeds_needed(0.5, 1.0, 0.025)} seeds" in plan
    assert summary.as_dict()["pairwise"][0]["detectable"] == pytest.approx(family["detectable"])
