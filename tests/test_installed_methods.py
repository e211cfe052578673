"""Methods from installed packages (the `fggp_bench.methods` entry points) and plain
`select` functions used as methods (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import baselines
import run_all
from baselines import installed
from benchmark.errors import UserError
from benchmark.grid.presets import expand, load_preset
from benchmark.grid.store import RunStore
from benchmark.run import main as run_main
from tests.support import without_timings
from tests.test_cli import TINY_FLAGS

LAB_MODULE = '''
from baselines.criteria import smallest_k


class LabMagnitude:
    """The built-in magnitude criterion, shipped by a lab as a package."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def select(self, weight, grad, active, k, progress):
        return smallest_k(self.scale * weight.abs(), active, k)
'''


def build_wheel(folder: Path, version: str) -> Path:
    """A minimal wheel of the package `labmethods`, declaring one method entry point."""
    info = f"labmethods-{version}.dist-info"
    files = {
        "labmethods/__init__.py": LAB_MODULE,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: labmethods\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/entry_points.txt": "[fggp_bench.methods]\n"
        "lab_magnitude = labmethods:LabMagnitude\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    wheel = folder / f"labmethods-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.fixture
def lab_package(tmp_path, monkeypatch) -> Path:
    """`pip install`s the wheel into a folder that this process and its workers import from."""
    target = tmp_path / "site"
    wheel = build_wheel(tmp_path, "1.0")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--no-deps", "--no-index", "--target", str(target), str(wheel)], check=True
    )
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setenv("PYTHONPATH", str(target))  # for the grid's spawned workers
    installed._entry_points.cache_clear()
    yield target
    installed._entry_points.cache_clear()


def result_of(out: Path) -> dict:
    """What a run computed: its epochs (without timings) and its per-layer densities."""
    (path,) = out.glob("*.json")
    result = json.loads(path.read_text())
    return {"history": without_timings(result["history"]), "layers": result["layers"]}


def test_an_installed_method_is_named_like_a_built_in(lab_package, tmp_path, capsys):
    assert "lab_magnitude" in baselines.available()
    params = baselines.resolve_params("lab_magnitude", {})
    assert params == {"package": "labmethods==1.0", "scale": 1.0}
    flags = [*TINY_FLAGS, "--target-sparsity", "0.8", "--quiet"]
    assert run_main([*flags, "--method", "lab_magnitude", "--out", str(tmp_path / "lab")]) == 0
    assert run_main([*flags, "--method", "magnitude", "--out", str(tmp_path / "builtin")]) == 0
    assert result_of(tmp_path / "lab") == result_of(tmp_path / "builtin")  # the same criterion
    (path,) = (tmp_path / "lab").glob("*.json")
    assert json.loads(path.read_text())["config"]["method_params"]["package"] == "labmethods==1.0"
    capsys.readouterr()


def test_a_run_planned_against_another_version_is_refused(lab_package):
    with pytest.raises(UserError, match="changed since this run was planned"):
        baselines.resolve_params("lab_magnitude", {"package": "labmethods==0.9"})


def test_an_installed_method_runs_in_grid_workers(lab_package, tmp_path, capsys):
    preset = tmp_path / "lab.toml"
    preset.write_text(
        "seeds = 1\ndense = false\n"
        '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 1\n'
        "batch_size = 64\ntrain_limit = 256\ntest_limit = 128\nprune_steps = 3\n"
        'target_sparsity = 0.9\n[[method]]\nname = "lab_magnitude"\n'
    )
    out = tmp_path / "grid"
    argv = ["--preset", str(preset), "--out", str(out), "--device", "cpu", "--workers", "1"]
    assert run_all.main(argv) == 0, capsys.readouterr().err
    (record,) = RunStore(out).completed(expand(load_preset(str(preset))))
    assert record["status"] == "completed"


def test_a_plain_select_function_is_the_method_itself(tmp_path, capsys):
    """`--method file.py:select_fn` once failed with "needs parameter 'weight'"."""
    path = tmp_path / "mine.py"
    path.write_text(
        "from baselines.criteria import smallest_k\n\n\n"
        "def smallest_weights(weight, grad, active, k, progress):\n"
        "    return smallest_k(weight.abs(), active, k)\n"
    )
    spec = f"{path}:smallest_weights"
    assert set(baselines.resolve_params(spec, {})) == {baselines.SOURCE_PARAM}
    flags = [*TINY_FLAGS, "--target-sparsity", "0.8", "--quiet"]
    assert run_main([*flags, "--method", spec, "--out", str(tmp_path / "fn")]) == 0
    assert run_main([*flags, "--method", "magnitude", "--out", str(tmp_path / "builtin")]) == 0
    assert result_of(tmp_path / "fn") == result_of(tmp_path / "builtin")
    capsys.readouterr()
