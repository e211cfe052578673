"""Statistics over fabricated run results, against hand-computed and SciPy-computed values."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from benchmark.errors import UserError
from benchmark.stats import (
    analyse,
    at_least,
    collect,
    compare,
    critical_difference,
    dense_flags,
    friedman,
    holm,
    mean_ci,
    nemenyi_q,
    rank_means,
    setting_contrasts,
    setting_ranks,
    simulate,
    summarise,
)
from benchmark.stats.paired import t_test


def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """A result dict with only the fields the statistics read (`simulate.record`), and
    an environment for the provenance."""
    env = {"torch": "2.5.1", "device": "cpu", "git_commit": "abc123"}
    return simulate.record(*args, **kwargs) | {"env": env}


def runs(accuracies: dict[str, list[float]], **setting: Any) -> list[dict[str, Any]]:
    """One run per (method, seed), seeds numbered from 0 in list order."""
    return [
        run(method, acc, seed, **setting)
        for method, values in accuracies.items()
        for seed, acc in enumerate(values)
    ]


def only_setting(table):
    (cells,) = table.cells.values()
    return cells


def strict_json(summary: dict[str, Any]) -> None:
    json.dumps(summary, allow_nan=False)


# --- cells ----------------------------------------------------------------------------


def test_cell_statistics_by_hand():
    cell = only_setting(collect(runs({"fggp": [90.0, 91.0, 93.0]})))["fggp"]
    assert cell.n == 3 and cell.seeds == [0, 1, 2]
    assert cell.mean == pytest.approx(274 / 3)
    sd = math.sqrt((16 / 9 + 1 / 9 + 25 / 9) / 2)
    assert cell.std == pytest.approx(sd)
    entry = cell.as_dict()
    assert (entry["min"], entry["max"]) == (90.0, 93.0)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 df), from a table
    assert cell.ci95 == pytest.approx((274 / 3 - half, 274 / 3 + half))
    assert cell.ci_note is None


def test_one_seed_has_no_spread_and_says_why():
    summary = summarise(runs({"fggp": [91.0], "magnitude": [90.0]}))
    strict_json(summary)
    fggp = summary["settings"][0]["methods"]["fggp"]
    assert fggp["std"] is None and fggp["ci95"] is None
    assert "n=1" in fggp["ci95_note"]
    t, w = summary["pairwise"]
    assert t["p"] is None and "at least 2" in t["note"]
    assert w["p"] is None and "cannot reach p<0.05" in w["note"]
    assert t["mean_diff"] == pytest.approx(1.0) and t["ci95"] is None


def test_equal_values_have_no_interval_and_say_so():
    cell = only_setting(collect(runs({"fggp": [90.0, 90.0, 90.0]})))["fggp"]
    assert cell.std == 0.0 and cell.ci95 is None and "equal" in cell.ci_note


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_cell_interval_covers_the_mean_95_percent_of_the_time(n):
    """5,000 normal samples per n (fixed seed): a percentile bootstrap covered 51% at n = 2."""
    rng = np.random.default_rng(n)
    samples = rng.normal(90.0, 1.5, size=(5000, n))
    covered = 0
    for sample in samples:
        (low, high), _ = mean_ci(list(sample))
        covered += low <= 90.0 <= high
    # binomial sd of the rate at 95%: 0.31%; 0.935-0.965 is about 5 sd wide either side
    assert 0.935 <= covered / 5000 <= 0.965


def test_width_epochs_and_other_varying_fields_split_settings():
    results = [
        run("fggp", 90.0, train_limit=0),
        run("fggp", 80.0, width=0.125, train_limit=0),
        run("fggp", 85.0, epochs=10, train_limit=0),
        run("fggp", 70.0, epochs=10, train_limit=1000),
        run("fggp", 71.0, epochs=10, train_limit=1000, seed=1),
    ]
    table = collect(results)
    assert sorted(c["fggp"].n for c in table.cells.values()) == [1, 1, 1, 2]
    assert {dict(s.model.other)["train_limit"] for s in table.cells} == {0, 1000}
    constant = collect([run(train_limit=0), run(train_limit=0, seed=1)])
    assert [s.model.other for s in constant.cells] == [()]


def test_labels_spell_out_parameters_only_when_they_differ():
    same = collect([run(params={"rate": 0.5}), run("magnitude")])
    assert set(only_setting(same)) == {"fggp", "magnitude"}
    mixed = collect([run(params={"rate": 0.5}), run(params={"rate": 0.3}, seed=1)])
    assert set(only_setting(mixed)) == {"fggp(rate=0.3)", "fggp(rate=0.5)"}


def test_duplicate_completed_runs_are_refused():
    with pytest.raises(UserError, match="two finished results"):
        collect([run(acc=90.0), run(acc=91.0)])


# --- failures, missing runs, unequal seeds ---------------------------------------------


def test_failed_runs_are_excluded_and_listed_and_diverged_runs_count_at_chance():
    results = runs({"fggp": [90.0, 91.0], "magnitude": [89.0, 88.0]})
    results.append(run("magnitude", 47.0, seed=2, status="diverged"))
    results.append(run("fggp", None, seed=2))
    results.append(run("fggp", 60.0, seed=3, status="failed"))
    summary = summarise(results)
    magnitude = summary["settings"][0]["methods"]["magnitude"]
    # the diverged run is an outcome at chance (10 classes: 10%), not its logged accuracy
    assert (magnitude["n"], magnitude["diverged"], magnitude["min"]) == (3, [2], 10.0)
    assert magnitude["mean"] == pytest.approx((89 + 88 + 10) / 3)
    failures = {(f["method"], f["seed"]): f for f in summary["failures"]}
    assert set(failures) == {("fggp", 2), ("fggp", 3)}
    assert failures["fggp", 3]["run_id"] == "fggp-vgg19-1.0-0.95-3"
    assert "finite" in failures["fggp", 2]["status"]
    assert summary["provenance"]["statuses"] == {"completed": 5, "diverged": 1, "failed": 1}
    # without a class count it cannot be scored: listed, never silently dropped
    unscored = run("magnitude", 47.0, seed=2, status="diverged")
    del unscored["data"]
    summary = summarise([*results[:4], unscored])
    assert summary["failures"][0]["status"].startswith("diverged, with no class count")


def test_a_method_that_diverges_more_does_not_look_better_for_it():
    """Left out, magnitude's two diverged seeds would leave its best seed alone, above
    fggp; counted at chance, it is below fggp and both keep all 3 seeds for the tests."""
    results = runs({"fggp": [90.0, 90.5, 91.0], "magnitude": [92.0, 80.0, 80.0]})
    results = [
        r for r in results if not (r["config"]["method"] == "magnitude" and r["config"]["seed"])
    ]
    results += [run("magnitude", 95.0, seed, status="diverged") for seed in (1, 2)]
    table = collect(results)
    cells = only_setting(table)
    assert cells["magnitude"].mean == pytest.approx((92.0 + 10 + 10) / 3)
    assert cells["magnitude"].diverged == (1, 2)
    summary = analyse(results)
    (contrasts,) = summary.contrasts.values()
    assert contrasts.seeds == (0, 1, 2)
    assert summary.settings[0].ranks["fggp"] == 1.0


def test_missing_runs_are_listed_and_pairing_uses_common_seeds():
    expected = [run(m, seed=s)["config"] for m in ("fggp", "magnitude") for s in range(3)]
    results = runs({"fggp": [91.0, 92.0, 93.0], "magnitude": [90.0, 90.5]})
    results.append(run("magnitude", 1.0, seed=2, status="failed"))
    summary = summarise(results, expected)
    strict_json(summary)
    assert [(m["method"], m["seed"], m["status"]) for m in summary["missing"]] == [
        ("magnitude", 2, "failed")
    ]
    assert "unequal seed counts" in summary["settings"][0]["note"]
    t = next(c for c in summary["pairwise"] if c["test"] == "t")
    assert t["n"] == 2 and "2 common seed" in t["note"]
    assert t["mean_diff"] == pytest.approx(((91 - 90) + (92 - 90.5)) / 2)
    assert t["p"] == pytest.approx(stats.ttest_rel([91.0, 92.0], [90.0, 90.5]).pvalue)
    assert summarise(results)["missing"] is None
    results.pop()
    assert summarise(results, expected)["missing"][0]["status"] == "no result"


# --- ranks, Friedman, Nemenyi ----------------------------------------------------------


def test_ranks_with_ties_are_averaged():
    ranks = rank_means({"a": 90.0, "b": 92.0, "c": 92.0, "d": 89.0})
    assert ranks == {"a": 3.0, "b": 1.5, "c": 1.5, "d": 4.0}
    # float noise is not a difference: 90.2 both ways
    assert rank_means({"a": (90.1 + 90.3) / 2, "b": (90.2 + 90.2) / 2}) == {"a": 1.5, "b": 1.5}


def test_average_rank_over_the_settings_where_a_method_has_data():
    results = runs({"fggp": [92.0], "magnitude": [91.0], "gradient": [90.0]}, sparsity=0.9)
    results += runs({"fggp": [90.0], "magnitude": [91.0]}, sparsity=0.95)
    table = collect(results)
    assert list(setting_ranks(table).values()) == [
        {"fggp": 1.0, "gradient": 3.0, "magnitude": 2.0},
        {"fggp": 2.0, "magnitude": 1.0},
    ]
    average = summarise(results)["average_rank"]
    assert average["fggp"] == {"rank": 1.5, "settings": 2}
    assert average["magnitude"] == {"rank": 1.5, "settings": 2}
    assert average["gradient"] == {"rank": 3.0, "settings": 1}


FRIEDMAN_MEANS = {  # per setting: fggp, magnitude, gradient; fggp always first
    0.90: (93.0, 92.0, 91.0),
    0.95: (92.0, 91.0, 90.0),
    0.98: (90.0, 88.0, 89.0),
    0.99: (85.0, 84.0, 83.0),
}


def friedman_results() -> list[dict[str, Any]]:
    return [
        run(method, acc, sparsity=sparsity)
        for sparsity, row in FRIEDMAN_MEANS.items()
        for method, acc in zip(("fggp", "magnitude", "gradient"), row, strict=True)
    ]


def test_friedman_matches_scipy_and_the_hand_formula():
    test = friedman(collect(friedman_results()))
    assert (test.k, test.n_blocks) == (3, 4)
    columns = np.array(list(FRIEDMAN_MEANS.values())).T
    assert test.statistic == pytest.approx(stats.friedmanchisquare(*columns).statistic)
    assert test.pvalue == pytest.approx(stats.friedmanchisquare(*columns).pvalue)
    # average ranks 1, 2.25, 2.75: 12N/(k(k+1)) (ΣR² - k(k+1)²/4) = 4 (13.625 - 12)
    assert dict(test.average_ranks) == {"fggp": 1.0, "gradient": 2.75, "magnitude": 2.25}
    assert test.statistic == pytest.approx(6.5)


def test_friedman_says_why_it_cannot_run():
    two = friedman(collect(runs({"fggp": [90.0], "magnitude": [89.0]})))
    assert two.statistic is None and "k=2" in two.note
    one_block = friedman(collect([*friedman_results()[:3], run("fggp", sparsity=0.5)]))
    assert one_block.statistic is None and "1 setting(s)" in one_block.note


def test_nemenyi_q_matches_demsar_table():
    for k, q in {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728}.items():
        assert nemenyi_q(k) == pytest.approx(q, abs=1e-3)


def test_critical_difference_by_hand():
    assert critical_difference(4, 6) == pytest.approx(2.569 * math.sqrt(4 * 5 / 36), abs=1e-3)


def test_summary_nemenyi_lists_pairs_further_apart_than_cd():
    nemenyi = summarise(friedman_results())["nemenyi_cd"]
    assert nemenyi["cd"] == pytest.approx(critical_difference(3, 4))
    # CD = 2.343 √(3·4/(6·4)) = 1.657: fggp (1.0) and gradient (2.75) are 1.75 apart
    assert nemenyi["cd"] == pytest.approx(1.657, abs=1e-3)
    assert nemenyi["significant_pairs"] == [["fggp", "gradient"]]
    assert nemenyi["note"] is None  # Friedman rejects: p = exp(-6.5/2) < 0.05


# --- paired tests and Holm -------------------------------------------------------------

FGGP = [92.1, 91.7, 92.9, 92.4, 91.2, 93.0, 92.2]
MAGNITUDE = [91.0, 91.5, 91.6, 92.7, 90.4, 91.3, 91.3]  # no tied |differences|


def test_paired_tests_match_scipy():
    comparisons = compare(collect(runs({"fggp": FGGP, "magnitude": MAGNITUDE})))
    t, w = comparisons
    assert (t.test, w.test, t.n, w.n) == ("t", "wilcoxon", 7, 7)
    reference = stats.ttest_rel(FGGP, MAGNITUDE)
    assert t.p == pytest.approx(reference.pvalue)
    assert w.p == pytest.approx(stats.wilcoxon(FGGP, MAGNITUDE).pvalue)
    assert t.mean_diff == pytest.approx(np.mean(np.subtract(FGGP, MAGNITUDE)))
    assert t.ci95 == pytest.approx(tuple(reference.confidence_interval()))
    assert t.note is None and w.note is None
    assert t.p_holm == pytest.approx(t.p)  # a family of one


def test_float_noise_in_differences_is_a_tie():
    a, b = [92.1, 91.7, 91.2, 92.9, 92.4, 93.0], [91.0, 91.5, 90.1, 91.9, 92.6, 91.4]
    # 92.1 - 91.0 and 91.2 - 90.1 differ in the last bits, but both are 1.1
    _, w = compare(collect(runs({"fggp": a, "magnitude": b})))
    assert w.p == pytest.approx(stats.wilcoxon(np.round(np.subtract(a, b), 9)).pvalue)
    assert w.p != pytest.approx(stats.wilcoxon(a, b).pvalue)


def test_wilcoxon_cannot_reach_significance_with_few_pairs():
    t, w = compare(collect(runs({"fggp": [92.0, 93.0, 94.5], "magnitude": [91.0, 91.0, 91.0]})))
    assert w.p is None and w.note == "n=3 pairs: Wilcoxon cannot reach p<0.05 (min p = 0.25)"
    assert t.p == pytest.approx(stats.ttest_rel([92.0, 93.0, 94.5], [91.0] * 3).pvalue)


def test_identical_differences_give_notes_not_nan():
    # 0.2 each time, up to float noise
    results = runs({"fggp": [90.3, 90.5, 90.7], "magnitude": [90.1, 90.3, 90.5]})
    t, _ = compare(collect(results))
    assert t.p is None and "differences equal" in t.note and t.ci95 is None
    assert t.mean_diff == pytest.approx(0.2)
    zeros = compare(collect(runs({"fggp": [90.0, 91.0], "magnitude": [90.0, 91.0]})))
    assert zeros[1].p is None and "all differences are zero" in zeros[1].note
    strict_json(summarise(results))


def test_holm_by_hand():
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max(0.06, 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.6]) == [1.0, None, 1.0]
    assert holm([]) == []


def test_holm_is_monotone_and_never_below_the_raw_p():
    raw = [0.2, 0.001, 0.04, 0.03, 0.5, 0.011]
    adjusted = holm(raw)
    order = np.argsort(raw)
    assert all(np.diff(np.array(adjusted)[order]) >= 0)
    assert all(a >= p for a, p in zip(adjusted, raw, strict=True)) and max(adjusted) <= 1


def test_holm_family_spans_all_settings_per_test():
    results = runs({"fggp": FGGP, "magnitude": MAGNITUDE, "gradient": MAGNITUDE[::-1]})
    results += runs({"fggp": MAGNITUDE, "magnitude": FGGP}, sparsity=0.98)
    comparisons = compare(collect(results))
    t_tests = [c for c in comparisons if c.test == "t"]
    assert len(t_tests) == 3 and {c.a for c in comparisons} == {"fggp"}
    assert [c.p_holm for c in t_tests] == pytest.approx(holm([c.p for c in t_tests]))


# --- dense upper bound ----------------------------------------------------------------


def test_dense_bound_flags_pruned_means_that_reach_it():
    results = runs({"fggp": [93.5, 93.5], "magnitude": [92.0, 92.5]}, sparsity=0.9)
    results += runs({"dense": [93.0, 94.0]})  # mean 93.5: fggp reaches it exactly
    results += runs({"dense": [99.0]}, width=0.125)  # a narrowed model bounds nothing here
    table = collect(results)
    assert [(f.method, f.dense_mean) for f in dense_flags(table)] == [("fggp", 93.5)]
    summary = summarise(results)
    strict_json(summary)
    assert summary["settings"][0]["dense_mean"] == 93.5
    assert "dense" not in summary["settings"][0]["methods"]
    assert sorted(b["mean"] for b in summary["dense"]["bounds"]) == [93.5, 99.0]
    assert summary["dense"]["settings_without_bound"] == []


# --- the paper's claims ---------------------------------------------------------------


# Three seeds with differences that vary, so the paired t-tests can separate the methods:
# fggp - magnitude = 2.0, 1.9, 2.4 and fggp - gradient = 4.0, 4.7, 4.8 when fggp wins;
# -3.0, -3.2, -3.6 and -1.0, -0.4, -1.2 when it loses (every Holm p < 0.05 at these sizes).
WINNING, LOSING = [92.0, 93.1, 94.3], [87.0, 88.0, 88.3]
OTHERS = {"magnitude": [90.0, 91.2, 91.9], "gradient": [88.0, 88.4, 89.5]}
CLOSE = {  # fggp's mean highest by 0.07 points, far inside the noise of 3 seeds
    "fggp": [90.0, 91.0, 92.6],
    "magnitude": [90.5, 90.5, 92.0],
    "gradient": [89.5, 91.5, 92.4],
}


def contest(outcome: str, **setting: Any) -> list[dict[str, Any]]:
    """A setting where fggp wins, loses, or leads by too little for 3 seeds ('close')."""
    if outcome == "close":
        return runs(CLOSE, **setting)
    return runs({"fggp": WINNING if outcome == "win" else LOSING, **OTHERS}, **setting)


def claims(results: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    summary = summarise(results)
    strict_json(summary)
    return {c["id"]: c for c in summary["claims"]}


def verdict(results: list[dict[str, Any]], claim: int) -> tuple[str, str]:
    c = claims(results)[claim]
    return c["verdict"], c["point_reading"]["status"]


def test_at_least_is_the_bonferroni_partial_conjunction_by_hand():
    p = [0.04, 0.01, 0.5, 0.2]
    assert at_least(1, p) == pytest.approx(4 * 0.01)  # Bonferroni's union
    assert at_least(2, p) == pytest.approx(3 * 0.04)
    assert at_least(3, p) == pytest.approx(2 * 0.2)
    assert at_least(4, p) == 0.5  # intersection-union: the largest, uncorrected
    assert at_least(2, [0.001, None, 0.002]) == pytest.approx(2 * 0.002)  # None counts as 1
    assert at_least(3, [0.001, None, 0.002]) == 1.0
    assert at_least(0, p) == at_least(5, p) == 1.0


def test_two_method_contrast_is_the_paired_t_test():
    results = runs({"fggp": WINNING, "magnitude": OTHERS["magnitude"]})
    (c,) = setting_contrasts(*only_setting_of(results), "fggp").contrasts
    for alternative, p in (("greater", c.p_ahead), ("less", c.p_behind)):
        expected = stats.ttest_rel(WINNING, OTHERS["magnitude"], alternative=alternative).pvalue
        assert p == pytest.approx(expected, rel=1e-9)


def test_block_contrasts_match_a_least_squares_fit_of_method_plus_seed():
    """An independent transcription: the additive model fitted by least squares on dummy
    columns; its residual variance and the contrast's standard error give the t."""
    rng = np.random.default_rng(5)
    methods = ["fggp", "magnitude", "gradient", "taylor"]
    y = rng.normal(90, 1, size=(4, 5)) + np.array([[1.0], [0.0], [0.3], [-0.5]])
    results = runs({m: list(row) for m, row in zip(methods, y, strict=True)})
    c = setting_contrasts(*only_setting_of(results), "fggp")
    k, n = y.shape
    design = np.zeros((k * n, 1 + (k - 1) + (n - 1)))
    design[:, 0] = 1
    for i in range(k):
        for j in range(n):
            row = i * n + j
            if i:
                design[row, i] = 1
            if j:
                design[row, k - 1 + j] = 1
    beta, rss, *_ = np.linalg.lstsq(design, y.reshape(-1), rcond=None)
    dof = k * n - design.shape[1]
    assert c.dof == dof == (k - 1) * (n - 1)
    assert c.residual_sd == pytest.approx(math.sqrt(rss[0] / dof))
    assert sorted(x.competitor for x in c.contrasts) == sorted(methods[1:])
    for contrast in c.contrasts:
        j = methods.index(contrast.competitor)
        t = -beta[j] / (c.residual_sd * math.sqrt(2 / n))  # fggp is the baseline level
        # rel 1e-6: the mean difference is rounded to 1e-9 points (TIE_DECIMALS)
        assert contrast.p_ahead == pytest.approx(stats.t.sf(t, dof), rel=1e-6)
        assert contrast.p_behind == pytest.approx(stats.t.cdf(t, dof), rel=1e-6)
    assert c.p_win == max(x.p_ahead for x in c.contrasts)
    assert c.p_loss == pytest.approx(min(1.0, 3 * min(x.p_behind for x in c.contrasts)))


