"""The regression check: its rule by hand, its reference files, and catching real regressions."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

import baselines
import run_all
from baselines.criteria import smallest_k
from baselines.magnitude import Magnitude
from benchmark.errors import UserError
from benchmark.grid.presets import expand, load_preset
from benchmark.regression import Gate, Reference, judge, read, rule
from benchmark.regression import reference as ref
from benchmark.regression import selection as exact
from benchmark.regression.gate import NO_NOISE_ESTIMATE, format_table

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "benchmark" / "reference"


# --- the rule, on numbers worked out by hand ------------------------------------------
def test_binomial_sd_of_an_accuracy():
    assert rule.binomial_sd(50.0, 100) == pytest.approx(5.0)  # 100 sqrt(.25 / 100)
    assert rule.binomial_sd(10.0, 900) == pytest.approx(1.0)  # 100 sqrt(.09 / 900)
    assert rule.binomial_sd(100.0, 50) == 0.0


def test_t_is_the_bonferroni_one_sided_student_quantile():
    # 2 df: P(T <= t) = 1/2 + t / (2 sqrt(2 + t^2)) = 0.99 -> t^2 = 0.9604 * 2 / 0.0396
    # (scipy 1.11-1.12 compute it 1.6e-8 low: far below any difference a check could make)
    assert rule.t_critical(1, 2) == pytest.approx(math.sqrt(1.9208 / 0.0396), rel=1e-7)
    assert rule.t_critical(5, 10) == pytest.approx(3.7162, abs=1e-4)  # P(T10 > t) = 0.002
    assert rule.t_critical(1, 10**7) == pytest.approx(
        2.3263, abs=1e-4
    )  # the normal's, in the limit
    with pytest.raises(ValueError, match="no degrees of freedom"):
        rule.t_critical(7, 0)


def test_allowed_drop_and_each_cells_own_noise():
    assert rule.allowed_drop(2.0, 3, 3, 2.0) == pytest.approx(4 * math.sqrt(2 / 3))
    # (n-1) sd^2 over both sides: (2 * 1 + 4 * 4) / (2 + 4) = 3 on 6 degrees of freedom
    mixed, agreed, single = rule.two_sample_noise(
        [
            rule.Spread(1.0, 3, 0.5, 2.0, 5),
            rule.Spread(0.0, 3, 1.2, 0.0, 3),  # seeds that agreed exactly: the floor
            rule.Spread(None, 1, 1.2, None, 1),  # one run each side: no degree of freedom
        ]
    )
    assert mixed.sd == pytest.approx(math.sqrt(3)) and mixed.dof == 6
    assert mixed.critical == pytest.approx(rule.t_critical(3, 6))  # Bonferroni over 3 cells
    assert agreed.sd == 1.2 and agreed.dof == 4
    assert single is None


def result(target: float, mask_sparsity: float, sparsity: float) -> dict:
    return {
        "config": {"target_sparsity": target},
        "layers": [{"numel": 600}, {"numel": 400}],
        "final": {"mask_sparsity": mask_sparsity, "sparsity": sparsity},
    }


def test_exact_sparsity_is_read_from_masks_and_weights():
    assert rule.sparsity_problem(result(0.9, 0.9, 0.9)) is None
    assert rule.sparsity_problem(result(0.0, 0.0, 0.0)) is None
    assert rule.sparsity_problem(result(0.9, 0.899, 0.899)) == (
        "101 of 1000 weights active, target 0.9 means exactly 100"
    )
    assert rule.sparsity_problem(result(0.9, 0.9, 0.85)) == "50 pruned weights are not zero"
    assert rule.sparsity_problem(result(0.9, 0.9, 0.901)) is None  # a surviving weight at 0.0


# --- judging cells --------------------------------------------------------------------
def cell(method: str, accuracy: dict[int, float], sparsity: float = 0.9, problems=()) -> ref.Cell:
    values = list(accuracy.values())
    mean = sum(values) / len(values) if values else None
    std = None
    if len(values) > 1:
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    config = {"method": method, "seed": 0, "method_params": {}, "epochs": 2}
    return ref.Cell(
        key=ref.cell_key(config),
        setting="s",
        method=method,
        config=ref.cell_config(config),
        seeds=tuple(accuracy) or (0, 1, 2),
        accuracy=accuracy,
        mean=mean,
        std=std,
        sparsity=sparsity if values else None,
        n_test=1000,
        data="d" if values else None,
        method_source=None,
        problems=tuple(problems),
    )


def reference_of(*cells: ref.Cell) -> Reference:
    return Reference(Path("r.json"), "p", ref.HARNESS_VERSION, {}, cells)


def test_judge_applies_the_rule_cell_by_cell():
    # Reference: a mean 30 (sd 1), b mean 50 (sd 3), 3 runs each; two cells, so each is a
    # two-sample t test at 0.01 / 2 on 3 + 3 - 2 = 4 degrees of freedom.
    a = cell("a", {0: 29.0, 1: 30.0, 2: 31.0})
    b = cell("b", {0: 47.0, 1: 50.0, 2: 53.0})
    t = rule.t_critical(2, 4)  # P(T4 > t) = 0.005
    assert t == pytest.approx(4.6041, abs=1e-4)
    # a now at one value thrice: s^2 = (2 * 1 + 2 * 0) / 4 = 0.5, below the floor
    # 100 sqrt(.3 * .7 / 1000) = 1.449 -> allowed 4.6041 * 1.449 * sqrt(2/3) = 5.45
    allowed_a = t * rule.binomial_sd(30.0, 1000) * math.sqrt(2 / 3)
    assert allowed_a == pytest.approx(5.448, abs=1e-3)
    just_ok = cell("a", {0: 24.7, 1: 24.7, 2: 24.7})  # -5.3
    too_low = cell("a", {0: 24.3, 1: 24.3, 2: 24.3})  # -5.7
    # b, the same runs now: s = 3 on both sides -> allowed 4.6041 * 3 * sqrt(2/3) = 11.28
    verdicts = judge(reference_of(a, b), [just_ok, b])
    assert [v.status for v in verdicts] == ["ok", "ok"]
    assert verdicts[0].allowed == pytest.approx(allowed_a)
    assert verdicts[1].allowed == pytest.approx(t * 3 * math.sqrt(2 / 3))
    assert verdicts[1].noise == rule.Noise(pytest.approx(3.0), 4, pytest.approx(t))
    verdicts = judge(reference_of(a, b), [too_low, b])
    assert [v.status for v in verdicts] == ["REGRESSED", "ok"]
    assert verdicts[0].reasons == ["accuracy -5.70 points, more than the 5.45 allowed"]
    table = format_table(verdicts)
    assert "t = Student t at one-sided 0.01/2 on n_ref + n_now - 2 df" in table
    assert " 1.45   4.60    4.0 " in table  # a's s, t and df


def test_a_cell_without_a_spread_cannot_be_judged_and_says_why():
    """One run then and now: no degree of freedom for its noise, so that cell is FAILED."""
    a, b = cell("a", {0: 30.0}), cell("b", {0: 49.0, 1: 51.0})
    verdicts = judge(reference_of(a, b), [a, b])
    assert [v.status for v in verdicts] == ["FAILED", "ok"]
    assert verdicts[0].change == 0.0 and verdicts[0].allowed is None
    assert verdicts[0].reasons == [NO_NOISE_ESTIMATE]
    assert "cannot estimate that cell's noise" in format_table(verdicts)


def test_failed_runs_and_inexact_sparsity_fail_whatever_the_accuracy():
    a = cell("a", {0: 29.0, 1: 30.0, 2: 31.0})
    failed = cell("a", {0: 29.0, 1: 30.0}, problems=["seed 2: failed: RuntimeError: boom"])
    nothing = cell("a", {}, problems=["seed 0: no result"])
    moved = cell("a", {0: 29.0, 1: 30.0, 2: 31.0}, sparsity=0.8999)
    for now, reason in [
        (failed, "seed 2: failed: RuntimeError: boom"),
        (nothing, "seed 0: no result"),
        (moved, "final sparsity 0.8999, reference 0.9"),
        (dataclasses.replace(a, data="e" * 64), "trained on other data than the reference"),
    ]:
        (verdict,) = judge(reference_of(a), [now])
        assert verdict.status == "FAILED" and verdict.reasons[0].startswith(reason)


# --- reference files ------------------------------------------------------------------
TINY = load_preset("tiny")


def made_up_records(configs) -> dict:
    """Completed records of every run, with made-up accuracies (no training)."""
    records = {}
    for i, config in enumerate(configs):
        target = config.target_sparsity
        records[config.run_id()] = {
            "harness_version": ref.HARNESS_VERSION,
            "status": "completed",
            "config": config.to_dict(),
            "final": {"test_acc": 10.0 + i % 3, "sparsity": target, "mask_sparsity": target},
            "layers": [{"numel": 1000}],
            "data": {"n_test": 128, "fingerprint": "f"},
            "env": {"torch": "x"},
        }
    return records


def measured_reference(tmp_path: Path, seeds: int | None = None) -> Reference:
    """A reference for the tiny preset, from made-up records (file-format tests only)."""
    configs = expand(TINY, seeds=seeds)
    records = made_up_records(configs)
    cells = ref.measure(configs, records)
    fingerprints = {"fggp": "0" * 64}  # file-format tests: no method is driven
    return ref.build(
        tmp_path / "r.json", "tiny", cells, list(records.values()), 1.0, "cmd", fingerprints
    )


def test_a_reference_round_trips_and_matches_its_grid(tmp_path):
    reference = measured_reference(tmp_path)
    assert len(reference.cells) == 9  # 2 initial densities x 4 methods + dense
    reference.write()
    again = read(tmp_path / "r.json")
    assert again.as_dict() == reference.as_dict()
    again.require_grid("tiny", expand(TINY))
    assert again.measured["environment"] == {"torch": "x"}
    assert {c.method for c in again.cells} == {
        "fggp",
        "magnitude",
        "gradient",
        "annealed_hybrid",
        "dense",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text[: len(text) // 2], "is not valid JSON"),
        (lambda text: text.replace("fggp-bench/reference/2", "other/1"), "schema is not"),
        (lambda text: text.replace('"selection"', '"chosen"', 1), "KeyError: 'selection'"),
        (lambda text: text.replace(exact.INPUTS, "other-inputs"), "taken on inputs 'other-inp"),
        (lambda text: text.replace("0" * 64, "0" * 63), "is not a SHA-256 hex digest"),
        (lambda text: text.replace('"epochs": 1', '"epochs": 5', 1), "is inconsistent"),
        (lambda text: text.replace('"mean"', '"average"', 1), "KeyError: 'mean'"),
        (lambda text: text.replace('"mean": 10.', '"mean": 30.', 1), "disagree with its accura"),
        (lambda text: "[]", "not a valid fggp-bench/reference/2 file"),
    ],
)
def test_a_broken_reference_is_a_one_line_error(tmp_path, edit, message):
    measured_reference(tmp_path).write()
    path = tmp_path / "r.json"
    path.write_text(edit(path.read_text()))
    with pytest.raises(UserError, match=message) as error:
        read(path)
    assert "\n" not in str(error.value)


def test_a_reference_of_the_older_schema_is_read_without_an_exact_tier(tmp_path, capsys):
    """A file written before the fingerprints (schema 1): read as it is, and a check says
    in one line that it has no exact tier, then judges the accuracy as before."""
    old = dataclasses.replace(measured_reference(tmp_path), selection=None)
    old.write()
    text = old.path.read_text()
    assert '"schema": "fggp-bench/reference/1"' in text and '"selection"' not in text
    assert read(old.path).selection is None
    gate = open_check(old.path, TINY)
    assert not gate.selection_changed
    out = capsys.readouterr().out
    assert "exact tier skipped: the reference has no selection fingerprints" in out
    assert "--update-reference adds them" in out


def test_a_reference_of_another_grid_is_refused_by_name(tmp_path):
    reference = measured_reference(tmp_path)
    with pytest.raises(UserError, match="for preset 'tiny', not 'smoke'"):
        reference.require_grid("smoke", expand(TINY))
    with pytest.raises(UserError, match="epochs 1 there, 3 here"):
        reference.require_grid("tiny", expand(TINY, overrides={"epochs": 3}))
    with pytest.raises(UserError, match=r"seeds \[0, 1\] of fggp .* this grid has \[0, 1, 2\]"):
        reference.require_grid("tiny", expand(TINY, seeds=3))
    fewer = Reference(
        reference.path, "tiny", ref.HARNESS_VERSION, {}, reference.cells[1:]
    )  # a grid with a cell the reference does not have
    with pytest.raises(UserError, match="it has no fggp"):
        fewer.require_grid("tiny", expand(TINY))
    older = Reference(reference.path, "tiny", 0, {}, reference.cells)
    with pytest.raises(UserError, match="harness version 0"):
        older.require_grid("tiny", expand(TINY))


# --- end to end through run_all -------------------------------------------------------
def check(tmp_path: Path, preset: str, *flags: str) -> int:
    argv = ["--preset", preset, "--out", str(tmp_path / "grid"), "--device", "cpu"]
    return run_all.main([*argv, "--workers", "2", *flags])


def test_update_then_check_then_a_tampered_reference_fails(tmp_path, capsys):
    path = tmp_path / "tiny.json"
    # 4 methods + dense, 3 seeds: 15 short runs
    dense_start = ("--set", "init_density=1.0", "--seeds", "3")
    assert check(tmp_path, "tiny", *dense_start, "--update-reference", str(path)) == 0
    assert f"wrote {path}: 5 cells" in capsys.readouterr().out
    written = json.loads(path.read_text())
    command = "python run_all.py --preset tiny --seeds 3 --set init_density=1.0 --update-reference"
    assert written["measured"]["command"] == f"{command} {path}"

    # --report-only judges the stored runs (the runs just measured) without redoing them
    only = ("--report-only", "--check", str(path))
    assert check(tmp_path, "tiny", *dense_start, *only) == 0
    out = capsys.readouterr().out
    assert "regression check passed: 5 of 5 cells ok" in out
    assert "(the same: expect identical numbers)" in out and " +0.00 " in out
    assert "exact tier passed: 7 methods select exactly as in the reference" in out

    tampered = json.loads(path.read_text())
    # 40 points better "before": with 3 + 3 seeds per cell (4 degrees of freedom, t at
    # 0.01 / 5 = 7.17) and the binomial floor of 128 test images (4.4 points at 50%), the
    # rule allows about 26
    magnitude = tampered["cells"][1]
    magnitude["accuracy"] = {seed: acc + 40.0 for seed, acc in magnitude["accuracy"].items()}
    magnitude["mean"] += 40.0
    tampered["cells"][2]["sparsity"] = 0.95  # gradient "used to" reach another sparsity
    path.write_text(json.dumps(tampered))
    assert check(tmp_path, "tiny", *dense_start, *only) == 1
    out = capsys.readouterr().out
    assert "regression check FAILED: 3 of 5 cells ok" in out
    assert "REGRESSED: magnitude in synthetic vgg19 width=0.0625 epochs=1 init=1" in out
    assert "accuracy -40.00 points, more than the" in out
    assert "FAILED: gradient in" in out and "final sparsity 0.9, reference 0.95" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "reference file not found"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_bad_reference_input_exits_2_before_running_anything(tmp_path, capsys, content, message):
    path = tmp_path / "ref.json"
    if content is not None:
        path.write_text(content)
    assert check(tmp_path, "tiny", "--check", str(path)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "grid").exists()  # nothing was run


def test_another_presets_reference_is_neither_checked_nor_overwritten(tmp_path, capsys):
    shipped = REFERENCES / "regression.json"
    assert check(tmp_path, "tiny", "--check", str(shipped)) == 2
    assert "for preset 'regression', not 'tiny'" in capsys.readouterr().err
    copy = tmp_path / "copy.json"
    copy.write_bytes(shipped.read_bytes())
    assert check(tmp_path, "tiny", "--update-reference", str(copy)) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert copy.read_bytes() == shipped.read_bytes()
    assert not (tmp_path / "grid").exists()


def test_a_reference_is_only_written_from_runs_measured_now(tmp_path, capsys):
    path = tmp_path / "ref.json"
    assert check(tmp_path, "tiny", "--report-only", "--update-reference", str(path)) == 2
    assert "cannot use --report-only" in capsys.readouterr().err
    assert not path.exists()


def test_a_reference_of_single_runs_is_refused_before_running(tmp_path, capsys):
    """With one seed per cell the noise cannot be estimated: no check, and no such reference."""
    one_seed = measured_reference(tmp_path, seeds=1)
    one_seed.write()
    assert check(tmp_path, "tiny", "--seeds", "1", "--check", str(one_seed.path)) == 2
    assert "cannot estimate that cell's noise" in capsys.readouterr().err
    assert not (tmp_path / "grid").exists()  # nothing was run

    configs = expand(TINY, seeds=1)
    records = made_up_records(configs)
    path = tmp_path / "new.json"
    update = Gate("update", path, TINY, configs, None, "cmd")
    assert update._update(ref.measure(configs, records), list(records.values()), 1.0) == 1
    assert "reference NOT written: the reference has a cell of a single run" in (
        capsys.readouterr().err
    )
    assert not path.exists()


def test_missing_data_is_named_before_running(tmp_path, capsys):
    shipped = REFERENCES / "regression_cifar10.json"
    argv = ["--dataset", f"npz:{tmp_path / 'absent.npz'}", "--check", str(shipped)]
    assert check(tmp_path, "regression", *argv) == 2
    assert "the data of this check is missing" in capsys.readouterr().err
    assert not (tmp_path / "grid").exists()


LARGEST_FIRST = """
from dataclasses import dataclass

