"""The project's own files: environment.yml and requirements.txt ask for the same packages."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--arch", "vgg19", "--width", "0.0625", "--dataset", "synthetic", "--epochs", "1"]
TINY += ["--train-limit", "128", "--test-limit", "64", "--prune-steps", "2", "--device", "cpu"]


def requirement_lines(text: str) -> set[str]:
    return {line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()}


def environment_pip_lines(text: str) -> set[str]:
    """The entries of the `- pip:` list (a tiny reader: the file is ours and kept simple)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    entries = set()
    for line in lines[start + 1 :]:
        if not line.strip() or len(line) - len(line.lstrip()) < indent:
            break
        entries.add(line.strip().removeprefix("- ").strip())
    return entries


def test_environment_yml_matches_requirements():
    required = requirement_lines((ROOT / "requirements.txt").read_text())
    in_env = environment_pip_lines((ROOT / "environment.yml").read_text())
    assert required == in_env
    assert any(r.startswith("torch>=") for r in required)
    assert any(r.startswith("torchvision>=") for r in required)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 tools/in_env.py python -m pytest -q"
    assert command in readme and command in ci
    assert "python3 tools/in_env.py python run_all.py" in readme


def test_ci_runs_both_regression_checks():
    """.ci/run and the GitHub workflow check both shipped references (docs/regression.md)."""
    ci = (ROOT / ".ci" / "run").read_text()
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for reference in ("regression.json", "regression_cifar10.json"):
        assert (ROOT / "benchmark" / "reference" / reference).is_file()
        assert f"--check benchmark/reference/{reference}" in ci
        assert f"--check benchmark/reference/{reference}" in workflow
    assert "python3 tools/in_env.py python -m pytest -q" in workflow
    assert 'if [ -f "$subset" ]' in ci and "skipped" in ci  # no subset: a message, exit 0