def test_contrasts_use_the_seeds_every_method_has_and_say_so():
    results = runs({"fggp": WINNING, **OTHERS})
    results = [
        r for r in results if (r["config"]["method"], r["config"]["seed"]) != ("gradient", 2)
    ]
    c = setting_contrasts(*only_setting_of(results), "fggp")
    assert c.seeds == (0, 1) and c.dof == 2 and "only the 2 seeds" in c.note
    lone = setting_contrasts(*only_setting_of(runs({"fggp": [90.0, 91.0]})), "fggp")
    assert lone.contrasts == () and lone.p_win == 1.0 and lone.p_loss == 1.0


def only_setting_of(results):
    table = collect(results)
    (setting,) = table.cells
    return setting, table.cells[setting]


def test_claim_1_is_a_partial_conjunction_of_the_settings_wins():
    two_of_three = contest("win", sparsity=0.9) + contest("win") + contest("lose", sparsity=0.98)
    held = claims(two_of_three)[1]
    assert (held["verdict"], held["point_reading"]["status"]) == ("supported", "holds")
    tests = summarise(two_of_three)["setting_tests"]
    wins = sorted(t["p_win"] for t in tests)
    # at least 2 of 3: (3 - 2 + 1) times the second-smallest win p
    assert held["p_supported"] == pytest.approx(2 * wins[1])
    assert held["evidence"]["needed"] == 2
    # two losses of three: even a win in the third would not be most
    assert verdict(
        contest("lose", sparsity=0.9) + contest("lose") + contest("close", sparsity=0.98), 1
    ) == ("contradicted", "does not hold")
    # fggp's mean is the highest in two of three, but no lead is significant at 3 seeds
    close = contest("close", sparsity=0.9) + contest("close") + contest("lose", sparsity=0.98)
    assert verdict(close, 1) == ("inconclusive", "holds")
    single = claims(contest("win"))[1]
    assert (
        single["verdict"] == "inconclusive"
        and single["point_reading"]["status"] == "not enough data"
    )