from baselines.criteria import smallest_k


@dataclass(frozen=True)
class Mine:
    def select(self, weight, grad, active, k, progress):
        return smallest_k({score}, active, k)
"""


def test_a_method_broken_after_its_reference_was_measured_fails_the_check(tmp_path, capsys):
    """Magnitude pruning as a user's method; then a bug makes it prune the largest weights.

    The regression preset's short but real budget, where magnitude pruning reaches about
    30% accuracy (chance: 10%) and pruning the largest weights leaves about 10%. Four seeds:
    the noise of a cell is estimated from its own runs then and now (4 + 4 - 2 = 6 degrees
    of freedom, t = 3.14: a drop of 2.2 times their sd allowed); with 2 seeds (2 degrees of
    freedom, t = 6.96) the rule would allow 7 times their sd.
    """
    method = tmp_path / "mine.py"
    method.write_text(LARGEST_FIRST.format(score="weight.abs()"))
    preset = tmp_path / "mine.toml"
    preset.write_text(
        "seeds = 4\n[base]\n"
        'dataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 2\nbatch_size = 32\n'
        "augment = false\ntest_limit = 500\nprune_steps = 5\n"
        'target_sparsity = 0.9\nprecision = "fp32"\n'
        f'[[method]]\nname = "{method}:Mine"\n'
    )
    path = tmp_path / "mine.json"
    assert check(tmp_path, str(preset), "--update-reference", str(path)) == 0
    (good,) = read(path).cells
    assert good.mean > 22.0, good.accuracy  # clearly above chance

    method.write_text(LARGEST_FIRST.format(score="-weight.abs()"))  # the bug
    capsys.readouterr()
    assert check(tmp_path, str(preset), "--check", str(path)) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "(its method file changed since" in out
    assert "regression check FAILED: 0 of 1 cells ok" in out


# --- the committed references -----------------------------------------------------------
CIFAR = "npz:../shared/data/cifar10_subset.npz"
SHIPPED = {"regression.json": {}, "regression_cifar10.json": {"dataset": CIFAR}}


@pytest.mark.parametrize(("name", "overrides"), SHIPPED.items())
def test_the_committed_references_match_the_regression_preset(name, overrides):
    reference = read(REFERENCES / name)
    reference.require_grid("regression", expand(load_preset("regression"), overrides=overrides))
    methods = {c.method for c in reference.cells}
    assert methods == {"fggp", "magnitude", "gradient", "annealed_hybrid", "taylor", "random"} | {
        "dense"
    }
    assert all(c.n == 12 for c in reference.cells)
    pruned = [c for c in reference.cells if c.method not in ("dense", "random")]
    assert all(c.mean > 17.0 for c in pruned), "the methods must sit well above chance (10%)"
    assert reference.measured["environment"]["precision"] == "fp32"
    # the same environment reproduces every accuracy: the reference judged against itself
    verdicts = judge(reference, reference.cells)
    assert [v.noise.critical for v in verdicts] == [pytest.approx(rule.t_critical(7, 22))] * 7
    assert [v.status for v in verdicts] == ["ok"] * 7
    # the exact tier: this code selects exactly as the reference records
    assert set(reference.selection) == (methods - {"dense"}) | set(exact.ALWAYS)
    assert reference.selection == exact.fingerprints(reference.methods())


# --- the exact tier ---------------------------------------------------------------------
REGRESSION = load_preset("regression")


def open_check(path: Path, preset=REGRESSION, **overrides) -> Gate:
    configs = expand(preset, overrides=overrides or None)
    return Gate.open(
        preset, configs, check=path, update=None, report_only=False, grid_words=["cmd"]
    )


def test_the_fixed_inputs_have_no_ties_and_cover_the_clock():
    """What the fingerprints rest on: |w|, |g| and |w g| distinct, several layers, a partly
    pruned start, pruning steps and regrowing updates along the clock."""
    import numpy as np

    weight, grad = exact.untied_inputs(np.random.default_rng(0), 5000)
    assert weight.dtype == grad.dtype == np.float32
    for values in (np.abs(weight), np.abs(grad), np.abs(weight * grad)):
        assert len(np.unique(values)) == 5000
    assert all(len(case.shapes) >= 3 for case in exact.CASES)
    assert any(case.init_density < 1.0 for case in exact.CASES)
    params = baselines.resolve_params("rigl", {})
    masks = exact.drive("rigl", params, exact.CASES[0])
    counts = [int(m.sum()) for _, m in masks]
    assert len(set(counts)) > exact.CASES[0].n_steps  # every pruning step removed weights
    exchanges = [  # updates between pruning steps: same count, other weights
        i
        for i in range(1, len(masks))
        if counts[i] == counts[i - 1] and not bool((masks[i][1] == masks[i - 1][1]).all())
    ]
    assert len(exchanges) >= 5
    for name in ("fggp", "random", "set"):  # exactly reproducible
        params = baselines.resolve_params(name, {})
        assert exact.fingerprint(name, params) == exact.fingerprint(name, params)


def test_an_unchanged_tree_passes_the_exact_tier(capsys):
    gate = open_check(REFERENCES / "regression.json")
    assert not gate.selection_changed
    assert "exact tier passed: 9 methods select exactly as in the reference" in (
        capsys.readouterr().out
    )


def test_a_changed_selection_fails_the_check_before_training_naming_the_method(
    tmp_path, monkeypatch, capsys
):
    """Magnitude pruning that takes the k smallest |w| among all but the very smallest:
    a change no 8-seed accuracy check could see, and the exact tier names it at once."""

    def almost_smallest(self, weight, grad, active, k, progress):
        keep = smallest_k(weight.abs(), active, 1)
        return smallest_k(weight.abs(), active & ~keep, k)

    monkeypatch.setattr(Magnitude, "select", almost_smallest)
    gate = open_check(REFERENCES / "regression.json")
    assert gate.selection_changed
    out = capsys.readouterr().out
    assert "exact tier FAILED: the selection of magnitude changed" in out
    assert "  magnitude: fingerprint " in out and "fggp" not in out.split("FAILED")[1]
    shipped = str(REFERENCES / "regression.json")
    assert check(tmp_path, "regression", "--check", shipped) == 1
    assert "the selection of magnitude changed" in capsys.readouterr().out
    assert not (tmp_path / "grid").exists()  # nothing was trained


def test_a_changed_regrowth_names_the_regrowing_methods(monkeypatch, capsys):
    """One weight fewer exchanged per layer and update: GraNet, RigL and SET change, the
    pruning methods (which never call it) do not."""
    from baselines import drop_and_grow

    real = drop_and_grow.layer_drop_count
    monkeypatch.setattr(drop_and_grow, "layer_drop_count", lambda *args: max(real(*args) - 1, 0))
    gate = open_check(REFERENCES / "regression_cifar10.json", dataset=CIFAR)
    assert gate.selection_changed
    assert "exact tier FAILED: the selection of granet, rigl, set changed" in (
        capsys.readouterr().out
    )


def test_an_update_writes_the_new_fingerprints(tmp_path, monkeypatch):
    """--update-reference re-measures the fingerprints with the accuracies: the changed
    method's is new, the others' are as before."""
    methods = exact.methods_of(
        (ref.method_label(c), c) for c, _ in ref.plan_cells(expand(TINY)).values()
    )
    before = exact.fingerprints(methods)
    monkeypatch.setattr(
        Magnitude, "select", lambda self, w, g, active, k, p: smallest_k(-w.abs(), active, k)
    )
    configs = expand(TINY)
    records = made_up_records(configs)
    path = tmp_path / "new.json"
    update = Gate("update", path, TINY, configs, None, "cmd")
    assert update._update(ref.measure(configs, records), list(records.values()), 1.0) == 0
    written = read(path).selection
    assert set(written) == {"annealed_hybrid", "fggp", "gradient", "magnitude", *exact.ALWAYS}
    assert exact.changed(before, written) == ["magnitude"]
