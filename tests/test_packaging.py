"""The project's own files: environment.yml and requirements.txt ask for the same packages."""

from __future__ import annotations

from pathlib import Path

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