def test_a_verdict_says_whether_it_stands_family_wise():
    summary = analyse(
        contest("win", sparsity=0.9) + contest("win") + contest("lose", sparsity=0.98)
    )
    one = summary.claims[0]
    assert one.verdict == "supported" and one.p < 0.01 and one.family_wise
    weak = dataclasses.replace(one, p_supported=0.02)
    assert weak.verdict == "supported" and not weak.family_wise
    both = dataclasses.replace(one, p_supported=0.01, p_contradicted=0.01)
    assert both.verdict == "inconclusive" and not both.family_wise


def test_a_tie_is_not_a_win():
    """The tiny grid's case: every method at the same accuracy in every setting."""
    tie = {m: [7.42, 7.42] for m in ("fggp", "magnitude", "gradient", "annealed_hybrid")}
    results = runs(tie, init=1.0, sparsity=0.9) + runs(tie, init=0.5, sparsity=0.9)
    assert verdict(results, 1) == ("inconclusive", "does not hold")
    assert verdict(results, 2) == ("inconclusive", "does not hold")


def ranked_grid(order: dict[str, float], settings: int, seeds: int, seed: int) -> list[dict]:
    """`settings` settings in which each method's runs scatter (sd 1) around its offset."""
    rng = np.random.default_rng(seed)
    results = []
    for s in range(settings):
        for method, offset in order.items():
            values = list(90.0 + offset + rng.normal(0.0, 1.0, seeds))
            results += runs({method: values}, sparsity=0.5 + s / 100)
    return results


