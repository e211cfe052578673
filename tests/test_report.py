"""The report: its tables and figures from fabricated results, and the full page in a browser."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from benchmark.stats import analyse, summarise
from reports import Run, build_report
from reports.browser import check_page, find_chromium
from reports.build import _write_csv
from reports.latex import latex_table
from reports.plots import cd_cliques
from reports.runs import group_runs, run_keys
from reports.styles import method_order, method_styles
from reports.tables import (
    REGROWTH_COLUMNS,
    Growth,
    cost_rows,
    pairwise_rows,
    paper_tables,
    rank_table,
    regrowth_rows,
    run_growth,
    run_rows,
)


def result(
    method: str,
    acc: float,
    seed: int,
    *,
    arch: str = "vgg19",
    init: float = 1.0,
    sparsity: float = 0.95,
    epochs: int = 3,
) -> dict[str, Any]:
    """A complete result record (docs/results.md) with made-up but consistent numbers."""
    target = 0.0 if method == "dense" else sparsity
    density = 1.0 - target
    config = {
        "dataset": "synthetic",
        "arch": arch,
        "width": 0.0625,
        "epochs": epochs,
        "init_density": init,
        "target_sparsity": target,
        "method": method,
        "method_params": {},
        "seed": seed,
    }
    return {
        "schema": "fggp-bench/run/1",
        "harness_version": 1,
        "run_id": f"{method[:4]}{arch[:3]}{init}{sparsity}{seed}".replace(".", ""),
        "status": "completed",
        "config": config,
        "final": {"test_acc": acc, "best_test_acc": acc + 0.5, "sparsity": target},
        "history": [
            {"epoch": e, "test_acc": acc * e / epochs, "sparsity": target} for e in (1, 2, 3)
        ],
        "prune_schedule": []
        if method == "dense"
        else [
            {"step": 1, "iteration": 0, "epoch": 0.0, "pruned": 10, "density": (1 + density) / 2},
            {"step": 2, "iteration": 5, "epoch": 1.0, "pruned": 10, "density": density},
        ],
        "layers": [
            {"name": "features.0.weight", "numel": 100, "density": min(1.0, 2 * density)},
            {"name": "classifier.weight", "numel": 50, "density": density / 2},
        ],
        "cost": {
            "wall_seconds": 2.0,
            "train_flops": 300 * density,
            "dense_train_flops": 300,
            "inference_flops": 100 * density,
            "dense_inference_flops": 100,
        },
        "data": {
            "name": "synthetic",
            "fingerprint": "ab" * 32,
            "num_classes": 10,
            "n_train": 512,
            "n_test": 256,
        },
        "execution": {"precision": "bf16", "compile": None},
        "env": {
            "torch": "2.12.1",
            "cuda": None,
            "device": "x86_64",
            "python": "3.11.7",
            "threads": 2,
            "git_commit": "abc123",
        },
    }


FGGP_AHEAD = {"fggp": 80.0, "magnitude": 75.0, "gradient": 60.0}


def fabricated() -> list[dict[str, Any]]:
    """Two settings, 5 seeds: FGGP leads clearly at 95%; at 98% gradient has no runs."""
    results = []
    for seed in range(5):
        for method, acc in FGGP_AHEAD.items():
            results.append(result(method, acc + _noise(method, seed), seed))
        for method, acc in (("fggp", 70.0), ("magnitude", 71.0)):
            results.append(result(method, acc - _noise(method, seed), seed, sparsity=0.98))
        results.append(result("dense", 79.0 + _noise("fggp", seed), seed))
    return results


def _noise(method: str, seed: int) -> float:
    """Seed noise of mean 0.2 and std 0.158, shuffled per method so differences vary."""
    values = (0.0, 0.3, 0.1, 0.4, 0.2) if method == "fggp" else (0.2, 0.0, 0.4, 0.1, 0.3)
    return values[seed]


def as_runs(results: list[dict[str, Any]]) -> list[Run]:
    return [Run(r["run_id"], r["config"], r["status"], r) for r in results]


def regrowing(
    method: str,
    seed: int,
    *,
    regrown: tuple[int, int] = (0, 0),
    regrowth: tuple[int, ...] = (),
    sparsity: float = 0.95,
    dense_gradient_flops: float = 0.0,
    train_flops: float | None = None,
) -> dict[str, Any]:
    """A run of a regrowth method: `result`'s two pruning steps, the i-th of which also
    regrows `regrown[i]` of the weights it drops, and between them a pure regrowth update
    (nothing pruned, the density kept) per count in `regrowth`. 150 prunable weights."""
    record = result(method, 70.0 + seed, seed, sparsity=sparsity)
    first, second = (
        {**entry, "removed": entry["pruned"] + grown, "grown": grown}
        for entry, grown in zip(record["prune_schedule"], regrown, strict=True)
    )
    updates = [
        {**first, "iteration": 1 + i, "epoch": 0.5, "pruned": 0, "removed": grown, "grown": grown}
        for i, grown in enumerate(regrowth)
    ]
    schedule = [first, *updates, second]
    record["prune_schedule"] = [{**entry, "step": i} for i, entry in enumerate(schedule, 1)]
    record["cost"]["dense_gradient_flops"] = dense_gradient_flops
    if train_flops is not None:
        record["cost"]["train_flops"] = train_flops
    return record


def with_regrowth() -> list[dict[str, Any]]:
    """`fabricated` and three methods with the new schedule keys (docs/results.md).

    rigl at 95%, train_flops 300 * 0.05 = 15 each, 150 prunable weights:
      seed 0 grows 0 + 6 + 4 = 10 in 2 updates (6.667%), dense gradients 1.5 (10%);
      seed 1 grows 3 in 1 update (2%), dense gradients 3.0 (20%);
      seed 2 grows nothing in its one regrowth update, spends nothing on dense gradients (0%).
    rigl at 98%: 5 + 10 + 10 + 5 = 30 in 4 updates (20%), train_flops 0 (no share).
    gmp at 95%: the new keys, but it never grows a weight.
    """
    return [
        *fabricated(),
        regrowing("rigl", 0, regrown=(0, 4), regrowth=(6,), dense_gradient_flops=1.5),
        regrowing("rigl", 1, regrowth=(3,), dense_gradient_flops=3.0),
        regrowing("rigl", 2, regrowth=(0,)),
        regrowing("rigl", 0, regrown=(5, 5), regrowth=(10, 10), sparsity=0.98, train_flops=0),
        *(regrowing("gmp", seed) for seed in range(2)),
    ]


# --- pure parts ------------------------------------------------------------------------


def test_cd_cliques_by_hand():
    ranks = {"a": 1.0, "b": 1.5, "c": 3.0, "d": 3.2}
    assert cd_cliques(ranks, 1.0) == [("a", "b"), ("c", "d")]
    assert cd_cliques(ranks, 2.0) == [("a", "b", "c"), ("b", "c", "d")]
    assert cd_cliques(ranks, 0.1) == []
    assert cd_cliques(ranks, 5.0) == [("a", "b", "c", "d")]


def test_method_styles_are_distinct_and_stable():
    few = method_styles(["magnitude", "fggp"])
    many = method_styles(
        ["fggp", "magnitude", "gradient", "annealed_hybrid", "mine", "fggp(rate=0.3)"]
    )
    assert few["fggp"] == many["fggp"] and few["magnitude"] == many["magnitude"]
    assert len({(s.colour, s.marker, s.dash) for s in many.values()}) == len(many)
    assert len({s.colour for s in many.values()}) == len(many)
    assert method_order(["zeta", "magnitude", "fggp(rate=0.3)", "fggp"]) == [
        "fggp",
        "fggp(rate=0.3)",
        "magnitude",
        "zeta",
    ]


def test_paper_table_best_significance_dense_and_gaps():
    summary = analyse(fabricated())
    (table,) = paper_tables(summary)
    assert [c.target_sparsity for c in table.columns] == [0.95, 0.98]
    rows = dict(table.rows)
    assert list(rows) == ["fggp", "magnitude", "gradient"]
    fggp95, fggp98 = rows["fggp"]
    assert fggp95.best and not fggp98.best and rows["magnitude"][1].best
    assert fggp95.mean == pytest.approx(80.2) and fggp95.n == 5
    # 5 seeds, a constant 5-point gap: the paired t-test rejects after Holm
    assert (
        rows["magnitude"][0].significant == "worse" and rows["gradient"][0].significant == "worse"
    )
    assert rows["magnitude"][1].significant == "better"
    assert fggp95.significant is None
    assert rows["gradient"][1] is None  # no gradient runs at 98%
    assert fggp95.reaches_dense and not rows["magnitude"][0].reaches_dense
    assert table.dense[0].mean == pytest.approx(79.2) and table.dense[1].mean == pytest.approx(79.2)


def test_dense_mark_rounds_like_the_statistics():
    """90.1 and 90.3 average to 90.19999999999999: that reaches a dense mean of 90.2."""
    results = [result("fggp", acc, seed) for seed, acc in enumerate((90.1, 90.3))]
    results += [result("magnitude", 80.0, seed) for seed in range(2)]
    results += [result("dense", 90.2, seed) for seed in range(2)]
    summary = analyse(results)
    (table,) = paper_tables(summary)
    assert dict(table.rows)["fggp"][0].reaches_dense
    assert [f["method"] for f in summary.as_dict()["dense"]["flags"]] == ["fggp"]


def test_cd_diagram_uses_the_ranks_of_the_friedman_test(tmp_path):
    """gradient has no 98% runs, so the Friedman test and its CD use 90% and 95% only;
    the average over every setting also counts 98%, where fggp is second."""
    results = fabricated()
    results += [result("gradient", 90.0, seed, sparsity=0.9) for seed in range(5)]
    results += [
        result(m, 70.0 + seed, seed, sparsity=0.9)
        for m in ("fggp", "magnitude")
        for seed in range(5)
    ]
    summary = summarise(results)
    friedman = summary["friedman"]["average_ranks"]
    assert friedman and summary["average_rank"]["fggp"]["rank"] != friedman["fggp"]
    html = build(tmp_path, results).html.read_text()
    alt = re.search(r'alt="(Critical-difference diagram[^"]*)"', html).group(1)
    for method, rank in friedman.items():
        assert f"{method} {rank:.2f}" in alt
    assert "Iman–Davenport F" in html


def test_one_table_per_initial_density_dense_start_first():
    results = fabricated() + [
        result(m, acc, seed, init=0.5) for seed in range(2) for m, acc in FGGP_AHEAD.items()
    ]
    tables = paper_tables(analyse(results))
    assert [t.init_density for t in tables] == [1.0, 0.5]
    assert len(tables[1].columns) == 1 and tables[1].rows[0][1][0].n == 2


def test_latex_table():
    tex = latex_table(paper_tables(analyse(fabricated())))
    assert tex.count("\\begin{tabular}{lcc}") == 1
    assert "\\textbf{80.20 $\\pm$ 0.16}" in tex
    assert "75.20 $\\pm$ 0.16$^{*}$" in tex
    assert "annealed" not in tex and "--" in tex  # the empty gradient cell
    assert "95\\% & 98\\%" in tex


def test_rank_table():
    ranks = rank_table(analyse(fabricated()))
    rows = {method: (values, average) for method, values, average in ranks.rows}
    assert rows["fggp"] == ([1.0, 2.0], 1.5)
    assert rows["gradient"] == ([3.0, None], 3.0)


def test_pairwise_rows_put_both_tests_of_a_comparison_on_one_line():
    summary = analyse(fabricated())
    rows = {(r["setting"].split(" sparsity=")[1], r["b"]): r for r in pairwise_rows(summary)}
    assert sorted(rows) == [("0.95", "gradient"), ("0.95", "magnitude"), ("0.98", "magnitude")]
    magnitude = rows[("0.95", "magnitude")]
    assert magnitude["mean_diff"] == pytest.approx(5.0) and magnitude["t_n"] == 5
    assert magnitude["t_p_holm"] < 0.05 and magnitude["wilcoxon_p"] is None
    assert magnitude["notes"] and magnitude["notes"][0].startswith("n=5 pairs: Wilcoxon")
    assert len(summary.comparisons) == 2 * len(rows)


def test_run_rows_show_failed_and_missing_runs():
    results = fabricated()
    failed = dict(results[0], status="failed", error="CUDA out of memory")
    failed.pop("final")
    missing = result("gradient", 0.0, 0, sparsity=0.98)
    runs = [Run(failed["run_id"], failed["config"], "failed", failed)]
    runs += [Run("missing0000000", missing["config"], "missing", None)]
    rows = run_rows(runs, run_keys(runs))
    assert [(r["status"], r["test_acc"], r["error"]) for r in rows] == [
        ("failed", None, "CUDA out of memory"),
        ("missing", None, None),
    ]


def test_run_growth_sums_grown_over_the_schedule():
    assert run_growth(regrowing("rigl", 0, regrown=(0, 4), regrowth=(6, 0))) == Growth(10, 2, 150)
    assert run_growth(result("fggp", 80.0, 0)) == Growth(0, 0, 150)  # no `grown`: none
    assert Growth(30, 4, 150).percent == pytest.approx(20.0) and Growth(0, 0, 0).percent is None


def test_regrowth_rows_by_hand():
    runs = as_runs(with_regrowth())
    rows = regrowth_rows(runs, run_keys(runs))
    assert [(r.method, r.setting.target_sparsity, r.n) for r in rows] == [
        ("rigl", 0.95, 3),
        ("rigl", 0.98, 1),
    ]  # gmp and the paper's methods never grow a weight: no rows
    at95, at98 = rows
    assert at95.grown_mean == pytest.approx((10 + 3 + 0) / 3)
    assert at95.grown_percent_mean == pytest.approx((100 * 10 / 150 + 100 * 3 / 150 + 0) / 3)
    assert at95.growth_updates_mean == pytest.approx((2 + 1 + 0) / 3)
    assert at98.grown_mean == 30 and at98.growth_updates_mean == 4
    assert at98.grown_percent_mean == pytest.approx(20.0)


def test_cost_rows_give_the_share_spent_on_dense_gradients():
    runs = as_runs(with_regrowth())
    rows = {(r.method, r.target_sparsity): r for r in cost_rows(runs, run_keys(runs))}
    assert rows[("rigl", 0.95)].dense_gradient_percent == pytest.approx((10 + 20 + 0) / 3)
    assert rows[("rigl", 0.98)].dense_gradient_percent is None  # train_flops 0
    assert rows[("gmp", 0.95)].dense_gradient_percent == 0.0
    assert rows[("fggp", 0.95)].dense_gradient_percent == 0.0  # older records: nothing spent
    assert rows[("dense", None)].dense_gradient_percent == 0.0


def test_group_runs_sets_dense_apart_and_orders_settings():
    failed = dict(result("fggp", 1.0, 9), status="failed")
    runs = as_runs([*with_regrowth(), result("fggp", 60.0, 0, init=0.5), failed])
    (group,) = group_runs(runs, run_keys(runs))
    assert len(group.dense) == 5 and all(r["config"]["method"] == "dense" for r in group.dense)
    assert [(s.init_density, s.target_sparsity) for s in group.settings] == [
        (1.0, 0.95),
        (1.0, 0.98),
        (0.5, 0.95),
    ]
    assert [label for s, label, _ in group.cells() if s.target_sparsity == 0.95][:6] == [
        "fggp",
        "magnitude",
        "gradient",
        "gmp",
        "rigl",
        "fggp",
    ]
    assert len(group.at(1.0, 0.95)["fggp"]) == 5  # the failed run is left out
    assert list(group.at(0.5, 0.95)) == ["fggp"] and group.at(0.5, 0.98) == {}


# --- the whole report --------------------------------------------------------------------


def build(tmp_path: Path, results: list[dict[str, Any]], runs: list[Run] | None = None):
    return build_report(
        tmp_path / "report",
        title="fabricated",
        summary=analyse(results),
        runs=runs if runs is not None else as_runs(results),
        command="python run_all.py --preset fabricated",
    )


def test_report_from_fabricated_results_is_self_contained(tmp_path):
    results = fabricated()
    missing = result("gradient", 0.0, 0, sparsity=0.98)
    runs = [*as_runs(results), Run("feedfacefeedface", missing["config"], "missing", None)]
    files = build(tmp_path, results, runs)
    html = files.html.read_text()
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html), "only inline data and anchors"
    assert "http://" not in html and "https://" not in html
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) >= 5 and all(re.search(r'alt="[^"]{20,}"', img) for img in images)
    assert "feedfacefeedface" in html and "missing" in html
    for r in results:
        assert r["run_id"] in html
    assert "python run_all.py --preset fabricated" in html
    assert '<td class="text">bf16</td>' in html  # the precision the runs actually used
    assert json.loads(files.summary.read_text())["claims"][0]["id"] == 1
    with files.results_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(runs) and rows[-1]["status"] == "missing"
    with files.table_csv.open() as handle:
        table = list(csv.DictReader(handle))
    fggp = next(r for r in table if r["method"] == "fggp" and r["target_sparsity"] == "0.95")
    assert float(fggp["mean"]) == pytest.approx(80.2) and fggp["rank"] == "1.0"
    assert "\\toprule" in files.latex.read_text()
    # cells have t-intervals; a bootstrap of 2-5 runs is only the aggregates' description
    assert "t-interval" in _section(html, "results") + _section(html, "tests")
    assert "bootstrap" not in _section(html, "results")
    aggregates = _section(html, "aggregates")
    assert "bootstrap over the 5 seeds" in aggregates and "Same-seed pairs won" in aggregates
    assert "Seeds for 0.5" in html
    for verdict in re.findall(r'class="status status-(\w+)"', html):
        assert verdict in ("supported", "contradicted", "inconclusive")


def test_a_diverged_run_is_counted_at_chance_and_said_beside_its_cell(tmp_path):
    results = fabricated()
    diverged = next(r for r in results if r["config"]["method"] == "magnitude")
    diverged["status"] = "diverged"  # its logged 75.2% is not what it scores
    files = build(tmp_path, results)
    html = _section(files.html.read_text(), "results")
    assert "(1 diverged, at chance)" in html
    with files.table_csv.open() as handle:
        row = next(
            r
            for r in csv.DictReader(handle)
            if r["method"] == "magnitude" and r["target_sparsity"] == "0.95"
        )
    assert row["diverged"] == "1" and float(row["min"]) == 10.0 and row["n"] == "5"
    assert "$^{\\dagger}$" in files.latex.read_text()


def _section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}"', 1)[1].split("</section>", 1)[0]


def test_report_shows_the_weights_grown_and_what_dense_gradients_cost(tmp_path):
    files = build(tmp_path, with_regrowth())
    html = files.html.read_text()
    assert 'href="#regrowth"' in html
    section = _section(html, "regrowth")
    assert "switches it on while it was inactive" in section and "exactly 0.0" in section
    assert "dropped and regrown in the same update" in section
    body = section.split("<tbody>")[1]
    assert body.count("<tr>") == 2 and "gmp" not in body and "fggp" not in body
    assert "<td>3</td><td>4.3</td><td>2.89%</td><td>1.0</td>" in body
    assert "<td>1</td><td>30</td><td>20.00%</td><td>4.0</td>" in body
    with files.regrowth_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["method"], r["target_sparsity"], r["n"]) for r in rows] == [
        ("rigl", "0.95", "3"),
        ("rigl", "0.98", "1"),
    ]
    first = rows[0]
    assert first["setting"].endswith("init=1 sparsity=0.95") and first["arch"] == "vgg19"
    assert float(first["grown_mean"]) == pytest.approx(13 / 3)
    assert float(first["grown_percent_mean"]) == pytest.approx(26 / 9)
    assert float(first["growth_updates_mean"]) == pytest.approx(1.0)
    assert float(rows[1]["grown_percent_mean"]) == pytest.approx(20.0)
    cost = _section(html, "cost")
    assert '<th scope="col">Dense gradients</th>' in cost
    assert re.search(
        r'<td class="text">rigl</td><td>3</td>\n<td>[^<]*</td><td>[^<]*</td><td>10.00%</td>', cost
    )
    assert re.search(
        r'<td class="text">rigl</td><td>1</td>\n<td>[^<]*</td><td>[^<]*</td><td>—</td>', cost
    )
    # the pure regrowth updates do not make rigl's sparsity schedule differ from the others'
    assert "recorded different schedules" not in html
    assert "such as the regrowth updates between pruning steps, left aside" in html


def test_no_regrowth_table_when_no_run_grew_a_weight(tmp_path):
    files = build(tmp_path, [*fabricated(), *(regrowing("gmp", seed) for seed in range(2))])
    html = files.html.read_text()
    assert 'id="regrowth"' not in html and 'href="#regrowth"' not in html
    with files.regrowth_csv.open() as handle:
        reader = csv.DictReader(handle)
        assert list(reader) == [] and tuple(reader.fieldnames) == REGROWTH_COLUMNS
    assert re.search(
        r'<td class="text">gmp</td><td>2</td>\n<td>[^<]*</td><td>[^<]*</td><td>0.00%</td>',
        _section(html, "cost"),
    )


def test_report_with_one_seed_and_one_method(tmp_path):
    files = build(tmp_path, [result("fggp", 50.0, 0)])
    html = files.html.read_text()
    assert "inconclusive" in html and "not enough data" in html and "50.00" in html


@pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium not installed (Debian package `chromium`; .ci/run installs it)",
)
def test_report_opens_in_headless_chromium_without_errors(tmp_path):
    files = build(tmp_path, fabricated())
    shot = tmp_path / "report.png"
    check = check_page(files.html, shot)
    assert check.errors == [] and check.requests == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and check.height > 2000


@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium not installed")
def test_the_browser_check_catches_errors_and_outside_requests(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><body><img src="http://127.0.0.1:9/x.png" alt="x">'
        "<script>console.error('boom'); undefined_function();</script></body></html>"
    )
    check = check_page(page)
    assert any("boom" in e for e in check.errors)
    assert any("undefined_function" in e for e in check.errors)
    assert check.requests == ["http://127.0.0.1:9/x.png"]


def test_a_report_interrupted_half_way_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    """The set is published by one rename: summary.json and report.html of one state."""
    first = build(tmp_path, fabricated())
    before = {p.name: p.read_bytes() for p in first.html.parent.iterdir()}
    assert first.html.parent.is_symlink()

    import reports.build

    def interrupted(**_: Any) -> str:  # summary.json and the CSVs are written by now
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.build, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, fabricated()[:3])
    after = {p.name: p.read_bytes() for p in first.html.parent.iterdir()}
    assert after == before
    # the link and the one folder it points to: no half-built folder left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        first.html.parent.resolve().name,
        "report",
    ]


def test_a_report_folder_from_before_is_replaced_whole(tmp_path):
    old = tmp_path / "report"
    old.mkdir()
    (old / "stale.txt").write_text("from an older version")
    files = build(tmp_path, fabricated())
    assert files.html.exists() and not (old / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        files.html.parent.resolve().name,
        "report",
    ]


def test_run_all_interrupted_while_reporting_exits_cleanly(tmp_path, monkeypatch, capsys):
    import reports.build
    import run_all

    out = tmp_path / "grid"
    argv = ["--preset", "tiny", "--out", str(out), "--report-only"]
    assert run_all.main(argv) == 0
    html = (out / "report" / "report.html").read_bytes()

    def interrupted(**_: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(reports.build, "render", interrupted)
    capsys.readouterr()
    assert run_all.main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted while writing the report") and err.count("\n") == 1
    assert (out / "report" / "report.html").read_bytes() == html


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_a_finaliser_during_the_report_still_stops_it(
    tmp_path, monkeypatch, capsys, signum
):
    """A signal that lands while Python runs a finaliser (matplotlib and the garbage
    collector run them at any moment) must not be swallowed as "Exception ignored":
    the grid stops with one line, exit 130, and the previous report is kept."""
    import reports.build
    import run_all

    out = tmp_path / "grid"
    argv = ["--preset", "tiny", "--out", str(out), "--report-only"]
    assert run_all.main(argv) == 0
    html = (out / "report" / "report.html").read_bytes()
    real_render = reports.build.render

    class SignalsWhenCollected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signum)

    def render(**kwargs: Any) -> str:
        SignalsWhenCollected()  # dropped at once: the signal arrives inside __del__
        return real_render(**kwargs)

    monkeypatch.setattr(reports.build, "render", render)
    capsys.readouterr()
    assert run_all.main(argv) == 130
    captured = capsys.readouterr()
    assert "Exception ignored" not in captured.err
    assert captured.err.startswith("interrupted while writing the report")
    assert captured.err.count("\n") == 1
    assert (out / "report" / "report.html").read_bytes() == html


def test_a_grid_run_with_different_versions_is_flagged(tmp_path):
    """Runs made with two torch (or numpy, torchvision, Python, CUDA) versions are
    flagged at the top of the report; a version only some records state (older records
    lack numpy) is not a disagreement."""
    results = fabricated()
    assert "different versions" not in build(tmp_path / "same", results).html.read_text()
    results[0]["env"] = results[0]["env"] | {"torch": "2.11.0", "numpy": "1.26.4"}
    assert analyse(results).version_mix() == {"torch": ["2.11.0", "2.12.1"]}
    html = build(tmp_path / "mixed", results).html.read_text()
    assert (
        '<p class="warn">The runs were produced with different versions (torch: 2.11.0, 2.12.1)'
        in html
    )


# --- hostile labels and links ------------------------------------------------------------


HOSTILE = r"=a&b#c{d}e~f^g_h%i\j $x^$"
"""A method name as a user's file may spell it: a spreadsheet formula, every LaTeX special
and a matplotlib mathtext fragment that does not parse."""
HOSTILE_TEX = (
    r"=a\&b\#c\{d\}e\textasciitilde{}f\textasciicircum{}g\_h\%i\textbackslash{}j "
    r"\$x\textasciicircum{}\$"
)
HOSTILE_DATA = "npz:/data/$a^$_{b}.npz"


def hostile() -> list[dict[str, Any]]:
    """`fabricated` with magnitude renamed HOSTILE and every run on the data HOSTILE_DATA."""
    results = json.loads(json.dumps(fabricated()))
    for record in results:
        record["config"]["dataset"] = HOSTILE_DATA
        if record["config"]["method"] == "magnitude":
            record["config"]["method"] = HOSTILE
    return results


def test_a_hostile_method_label_and_data_path_are_escaped_for_each_output(tmp_path):
    """Such a label reached table.tex unescaped and the CSVs as a formula, and its `$x^$`
    (or the data path's) crashed the figures as mathtext."""
    files = build(tmp_path, hostile())
    tex = files.latex.read_text()
    (row,) = [line for line in tex.splitlines() if line.startswith("=")]
    assert row.startswith(f"{HOSTILE_TEX} & ")
    for name in ("results_csv", "table_csv"):
        with getattr(files, name).open() as handle:
            rows = list(csv.DictReader(handle))
        assert {r["method"] for r in rows if "=a&b" in r["method"]} == {f"'{HOSTILE}"}
        assert all(r["dataset"] == HOSTILE_DATA for r in rows)  # text, not a formula
    with files.table_csv.open() as handle:
        cells = [float(r["mean"]) for r in csv.DictReader(handle)]
    assert min(cells) > 0  # numbers are written as numbers
    assert HOSTILE not in files.html.read_text()  # autoescaped: & is &amp;


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_and_numbers_are_not(tmp_path):
    path = tmp_path / "t.csv"
    cells = {"a": -1.5, "b": "-1.5", "c": "=1+1", "d": "+x", "e": "@x", "f": "\tx", "g": 3}
    cells |= {"h": "\rx", "i": "plain", "j": None}
    _write_csv(path, list(cells), [cells])
    with path.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row == {
        "a": "-1.5",
        "b": "'-1.5",
        "c": "'=1+1",
        "d": "'+x",
        "e": "'@x",
        "f": "'\tx",
        "g": "3",
        "h": "'\rx",
        "i": "plain",
        "j": "",
    }


def test_a_report_link_to_another_hidden_folder_never_removes_it(tmp_path):
    """`report` planted as a link to a hidden sibling (`.git` where the store is the working
    directory) had that folder removed as the previous report."""
    hidden = tmp_path / ".git"
    hidden.mkdir()
    (hidden / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "report").symlink_to(".git")
    files = build(tmp_path, fabricated())
    assert (hidden / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert files.html.exists() and (tmp_path / "report").resolve() != hidden
