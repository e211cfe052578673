"""Aggregates over settings (probability of improvement, IQM) and their joint seed bootstrap."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy import stats

from benchmark.stats.aggregate import (
    aggregate,
    improvement,
    iqm,
    mean_over_settings,
    paired_improvement,
    seed_counts,
)
from benchmark.stats.table import Table, collect


def result(method: str, acc: float, seed: int, arch: str, sparsity: float) -> dict[str, Any]:
    """A result dict with only the fields `collect` reads."""
    config = {
        "dataset": "cifar10",
        "arch": arch,
        "width": 1.0,
        "epochs": 160,
        "init_density": 1.0,
        "target_sparsity": sparsity,
        "method": method,
        "method_params": {},
        "seed": seed,
    }
    return {"status": "completed", "config": config, "final": {"test_acc": acc}}


def grid(settings: dict[float, dict[str, list[float | None]]], arch: str = "vgg19") -> Table:
    """Settings by target sparsity; per method its accuracies by seed, None: no run."""
    return collect(
        [
            result(method, acc, seed, arch, sparsity)
            for sparsity, methods in settings.items()
            for method, accuracies in methods.items()
            for seed, acc in enumerate(accuracies)
            if acc is not None
        ]
    )


def strict_json(value: dict[str, Any]) -> None:
    json.dumps(value, allow_nan=False)


HAND = {
    0.9: {"fggp": [90.0, 92.0], "magnitude": [91.0, 91.0]},
    0.95: {"fggp": [80.0, 85.0], "magnitude": [80.0, 70.0]},
}
"""All pairs: 2 of 4 wins at 0.9; a tie and 3 wins of 4 at 0.95. Same-seed pairs: 1 of 2
at 0.9; a tie and a win at 0.95."""


# --- point estimates ------------------------------------------------------------------


def test_probability_of_improvement_by_hand():
    (versus,) = aggregate(grid(HAND), resamples=0).improvements
    assert versus.competitor == "magnitude" and len(versus.settings) == 2
    assert versus.unpaired.value == pytest.approx((2 / 4 + 3.5 / 4) / 2)
    assert versus.paired.value == pytest.approx((1 / 2 + 1.5 / 2) / 2)
    assert versus.competitor in versus.sentence("fggp")


def test_mean_and_iqm_by_hand():
    table = grid({0.9: {"fggp": [0.0, 10.0, 11.0, 12.0]}, 0.95: {"fggp": [13.0, 14, 15, 100]}})
    (scores,) = aggregate(table, resamples=0).scores
    assert scores.mean.value == pytest.approx((33 / 4 + 142 / 4) / 2)
    assert scores.iqm.value == pytest.approx((11 + 12 + 13 + 14) / 4)  # 2 cut from either end


def test_u_statistic_matches_scipy_with_ties_and_unequal_runs():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, size=(6, 5)).astype(float)  # few values: many ties
    b = rng.integers(0, 4, size=(6, 5)).astype(float)
    a[0, 3:] = np.nan
    b[2, :1] = np.nan
    expected = [
        stats.mannwhitneyu(x[np.isfinite(x)], y[np.isfinite(y)]).statistic
        / (np.isfinite(x).sum() * np.isfinite(y).sum())
        for x, y in zip(a, b, strict=True)
    ]
    assert improvement(a, b, np.ones((1, 5)))[0] == pytest.approx(np.mean(expected))


def test_a_seed_drawn_c_times_counts_as_c_runs():
    """Weighting a seed's runs by its count is computing the statistic on the resampled
    runs, as rliable does on its resampled arrays."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 4, 5))
    for counts in seed_counts(5, 20, seed=3):
        drawn = np.repeat(np.arange(5), counts)
        u = [
            stats.mannwhitneyu(x[drawn], y[drawn]).statistic / 25 for x, y in zip(a, b, strict=True)
        ]
        assert improvement(a, b, counts[None])[0] == pytest.approx(np.mean(u))
        paired = np.mean((a[:, drawn] > b[:, drawn]).mean(axis=1))
        assert paired_improvement(a, b, counts[None])[0] == pytest.approx(paired)
        assert iqm(a, counts[None])[0] == pytest.approx(stats.trim_mean(a[:, drawn], 0.25, None))
        mean = np.mean(a[:, drawn].mean(axis=1))
        assert mean_over_settings(a, counts[None])[0] == pytest.approx(mean)