def test_claim_2_tests_per_seed_average_ranks_over_seeds():
    order = {"fggp": 2.0, "magnitude": 0.0, "gradient": -0.5}
    results = ranked_grid(order, settings=8, seeds=4, seed=1)
    held = claims(results)[2]
    assert (held["verdict"], held["point_reading"]["status"]) == ("supported", "holds")
    # independently: each (setting, seed) ranks the methods, each seed averages its ranks
    table = collect(results)
    methods = sorted(order)
    per_seed = np.zeros((len(methods), 4))
    for cells in table.cells.values():
        for seed in range(4):
            per_seed[:, seed] += stats.rankdata([-cells[m].accuracy[seed] for m in methods])
    per_seed /= len(table.cells)
    fggp = per_seed[methods.index("fggp")]
    expected = max(
        stats.ttest_1samp(per_seed[j] - fggp, 0.0, alternative="greater").pvalue
        for j, m in enumerate(methods)
        if m != "fggp"
    )
    assert held["p_supported"] == pytest.approx(expected, rel=1e-9)
    assert held["evidence"]["seeds"] == 4 and held["evidence"]["settings"] == 8
    last = ranked_grid({"fggp": -2.0, "magnitude": 0.0, "gradient": 0.5}, 8, 4, seed=2)
    assert verdict(last, 2) == ("contradicted", "does not hold")