def floors_tool():
    """tools/check_floors.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location(
        "check_floors", ROOT / "tools" / "check_floors.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_requirement_declares_a_minimum_and_the_floor_check_pins_it():
    tool = floors_tool()
    required = requirement_lines((ROOT / "requirements.txt").read_text())
    minimums = tool.declared_minimums((ROOT / "requirements.txt").read_text())
    assert len(minimums) == len(required)  # every line parsed, none without a floor
    for name in ("torch", "torchvision", "numpy", "scipy", "matplotlib", "jinja2", "submitit"):
        assert name in minimums
    pins = tool.floor_pins(minimums)
    assert sorted(pins) == sorted(line.replace(">=", "==").split(",")[0] for line in required)


def test_floor_parsing_of_ranges_comments_and_bad_lines():
    tool = floors_tool()
    text = "# comment\nnumpy>=1.26  # why\nsubmitit >= 1.5, <2\n\nJinja2>=3.1\n"
    minimums = tool.declared_minimums(text)
    assert minimums == {"numpy": "1.26", "submitit": "1.5", "jinja2": "3.1"}
    assert tool.floor_pins(minimums) == ["numpy==1.26", "submitit==1.5", "jinja2==3.1"]
    for bad in ("scipy\n", "scipy==1.13\n", "scipy<2\n", "scipy>=1.13\nscipy>=1.14\n"):
        with pytest.raises(ValueError, match=r"requirements\.txt:"):
            tool.declared_minimums(bad)


def test_torch_and_torchvision_floors_and_caps_are_a_matching_pair():
    """Each torchvision 0.N release pins torch 2.(N - 15): both bounds must agree."""
    lines = requirement_lines((ROOT / "requirements.txt").read_text())
    bounds = {line.split(">=")[0]: line.split(">=")[1].split(",<") for line in lines}
    for torch_bound, vision_bound in zip(bounds["torch"], bounds["torchvision"], strict=True):
        assert torch_bound.startswith("2.") and vision_bound.startswith("0.")
        assert int(vision_bound.split(".")[1]) - 15 == int(torch_bound.split(".")[1])


def test_floor_check_versions_skip_rule_and_wiring():
    tool = floors_tool()
    assert tool.same_version("1.26.0", "1.26") and tool.same_version("2.11.0+cu130", "2.11")
    assert not tool.same_version("1.26.4", "1.26") and not tool.same_version("1.3", "1.30")
    not_found = (
        "ERROR: Could not find a version that satisfies the requirement scipy==1.13 "
        "(from versions: none)\nERROR: No matching distribution found for scipy==1.13\n"
    )
    retried = "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError'\n"
    logged = "Could not fetch URL https://pypi.org/simple/scipy/: connection error: ...\n"
    assert tool.is_network_error(retried + not_found)  # offline: skip
    assert tool.is_network_error(not_found, logged)  # zero retries: only pip's --log says why
    assert not tool.is_network_error(not_found)  # no such package and no connection error
    listed = not_found.replace("(from versions: none)", "(from versions: 1.12.0, 1.14.1)")
    assert not tool.is_network_error(retried + listed)  # the index answered: a real failure
    conflict = (
        "ERROR: Cannot install a==1 and b==2: these package versions have conflicting dependencies."
    )
    assert not tool.is_network_error(conflict, logged)
    for test in tool.FLOOR_TESTS:  # a renamed test must not drop out of the floor check
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), test
        assert not name or f"def {name}(" in (ROOT / path).read_text(), test
    assert "python3 tools/check_floors.py" in (ROOT / ".ci" / "run").read_text()
    # names, not "name/": a worktree's .venv that is a symlink must be ignored too
    assert {".venv", ".venv-floors"} <= set((ROOT / ".gitignore").read_text().splitlines())


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_is_the_one_list_of_dependencies():
    project = pyproject()["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    assert declared == requirement_lines((ROOT / "requirements.txt").read_text())


def test_the_lock_pins_every_requirement_within_its_range():
    """requirements.lock is what CI tests; a pin outside a declared range would test a
    version users of the ranges can never get."""
    pins = {
        canonical(name): version
        for name, _, version in (
            line.partition("==")
            for line in requirement_lines((ROOT / "requirements.lock").read_text())
        )
    }
    for line in requirement_lines((ROOT / "requirements.txt").read_text()):
        name = canonical(line.split(">=")[0])
        assert name in pins, f"{name} is not in requirements.lock"
        assert version_in(pins[name], line.split(">=")[1]), (name, pins[name], line)


def canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def version_in(version: str, bounds: str) -> bool:
    """`version` against `MIN` or `MIN,<MAX` (the forms requirements.txt uses)."""
    numbers = tuple(int(part) for part in version.split("+")[0].split(".")[:3])
    low, _, high = bounds.partition(",<")

    def parse(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    below = not high or numbers < parse(high)
    return numbers[: len(parse(low))] >= parse(low) and below


def test_version_ranges_are_read_as_pip_reads_them():
    assert version_in("2.12.1", "2.11,<2.13") and not version_in("2.13.0", "2.11,<2.13")
    assert version_in("1.26.0", "1.26") and not version_in("1.25.9", "1.26")


def test_in_env_installs_the_lock_on_ci_platforms_only(monkeypatch):
    spec = importlib.util.spec_from_file_location("in_env", ROOT / "tools" / "in_env.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.delenv("FGGP_UNLOCKED", raising=False)
    monkeypatch.setattr(tool.sys, "platform", "linux")
    monkeypatch.setattr(tool.platform, "machine", lambda: "x86_64")
    assert tool.requirements_file() == ROOT / "requirements.lock"
    monkeypatch.setenv("FGGP_UNLOCKED", "1")
    assert tool.requirements_file() == ROOT / "requirements.txt"
    monkeypatch.delenv("FGGP_UNLOCKED")
    monkeypatch.setattr(tool.sys, "platform", "darwin")
    assert tool.requirements_file() == ROOT / "requirements.txt"


def test_pip_install_gives_a_working_install(tmp_path):
    """`pip install .` into a fresh virtual environment: the packages, their data files and
    the `fggp-bench` command work from anywhere. The new environment borrows this one's
    installed dependencies (a .pth file) so that only the build backend is downloaded."""
    source = tmp_path / "source"
    top_level = {".git", "results", "data", "build"}  # benchmark/data is code: keep it
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda folder, names: {
            n
            for n in names
            if n.startswith(".venv")
            or n in {"__pycache__"}
            or n.endswith(".egg-info")
            or (Path(folder) == ROOT and n in top_level)
        },
    )
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Build isolation fetches setuptools from the package index (this suite's other
    # dependencies are borrowed): where the index is unreachable, say so and skip.
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-deps"]
    built = subprocess.run([*pip, str(source)], capture_output=True, text=True)
    if built.returncode != 0 and floors_tool().is_network_error(built.stdout + built.stderr):
        pytest.skip("pip install . needs setuptools from the package index, which is unreachable")
    assert built.returncode == 0, built.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def command(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(env / "bin" / "fggp-bench"), *words], cwd=elsewhere, capture_output=True, text=True
        )

    where = subprocess.run(
        [
            str(python),
            "-c",
            "import benchmark, baselines, reports, run_all; print(benchmark.__file__)",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    assert str(env) in where.stdout  # the installed copy, not the source tree
    planned = command("grid", "--preset", "tiny", "--dry-run")  # presets and recipes installed
    assert planned.returncode == 0 and "grid: 18 runs" in planned.stdout, planned.stderr
    out = elsewhere / "one"
    run = command("run", *TINY, "--method", "magnitude", "--out", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    assert len(list(out.glob("*.json"))) == 1
    assert command("nosuch").returncode == 2