def test_iqm_ignores_missing_runs():
    x = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 50.0]])
    assert iqm(x, np.ones((1, 3)))[0] == pytest.approx(stats.trim_mean([1, 2, 3, 4, 50], 0.25))


def test_ties_count_half_and_identical_methods_are_even():
    same = [90.0, 91.0, 92.0]
    nudged = [v + 1e-12 for v in same]  # below the table's tie resolution
    (versus,) = aggregate(grid({0.9: {"fggp": same, "magnitude": nudged}})).improvements
    assert versus.paired.value == 0.5 and versus.unpaired.value == 0.5


# --- the bootstrap --------------------------------------------------------------------


def test_seed_counts_are_draws_of_all_seeds_with_the_point_estimate_first():
    counts = seed_counts(5, 2000, seed=0)
    assert counts.shape == (2001, 5) and (counts[0] == 1).all()
    assert (counts.sum(axis=1) == 5).all()
    assert np.array_equal(counts, seed_counts(5, 2000, seed=0))
    assert not np.array_equal(counts, seed_counts(5, 2000, seed=1))
    assert counts[1:].mean() == pytest.approx(1.0, abs=0.03)


def test_seed_luck_shared_by_settings_widens_the_joint_interval():
    """FGGP's luck with each seed is the same in all six settings: resampled jointly, the
    settings move together and the interval is as wide as one setting's; resampling each
    setting's seeds independently averages the luck away and overstates the precision."""
    luck = np.array([-2.0, -1.0, 1.0, 2.0, 3.0])
    runs = {s: {"fggp": list(90 + luck), "magnitude": [90.0] * 5} for s in (0.5, 0.6, 0.7)}
    table = collect(
        [
            result(method, acc, seed, arch, sparsity)
            for arch in ("vgg19", "resnet50")
            for sparsity, methods in runs.items()
            for method, accuracies in methods.items()
            for seed, acc in enumerate(accuracies)
        ]
    )
    (versus,) = aggregate(table).improvements
    assert versus.paired.value == pytest.approx(0.6)
    fggp, magnitude = np.tile(90 + luck, (6, 1)), np.full((6, 5), 90.0)
    per_setting = np.stack(
        [
            paired_improvement(fggp[k : k + 1], magnitude[k : k + 1], seed_counts(5, 2000, k))
            for k in range(6)
        ]
    )
    independent = np.quantile(per_setting.mean(axis=0)[1:], [0.025, 0.975])
    low, high = versus.paired.ci95
    assert high - low > 2 * (independent[1] - independent[0])


def simulated(rng: np.random.Generator, seeds: int) -> Table:
    """Three equal methods on two architectures × three settings: a seed effect shared by
    the methods of an architecture, a method's own luck with a seed carried through its
    settings, and run noise (sd 1, 0.75 and 1.5 points, as in benchmark.stats.simulate)."""
    results = []
    for arch in ("vgg19", "resnet50"):
        shared = rng.normal(0.0, 1.0, seeds)
        luck = rng.normal(0.0, 0.75, (3, seeds))
        for sparsity in (0.9, 0.95, 0.98):
            acc = 90 + shared + luck + rng.normal(0.0, 1.5, (3, seeds))
            results += [
                result(method, float(acc[j, s]), s, arch, sparsity)
                for j, method in enumerate(("fggp", "magnitude", "granet"))
                for s in range(seeds)
            ]
    return collect(results)


def test_intervals_cover_an_even_probability_as_often_as_simulated():
    """200 grids of equal methods (P = 0.5) and 5 seeds, 500 resamples each: the paired
    interval of FGGP against one competitor covered 0.5 in 171 of them (86%), not 95%, as
    the note on fewer than 10 seeds says; the mean's interval its true 90 in 172 (86%)."""
    rng = np.random.default_rng(0)
    paired = mean = 0
    for g in range(200):
        agg = aggregate(simulated(rng, 5), resamples=500, seed=g)
        low, high = agg.improvements[0].paired.ci95
        paired += low <= 0.5 <= high
        low, high = agg.scores[0].mean.ci95
        mean += low <= 90 <= high
    assert agg.improvements[0].paired.note is not None
    assert 0.8 <= paired / 200 <= 0.92 and 0.8 <= mean / 200 <= 0.92


