"""A user's own method in their own file: loaded by name, hashed, validated, used end to end."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import baselines
import run_all
from baselines import external
from benchmark.errors import UserError
from benchmark.grid import execute
from benchmark.grid.presets import expand, load_preset
from benchmark.grid.store import RunStore
from benchmark.run import main as run_main
from tests.support import assert_exact_sparsity, without_timings
from tests.test_cli import TINY_FLAGS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/taylor_score.py:TaylorScore"

TAYLOR_FILE = """
from dataclasses import dataclass

from baselines.criteria import smallest_k


@dataclass(frozen=True)
class Mine:
    power: float = 1.0

    def select(self, weight, grad, active, k, progress):
        return smallest_k((weight * grad).abs() ** self.power, active, k)
"""


def method_file(tmp_path: Path, body: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("spec", "is_file"),
    [
        ("fggp", False),
        ("examples/taylor_score.py:TaylorScore", True),
        ("/abs/dir.v2/m.py:make_method", True),
        ("m.py", False),
        ("m.py:", False),
        ("m.txt:Mine", False),
        ("m.py:not-a-name", False),
    ],
)
def test_file_specs_are_recognised(spec, is_file):
    assert external.is_file_spec(spec) is is_file


def test_the_file_hash_joins_the_parameters_and_follows_the_content(tmp_path):
    path = method_file(tmp_path, TAYLOR_FILE)
    spec = f"{path}:Mine"
    params = baselines.resolve_params(spec, {"power": 2})
    assert params == {"source_sha256": params["source_sha256"], "power": 2}
    assert len(params["source_sha256"]) == 16
    assert baselines.resolve_params(spec, params) == params  # a planned run resolves again
    path.write_text(TAYLOR_FILE + "\n# edited\n")
    edited = baselines.resolve_params(spec, {"power": 2})
    assert edited["source_sha256"] != params["source_sha256"]
    with pytest.raises(UserError, match="changed since this run was planned"):
        baselines.build(spec, params)  # planned against the old file: refused, not run
    assert baselines.build(spec, edited).power == 2  # the edited version is imported anew


@pytest.mark.parametrize(
    ("body", "spec_name", "message"),
    [
        (TAYLOR_FILE, "Missing", "defines no class or function 'Missing' \\(it defines: Mine\\)"),
        ("raise RuntimeError('boom')\n", "Mine", "failed to import: RuntimeError: boom"),
        ("def Mine(source_sha256=1):\n    pass\n", "Mine", "'source_sha256' is reserved"),
        ("def Mine():\n    return 3\n", "Mine", "built a int, which has no select"),
        ("def Mine(rate):\n    pass\n", "Mine", "needs parameter 'rate'"),
    ],
)
def test_a_broken_method_file_is_a_one_line_error(tmp_path, body, spec_name, message):
    path = method_file(tmp_path, body)
    with pytest.raises(UserError, match=message):
        baselines.build(f"{path}:{spec_name}", {})


def test_a_missing_method_file_is_named(tmp_path):
    with pytest.raises(UserError, match=r"method file not found: .*nowhere\.py"):
        baselines.build(f"{tmp_path}/nowhere.py:Mine", {})


def test_an_out_of_tree_method_through_the_run_cli(tmp_path, capsys):
    path = method_file(tmp_path, TAYLOR_FILE)
    out = tmp_path / "runs"
    flags = [*TINY_FLAGS, "--target-sparsity", "0.8", "--out", str(out), "--quiet"]
    spec = f"{path}:Mine"
    assert run_main([*flags, "--method", spec, "--method-param", "power=1.0"]) == 0
    assert run_main([*flags, "--method", "taylor"]) == 0
    results = [json.loads(path.read_text()) for path in out.iterdir()]
    results = {result["config"]["method"]: result for result in results}
    mine, builtin = results[spec], results["taylor"]
    assert mine["config"]["method_params"] == {
        "power": 1.0,
        "source_sha256": external.load(spec)[1],
    }
    assert_exact_sparsity(mine, 0.8)
    # the same criterion written out of tree gives the same run, to the last digit
    assert without_timings(mine["history"]) == without_timings(builtin["history"])


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        ("active.clone()", "selected \\d+ weights, expected exactly \\d+"),
        ("torch.zeros(3, dtype=torch.bool)", "returned shape \\(3,\\), expected"),
        # right at the first step, then the first k again: some of them are pruned by then
        ("torch.arange(active.numel()) < k", "selected \\d+ already-pruned weights"),
        ("(weight * 0).abs()", "returned dtype torch.float32, expected bool"),
    ],
)
def test_a_method_breaking_the_select_contract_is_named_by_the_cli(
    tmp_path, capsys, returns, message
):
    body = (
        "import torch\n\n"
        "class Bad:\n"
        "    def select(self, weight, grad, active, k, progress):\n"
        f"        return {returns}\n"
    )
    spec = f"{method_file(tmp_path, body, 'bad.py')}:Bad"
    out = tmp_path / "runs"
    flags = [*TINY_FLAGS, "--target-sparsity", "0.5", "--out", str(out), "--quiet"]
    assert run_main([*flags, "--method", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: method '{spec}' ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert not list(out.glob("*.json"))  # nothing was written from a corrupted run


def user_preset(tmp_path: Path) -> Path:
    preset = tmp_path / "mine.toml"
    preset.write_text(
        "seeds = 2\ndense = false\n"
        '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 1\n'
        "batch_size = 64\ntrain_limit = 256\ntest_limit = 128\nprune_steps = 3\n"
        "target_sparsity = 0.9\n"
        f'[[method]]\nname = "{EXAMPLE}"\n'
        '[[method]]\nname = "taylor"\n'
    )
    return preset


def test_an_out_of_tree_method_in_a_user_preset_runs_in_grid_workers(tmp_path, capsys):
    """The spawn workers load the file themselves; the example equals the built-in taylor."""
    preset = user_preset(tmp_path)
    out = tmp_path / "grid"
    argv = ["--preset", str(preset), "--out", str(out), "--device", "cpu", "--workers", "2"]
    assert run_all.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"{EXAMPLE}: " in printed and "taylor: " in printed
    configs = expand(load_preset(str(preset)))
    records = RunStore(out).completed(configs)
    assert len(records) == 4
    by = {(r["config"]["method"], r["config"]["seed"]): r["final"]["test_acc"] for r in records}
    assert all(by[EXAMPLE, seed] == by["taylor", seed] for seed in (0, 1))
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert {EXAMPLE, "taylor"} <= set(summary["settings"][0]["methods"])


def test_an_out_of_tree_method_runs_in_slurm_tasks(tmp_path, capsys):
    """Through submitit (its local executor): the task process loads the file by its path."""
    preset = user_preset(tmp_path)
    out = tmp_path / "slurm-grid"
    slurm = ["--executor", "slurm", "--slurm-cluster", "local", "--slurm-gpus", "0"]
    argv = ["--preset", str(preset), "--out", str(out), "--seeds", "1", *slurm]
    assert run_all.main([*argv, "--slurm-cpus", "1"]) == 0, capsys.readouterr().err
    configs = expand(load_preset(str(preset)), seeds=1)
    (mine,) = [r for r in RunStore(out).completed(configs) if r["config"]["method"] == EXAMPLE]
    assert mine["config"]["method_params"]["source_sha256"] == external.load(EXAMPLE)[1]


def beside_magnitude(tmp_path: Path, spec: str) -> Path:
    """A one-seed tiny preset of the method `spec` and `magnitude`."""
    preset = tmp_path / "beside.toml"
    preset.write_text(
        "seeds = 1\ndense = false\n"
        '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 1\n'
        "batch_size = 64\ntrain_limit = 256\ntest_limit = 128\nprune_steps = 3\n"
        "target_sparsity = 0.9\n"
        f'[[method]]\nname = "{spec}"\n[[method]]\nname = "magnitude"\n'
    )
    return preset


def test_a_method_raising_systemexit_fails_its_run_not_the_grid(tmp_path, capsys):
    """SystemExit in `select` once ended the worker: exit 0, no record, the next run lost."""
    body = "class Quits:\n    def select(self, weight, grad, active, k, progress):\n"
    body += "        raise SystemExit(0)\n"
    spec = f"{method_file(tmp_path, body, 'quits.py')}:Quits"
    preset = beside_magnitude(tmp_path, spec)
    out = tmp_path / "grid"
    argv = ["--preset", str(preset), "--out", str(out), "--device", "cpu", "--workers", "1"]
    assert run_all.main(argv) == 1  # a failed run, reported; the grid itself went on
    records = {
        r["config"]["method"]: r
        for r in (json.loads(p.read_text()) for p in (out / "runs").glob("*.json"))
    }
    assert records["magnitude"]["status"] == "completed"
    assert records[spec]["status"] == "failed" and "SystemExit" in records[spec]["error"]
    capsys.readouterr()


def test_a_method_that_never_returns_is_stopped_by_the_time_limit(tmp_path):
    """Off by default, a per-run limit ends a stuck method as its run's failure; the
    worker survives it and trains the next run."""
    body = "class Stuck:\n    def select(self, weight, grad, active, k, progress):\n"
    body += "        while True:\n            pass\n"
    spec = f"{method_file(tmp_path, body, 'stuck.py')}:Stuck"
    stuck, magnitude = expand(load_preset(str(beside_magnitude(tmp_path, spec))))
    store = RunStore(tmp_path / "grid")
    limit = execute.Execution(time_limit=3.0)
    started = time.perf_counter()
    outcome = execute.run_one(stuck.to_dict(), str(store.root), "cpu", 1, limit)
    assert time.perf_counter() - started < 30
    assert outcome.status == "failed" and "time limit of 3 s" in outcome.error
    assert "time limit" in store.read(stuck.run_id())["error"]
    assert execute.run_one(magnitude.to_dict(), str(store.root), "cpu", 1, limit).status == (
        "completed"
    )


@pytest.mark.parametrize("minutes", ["-1", "nan", "inf"])
def test_a_time_limit_that_is_no_duration_is_refused(tmp_path, capsys, minutes):
    argv = ["--preset", "tiny", "--out", str(tmp_path), "--time-limit", minutes]
    assert run_all.main(argv) == 2
    err = capsys.readouterr().err
    assert "time limit must be a non-negative number" in err and err.count("\n") == 1