def test_claim_2_with_identical_rankings_uses_the_exact_sign_flip_p():
    """Every seed ranks fggp first, magnitude second in all 8 settings: the leads have no
    spread for a t-test; 2^-3 = 0.125 is the exact p, and 3 seeds cannot do better."""
    first = [r for s in range(8) for r in contest("win", sparsity=0.5 + s / 100)]
    held = claims(first)[2]
    assert held["p_supported"] == 0.125 and held["verdict"] == "inconclusive"


def test_claim_3_dense_upper_bound_by_one_sided_tests():
    base = contest("win", sparsity=0.9) + contest("lose")
    assert claims(base)[3]["verdict"] == "inconclusive"
    # fggp 92.0/93.1/94.3 vs dense 90.5/91.0/92.6 at 0.9: above by 1.5, 2.1, 1.7
    above = claims(base + runs({"dense": [90.5, 91.0, 92.6]}))[3]
    assert (above["verdict"], above["point_reading"]["status"]) == ("supported", "holds")
    assert (
        above["evidence"]["significantly_above"]
        == [s["name"] for s in summarise(base)["settings"]][:1]
    )
    # dense far above both: significantly below in every setting
    assert verdict(base + runs({"dense": [97.0, 97.5, 99.2]}), 3) == (
        "contradicted",
        "does not hold",
    )
    # the mean is above dense in one setting, but not significantly: inconclusive
    near = runs({"dense": [92.6, 92.5, 93.9]})
    assert verdict(base + near, 3) == ("inconclusive", "holds")