def test_deterministic_and_resamples_zero_keeps_the_estimates():
    table = simulated(np.random.default_rng(4), 5)
    first, again = aggregate(table, seed=7), aggregate(table, seed=7)
    assert first.as_dict() == again.as_dict()
    other = aggregate(table, seed=8)
    assert other.scores[0].mean.value == first.scores[0].mean.value
    assert other.scores[0].mean.ci95 != first.scores[0].mean.ci95
    bare = aggregate(table, resamples=0)
    assert bare.improvements[0].paired.value == first.improvements[0].paired.value
    assert bare.improvements[0].paired.ci95 is None and "resamples=0" in bare.note
    with pytest.raises(ValueError):
        aggregate(table, resamples=-1)


# --- edge cases -----------------------------------------------------------------------


def test_few_seeds_are_said_and_too_few_get_no_interval():
    two = aggregate(grid({0.9: {"fggp": [90.0, 91.0], "magnitude": [89.0, 90.5]}}))
    (versus,) = two.improvements
    assert versus.paired.ci95 is None and "3 distinct resample" in versus.paired.note
    assert two.scores[0].mean.ci95 is None
    three = aggregate(grid({0.9: {"fggp": [90.0, 91.0, 93], "magnitude": [89.0, 90.5, 92]}}))
    assert three.improvements[0].paired.ci95 is not None
    assert "10 distinct resamples" in three.improvements[0].paired.note
    strict_json(two.as_dict())


def test_one_seed_gives_values_without_intervals():
    agg = aggregate(grid({0.9: {"fggp": [91.0], "magnitude": [90.0]}}))
    (versus,) = agg.improvements
    assert versus.paired.value == 1.0 and versus.unpaired.value == 1.0
    assert versus.paired.ci95 is None and versus.paired.seeds == 1
    assert "no interval" in versus.sentence("fggp")
    strict_json(agg.as_dict())


def test_competitor_without_common_settings():
    agg = aggregate(grid({0.9: {"fggp": [90.0, 91.0, 92.0]}, 0.95: {"magnitude": [1.0, 2, 3]}}))
    (versus,) = agg.improvements
    assert versus.settings == () and versus.paired.value is None and versus.unpaired.ci95 is None
    assert "no setting where both have runs" in versus.sentence("fggp")
    assert agg.settings == () and all(s.mean.value is None for s in agg.scores)
    strict_json(agg.as_dict())


def test_scores_are_over_the_settings_every_method_has():
    settings = dict(HAND) | {0.98: {"fggp": [10.0, 10.0]}}
    agg = aggregate(grid(settings), resamples=0)
    assert [s.target_sparsity for s in agg.settings] == [0.9, 0.95]
    fggp = next(s for s in agg.scores if s.method == "fggp")
    assert fggp.mean.value == pytest.approx((91 + 82.5) / 2)
    assert len(agg.improvements[0].settings) == 2


def test_a_missing_seed_leaves_the_others_paired():
    table = grid({0.9: {"fggp": [90.0, None, 92.0, 93.0], "magnitude": [91.0, 89, 91, 94]}})
    agg = aggregate(table)
    (versus,) = agg.improvements
    assert versus.paired.value == pytest.approx(1 / 3) and versus.paired.seeds == 3
    assert versus.unpaired.value == pytest.approx(7 / 12) and versus.unpaired.seeds == 3
    assert agg.seeds == (0, 1, 2, 3) and versus.paired.ci95 is not None
    strict_json(agg.as_dict())


def test_without_the_reference_there_is_nothing_to_improve_on():
    agg = aggregate(grid({0.9: {"magnitude": [90.0, 91.0, 92.0]}}))
    assert agg.improvements == () and "no runs of fggp" in agg.note
    assert agg.sentences() == []
    strict_json(aggregate(collect([])).as_dict())
