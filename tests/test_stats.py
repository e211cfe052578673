"""Statistics over fabricated run results, against hand-computed and SciPy-computed values."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from benchmark.errors import UserError
from benchmark.stats import (
    collect,
    compare,
    critical_difference,
    dense_flags,
    friedman,
    holm,
    mean_ci,
    nemenyi_q,
    rank_means,
    setting_ranks,
    summarise,
)
from benchmark.stats.paired import t_test


def run(
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
    """A result dict with only the fields the statistics read."""
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
        "env": {"torch": "2.5.1", "device": "cpu", "git_commit": "abc123"},
    }


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
    with pytest.raises(UserError, match="two completed results"):
        collect([run(acc=90.0), run(acc=91.0)])


# --- failures, missing runs, unequal seeds ---------------------------------------------


def test_failed_runs_are_excluded_and_listed():
    results = runs({"fggp": [90.0, 91.0], "magnitude": [89.0, 88.0]})
    results.append(run("magnitude", 10.0, seed=2, status="diverged"))
    results.append(run("fggp", None, seed=2))
    summary = summarise(results)
    assert summary["settings"][0]["methods"]["magnitude"]["n"] == 2
    failures = {(f["method"], f["seed"]): f for f in summary["failures"]}
    assert failures["magnitude", 2]["status"] == "diverged"
    assert failures["magnitude", 2]["run_id"] == "magnitude-vgg19-1.0-0.95-2"
    assert "finite" in failures["fggp", 2]["status"]
    assert summary["provenance"]["statuses"] == {"completed": 5, "diverged": 1}


def test_missing_runs_are_listed_and_pairing_uses_common_seeds():
    expected = [run(m, seed=s)["config"] for m in ("fggp", "magnitude") for s in range(3)]
    results = runs({"fggp": [91.0, 92.0, 93.0], "magnitude": [90.0, 90.5]})
    results.append(run("magnitude", 1.0, seed=2, status="diverged"))
    summary = summarise(results, expected)
    strict_json(summary)
    assert [(m["method"], m["seed"], m["status"]) for m in summary["missing"]] == [
        ("magnitude", 2, "diverged")
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


def test_claim_1_needs_significant_wins_in_most_settings():
    two_of_three = contest("win", sparsity=0.9) + contest("win") + contest("lose", sparsity=0.98)
    held = claims(two_of_three)[1]
    assert (held["verdict"], held["point_reading"]["status"]) == ("supported", "holds")
    evidence = held["evidence"]
    assert (evidence["wins"], evidence["losses"], evidence["undecided"]) == (2, 1, 0)
    # two losses of three: even a win in the third would not be most
    assert verdict(
        contest("lose", sparsity=0.9) + contest("lose") + contest("close", sparsity=0.98), 1
    ) == (
        "contradicted",
        "does not hold",
    )
    # fggp's mean is the highest in two of three, but no lead is significant at 3 seeds
    close = contest("close", sparsity=0.9) + contest("close") + contest("lose", sparsity=0.98)
    assert verdict(close, 1) == ("inconclusive", "holds")
    single = claims(contest("win"))[1]
    assert (
        single["verdict"] == "inconclusive"
        and single["point_reading"]["status"] == "not enough data"
    )


def test_a_tie_is_not_a_win():
    """The tiny grid's case: every method at the same accuracy in every setting."""
    tie = {m: [7.42, 7.42] for m in ("fggp", "magnitude", "gradient", "annealed_hybrid")}
    results = runs(tie, init=1.0, sparsity=0.9) + runs(tie, init=0.5, sparsity=0.9)
    assert verdict(results, 1) == ("inconclusive", "does not hold")
    assert verdict(results, 2) == ("inconclusive", "does not hold")


def test_claim_2_ranks_by_iman_davenport_and_the_control_cd():
    # fggp first in all 8 settings, magnitude always second: magnitude is 1 rank behind,
    # within the Bonferroni-Dunn CD 2.241 sqrt(3 * 4 / (6 * 8)) = 1.12; gradient is 2 behind
    first = [r for s in range(8) for r in contest("win", sparsity=0.5 + s / 100)]
    held = claims(first)[2]
    assert held["evidence"]["control_cd"] == pytest.approx(2.241 * math.sqrt(12 / 48), abs=1e-3)
    assert held["evidence"]["ahead_of"] == ["gradient"]
    assert (held["verdict"], held["point_reading"]["status"]) == ("inconclusive", "holds")
    # fggp last everywhere: both others more than the CD ahead -> contradicted
    last = [r for s in range(8) for r in contest("lose", sparsity=0.5 + s / 100)]
    assert verdict(last, 2) == ("contradicted", "does not hold")
    # fggp first, the other two alternating second and third: 1.5 ranks ahead of each
    alternating = []
    for s in range(8):
        second, third = ("magnitude", "gradient") if s % 2 else ("gradient", "magnitude")
        values = {"fggp": WINNING, second: OTHERS["magnitude"], third: OTHERS["gradient"]}
        alternating += runs(values, sparsity=0.5 + s / 100)
    assert verdict(alternating, 2) == ("supported", "holds")


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
        "claims",
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