def vgg(outcomes: dict[tuple[float, float], str]) -> list[dict[str, Any]]:
    return [
        r
        for (init, sparsity), outcome in outcomes.items()
        for r in contest(outcome, arch="vgg19", init=init, sparsity=sparsity)
    ]


def test_claim_4_vgg_high_sparsity():
    all_four = {(i, s): "win" for i in (1.0, 0.5) for s in (0.95, 0.98)}
    assert verdict(vgg(all_four), 4) == ("supported", "holds")
    assert verdict(vgg(all_four | {(0.5, 0.98): "lose"}), 4) == ("contradicted", "does not hold")
    assert verdict(vgg(all_four | {(0.5, 0.98): "close"}), 4) == ("inconclusive", "holds")
    three = {k: v for k, v in all_four.items() if k != (0.5, 0.95)}
    assert verdict(vgg(three), 4) == ("inconclusive", "not enough data")


def resnet(levels: dict[float, str], init: float = 1.0) -> list[dict[str, Any]]:
    return [
        r
        for s, outcome in levels.items()
        for r in contest(outcome, arch="resnet50", init=init, sparsity=s)
    ]


def test_claim_5_resnet_two_of_three_levels():
    two = resnet({0.9: "win", 0.95: "lose", 0.98: "win"})
    assert verdict(two, 5) == ("supported", "holds")
    one_of_three = resnet({0.9: "lose", 0.95: "lose", 0.98: "win"}, init=0.5)
    assert verdict(two + one_of_three, 5) == ("contradicted", "does not hold")
    assert verdict(resnet({0.9: "win", 0.95: "close", 0.98: "lose"}), 5)[0] == "inconclusive"
    assert verdict(resnet({0.9: "win", 0.95: "win"}), 5) == ("inconclusive", "not enough data")


