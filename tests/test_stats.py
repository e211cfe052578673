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
    nemenyi_q,
    rank_means,
    setting_ranks,
    summarise,
)


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
    assert cell.std == pytest.approx(math.sqrt((16 / 9 + 1 / 9 + 25 / 9) / 2))
    entry = cell.as_dict()
    assert (entry["min"], entry["max"]) == (90.0, 93.0)
    low, high = cell.ci95
    assert 90.0 - 1e-9 <= low < cell.mean < high <= 93.0 + 1e-9
    assert cell.ci_note is None  # BCa
    again = only_setting(collect(runs({"fggp": [90.0, 91.0, 93.0]})))["fggp"]
    assert again.ci95 == cell.ci95


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


def test_equal_values_give_a_zero_width_interval_not_nan():
    cell = only_setting(collect(runs({"fggp": [90.0, 90.0, 90.0]})))["fggp"]
    assert cell.std == 0.0 and cell.ci95 == (90.0, 90.0) and "equal" in cell.ci_note


def test_two_seeds_use_the_percentile_bootstrap():
    cell = only_setting(collect(runs({"fggp": [90.0, 92.0]})))["fggp"]
    assert cell.ci95 == pytest.approx((90.0, 92.0)) and "percentile" in cell.ci_note


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


def contest(fggp_wins: bool, **setting: Any) -> list[dict[str, Any]]:
    fggp = [92.0, 93.0] if fggp_wins else [89.0, 90.0]
    return runs({"fggp": fggp, "magnitude": [90.0, 91.0], "gradient": [88.0, 88.5]}, **setting)


def claims(results: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    summary = summarise(results)
    strict_json(summary)
    return {c["id"]: c for c in summary["claims"]}


def test_claims_1_and_2_most_settings_and_best_average_rank():
    wins = contest(True, sparsity=0.9) + contest(True) + contest(False, sparsity=0.98)
    held = claims(wins)
    assert held[1]["status"] == "holds"
    assert (held[1]["evidence"]["settings_best"], held[1]["evidence"]["settings"]) == (2, 3)
    assert held[1]["evidence"]["best_and_significant"] == 0  # 2 seeds, equal differences
    assert held[2]["status"] == "holds"
    assert held[2]["evidence"]["average_ranks"]["fggp"] == pytest.approx(4 / 3)
    losses = contest(True, sparsity=0.9) + contest(False, sparsity=0.95)
    lost = claims(losses)
    assert lost[1]["status"] == "does not hold"  # 1 of 2 is not most
    assert lost[2]["status"] == "holds"  # fggp 1.5, magnitude 1.5: a tie counts
    assert claims(contest(False, sparsity=0.9) + contest(False))[2]["status"] == "does not hold"
    single = claims(contest(True))
    assert single[1]["status"] == single[2]["status"] == "not enough data"


def test_claim_3_dense_upper_bound():
    base = contest(True, sparsity=0.9) + contest(False)
    assert claims(base)[3]["status"] == "not enough data"
    assert claims(base + runs({"dense": [92.0, 93.0]}))[3]["status"] == "holds"
    assert claims(base + runs({"dense": [95.0]}))[3]["status"] == "does not hold"


def vgg(fggp_best: dict[tuple[float, float], bool]) -> list[dict[str, Any]]:
    return [
        r
        for (init, sparsity), wins in fggp_best.items()
        for r in contest(wins, arch="vgg19", init=init, sparsity=sparsity)
    ]


def test_claim_4_vgg_high_sparsity():
    all_four = {(i, s): True for i in (1.0, 0.5) for s in (0.95, 0.98)}
    assert claims(vgg(all_four))[4]["status"] == "holds"
    assert claims(vgg(all_four | {(0.5, 0.98): False}))[4]["status"] == "does not hold"
    three = {k: v for k, v in all_four.items() if k != (0.5, 0.95)}
    assert claims(vgg(three))[4]["status"] == "not enough data"


def resnet(levels: dict[float, bool], init: float = 1.0) -> list[dict[str, Any]]:
    return [
        r
        for s, wins in levels.items()
        for r in contest(wins, arch="resnet50", init=init, sparsity=s)
    ]


def test_claim_5_resnet_two_of_three_levels():
    two = resnet({0.9: True, 0.95: False, 0.98: True})
    assert claims(two)[5]["status"] == "holds"
    one_of_three = resnet({0.9: False, 0.95: False, 0.98: True}, init=0.5)
    assert claims(two + one_of_three)[5]["status"] == "does not hold"
    assert claims(resnet({0.9: True, 0.95: False, 0.98: False}))[5]["status"] == "does not hold"
    assert claims(resnet({0.9: True, 0.95: True}))[5]["status"] == "not enough data"


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
    assert {c["status"] for c in summary["claims"]} <= {"holds", "does not hold", "not enough data"}
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
    }


def test_claim_1_counts_wins_that_survive_holm():
    results = runs({"fggp": FGGP, "magnitude": MAGNITUDE}, sparsity=0.9)
    results += runs({"fggp": FGGP, "magnitude": MAGNITUDE})
    evidence = claims(results)[1]["evidence"]
    assert (evidence["settings_best"], evidence["best_and_significant"]) == (2, 2)


def test_methods_restricts_the_compared_treatments():
    results = friedman_results()
    summary = summarise(results, methods=["fggp", "magnitude"])
    assert all(set(s["methods"]) == {"fggp", "magnitude"} for s in summary["settings"])
    assert summary["friedman"]["k"] == 2 and summary["nemenyi_cd"]["k"] == 2
    assert {c["b"] for c in summary["pairwise"]} == {"magnitude"}
