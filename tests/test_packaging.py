"""The project's own files: environment.yml and requirements.txt ask for the same packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    assert ".venv-floors/" in (ROOT / ".gitignore").read_text().splitlines()
