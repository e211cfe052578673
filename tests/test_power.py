"""Power of the paired t-test and the rank tests' constants, against tables and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.stats import (
    collect,
    detectable_difference,
    iman_davenport,
    seeds_needed,
    setting_contrasts,
    t_power,
)
from benchmark.stats.power import ClaimDesign, win_power
from tests.test_stats import run, runs


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


def test_win_power_matches_wins_counted_through_the_block_contrasts():
    """20,000 draws inside win_power against 2,000 simulated settings judged by
    setting_contrasts itself (4 competitors, 3 seeds, FGGP 1.2 sd ahead of each)."""
    rng = np.random.default_rng(3)
    n, competitors, level, lead = 3, 4, 0.01, 1.2
    wins = 0
    for _ in range(2000):
        y = rng.normal(0.0, 1.0, size=(competitors + 1, n)) + rng.normal(0, 2, n)  # seed effect
        y[0] += lead
        results = runs({m: list(90 + row) for m, row in zip(METHODS, y, strict=True)})
        table = collect(results)
        (setting,) = table.cells
        wins += setting_contrasts(setting, table.cells[setting], "fggp").p_win < level
    expected = win_power(lead * math.sqrt(n / 2), competitors, competitors * (n - 1), level)
    assert wins / 2000 == pytest.approx(expected, abs=3 * math.sqrt(0.25 / 2000) + 0.01)


METHODS = ("fggp", "magnitude", "gradient", "annealed_hybrid", "granet")


def test_claim_design_counts_settings_binomially():
    one = ClaimDesign(1, 1, 1, 0.05)
    assert one.probability(1.0, 1.0, 5, 4) == win_power(1.0 * math.sqrt(2.5), 4, 16, 0.05)
    most = ClaimDesign(1, 12, 7, 0.05)
    assert most.level == pytest.approx(0.05 / 6)
    p = win_power(0.5 * math.sqrt(5 / 2) / 0.15, 4, 16, 0.05 / 6)
    assert most.probability(0.5, 0.15, 5, 4) == pytest.approx(stats.binom.sf(6, 12, p))
    both = ClaimDesign(2, 3, 2, 0.05)
    single = ClaimDesign(1, 3, 2, 0.05).probability(2.0, 1.0, 4, 3)
    assert both.probability(2.0, 1.0, 4, 3) == pytest.approx(single**2)
    assert most.probability(0.5, 0.15, 1, 4) == 0.0


def test_seed_plan_states_each_claims_figures():
    from benchmark.stats import analyse, seed_plan

    # fggp - magnitude: 1, 2, 0 at 90% and 0, 1, 2 at 95%: paired sd 1 in both settings
    results = [run("fggp", 91.0 + d, s, sparsity=0.9) for s, d in enumerate((1, 2, 0))]
    results += [run("fggp", 91.0 + d, s, sparsity=0.95) for s, d in enumerate((0, 1, 2))]
    results += [
        run("magnitude", 91.0, s, sparsity=level) for s in range(3) for level in (0.9, 0.95)
    ]
    summary = analyse(results)
    one = summary.claim_powers[1]
    # two methods: the block contrast is the paired t; residual sd = paired sd / sqrt 2
    assert (one.sd, one.n, one.pooled_over) == (pytest.approx(1 / math.sqrt(2)), 3, 2)
    design = ClaimDesign(1, 2, 2, 0.05)  # 'most' of 2 settings is both
    assert design.probability(one.detectable, one.sd, 3, 1) >= 0.8
    assert design.probability(one.detectable * 0.99, one.sd, 3, 1) < 0.8
    assert design.probability(0.5, one.sd, one.seeds_for_target, 1) >= 0.8
    assert design.probability(0.5, one.sd, one.seeds_for_target - 1, 1) < 0.8
    entry = summary.as_dict()["claims"][0]["power"]
    assert entry["detectable"] == one.detectable and entry["unit"] == "points"
    # claim 4 needs VGG-19 at 95/98% from both starts: this grid has no figure for it
    four = summary.claim_powers[4]
    assert four.untestable and four.sentence().startswith("no power figure: this grid lacks")
    plan = seed_plan(summary)
    assert f"5: {one.at(5):.2f}" in plan
    assert f"0.5 points needs {one.seeds_for_target} seeds" in plan