# --- the summary document -------------------------------------------------------------


def test_summary_keys_provenance_and_strict_json():
    failed = run("gradient", 1.0, 7, status="diverged")
    results = [*friedman_results(), run("dense", 94.0), failed]
    results[0]["env"] = {"torch": "2.6.0", "device": "cuda", "git_commit": "def456-dirty"}
    results[0]["harness_version"] = 2
    summary = summarise(results)
    strict_json(summary)
    assert set(summary) == {
        "settings",
        "average_rank",
        "friedman",
        "nemenyi_cd",
        "pairwise",
        "dense",
        "power",
        "setting_tests",
        "seed_ranks",
        "claims",
        "family_alpha",
        "aggregates",
        "failures",
        "missing",
        "provenance",
    }
    provenance = summary["provenance"]
    assert provenance["result_files"] == 14
    assert provenance["git_commits"] == ["abc123", "def456-dirty"]
    assert provenance["dirty_trees"] == 1 and provenance["harness_versions"] == ["2"]
    assert provenance["torch"] == ["2.5.1", "2.6.0"] and provenance["devices"] == ["cpu", "cuda"]
    assert [c["id"] for c in summary["claims"]] == [1, 2, 3, 4, 5]
    assert {c["verdict"] for c in summary["claims"]} <= {
        "supported",
        "contradicted",
        "inconclusive",
    }
    readings = {c["point_reading"]["status"] for c in summary["claims"]}
    assert readings <= {"holds", "does not hold", "not enough data"}
    setting = summary["settings"][0]
    assert set(setting["methods"]["fggp"]) >= {"n", "mean", "std", "ci95", "rank", "seeds", "min"}
    assert set(summary["pairwise"][0]) == {
        "setting",
        "a",
        "b",
        "test",
        "n",
        "p",
        "p_holm",
        "mean_diff",
        "ci95",
        "note",
        "detectable",
        "seeds_for_target",
    }


def test_methods_restricts_the_compared_treatments():
    results = friedman_results()
    summary = summarise(results, methods=["fggp", "magnitude"])
    assert all(set(s["methods"]) == {"fggp", "magnitude"} for s in summary["settings"])
    assert summary["friedman"]["k"] == 2 and summary["nemenyi_cd"]["k"] == 2
    assert {c["b"] for c in summary["pairwise"]} == {"magnitude"}


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_t_test_formula_matches_scipy(alternative):
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 12):
        d = list(rng.normal(0.4, 1.0, n))
        expected = stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue
        assert t_test(d, alternative) == pytest.approx(expected, rel=1e-9)
