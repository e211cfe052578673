#!/usr/bin/env python3
"""Check that the declared minimum versions are real: install them and run the tests there.

    python3 tools/check_floors.py                  # the floor environment, ruff, the tests
    python3 tools/check_floors.py -x -vv           # extra arguments go to pytest

Reads every `name>=X` (or `name>=X,<Y`) line of requirements.txt, installs exactly
`name==X` for all of them together (torch with its matching torchvision minimum) into a
separate virtual environment, `.venv-floors` (or $FGGP_FLOORS_VENV), and runs `ruff check`
and the tests that exercise those packages (FLOOR_TESTS) there. The environment is rebuilt
from scratch only when the pins change, so the second call costs only the checks. Where the
package index cannot be reached, it prints one line saying the check was skipped and exits
0; any other failure (a floor that cannot be installed, ruff or a test failing at the
floors) exits non-zero. Standard library only, like tools/in_env.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"

# The statistics, power, claim-verdict, regression-rule and report tests, the regression
# rule's t quantile (scipy 1.11 and 1.12 compute it 1.6e-8 off the closed form), the
# packaging checks, one test that drives a tiny grid through submitit's local
# executor (it trains: torch's floor) and the one that uses torchvision's transforms.
FLOOR_TESTS = (
    "tests/test_stats.py",
    "tests/test_power.py",
    "tests/test_claim_verdicts.py",
    "tests/test_regression_rule.py",
    "tests/test_regression.py::test_t_is_the_bonferroni_one_sided_student_quantile",
    "tests/test_report.py",
    "tests/test_packaging.py",
    "tests/test_grid.py::test_the_slurm_path_through_submitits_local_executor",
    "tests/test_perf.py::test_reference_pipeline_normalises_like_the_harness",
)

# pip's messages when it cannot reach the index (urllib3/requests wording, DNS, proxies).
NETWORK_ERRORS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "connection broken by",
    "Could not fetch URL",
)

_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*(?P<floor>[0-9][0-9A-Za-z.]*)"
    r"(?:\s*,\s*<\s*[0-9][0-9A-Za-z.]*)?$"
)


def declared_minimums(text: str) -> dict[str, str]:
    """{name: minimum} for every requirement line; a line without a `>=` floor is an error."""
    minimums: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line)
        if match is None:
            raise ValueError(
                f"requirements.txt:{number}: {line!r} declares no minimum "
                "(expected `name>=X` or `name>=X,<Y`)"
            )
        name = match["name"].lower().replace("_", "-")
        if name in minimums:
            raise ValueError(f"requirements.txt:{number}: {name} is listed twice")
        minimums[name] = match["floor"]
    return minimums


def floor_pins(minimums: dict[str, str]) -> list[str]:
    """The exact pins installed: `name==minimum` for each declared requirement."""
    return [f"{name}=={floor}" for name, floor in minimums.items()]


def same_version(installed: str, floor: str) -> bool:
    """1.26.0 is 1.26; a local label (2.11.0+cpu) does not matter."""

    def release(version: str) -> tuple[str, ...]:
        parts = version.split("+")[0].split(".")
        while len(parts) > 1 and parts[-1] == "0":
            parts.pop()
        return tuple(parts)

    return release(installed) == release(floor)


def is_network_error(pip_output: str, pip_log: str = "") -> bool:
    """pip failed because it could not reach the index, not because of the pins themselves.

    `pip_log` is pip's --log, which keeps the connection errors that --quiet and zero
    retries leave out of `pip_output`. A connection that failed and then recovered leaves
    its traces too, so: when pip listed the versions it found ("from versions: 1.0, 1.1"),
    the index answered, and a conflict between pins is a conflict; both are real failures.
    """
    if not any(marker in pip_output + pip_log for marker in NETWORK_ERRORS):
        return False
    reached = re.search(r"from versions: (?!none\))", pip_output) is not None
    return not reached and "conflicting dependencies" not in pip_output


def venv_dir() -> Path:
    return Path(os.environ.get("FGGP_FLOORS_VENV", ROOT / ".venv-floors")).resolve()


class IndexUnreachable(Exception):
    pass


def ensure_env(env: Path, pins: list[str]) -> Path:
    python = env / "bin" / "python"
    digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()
    stamp = env / ".floors.sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    # From scratch: what an earlier set of pins pulled in must not stay behind.
    print(f"[check_floors] creating {env} with {' '.join(pins)}", file=sys.stderr)
    print("[check_floors] (first time: a few minutes, PyTorch is large)", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    log = env / "pip-install.log"
    result = subprocess.run(
        [*pip, "install", "--quiet", "--log", str(log), *pins],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        logged = log.read_text(errors="replace") if log.exists() else ""
        if is_network_error(output, logged):
            raise IndexUnreachable(_network_reason(output + "\n" + logged))
        sys.stderr.write(output)
        raise subprocess.CalledProcessError(result.returncode, result.args)
    stamp.write_text(digest + "\n")
    return python


def _network_reason(text: str) -> str:
    """What went wrong, in a few words: the connection error pip met first."""
    for line in text.splitlines():
        found = [marker for marker in NETWORK_ERRORS if marker in line]
        if found:
            detail = re.search(
                r"Failed to establish a new connection: [^'\")]*|Read timed out", line
            )
            return detail[0].strip() if detail else found[0]
    return "connection error"


_VERSIONS = """
import sys
from importlib.metadata import PackageNotFoundError, version

for name in sys.argv[1:]:
    try:
        print(name, version(name))
    except PackageNotFoundError:
        print(name, "-")
"""


def installed_versions(python: Path, names: list[str]) -> dict[str, str]:
    output = subprocess.run(
        [str(python), "-c", _VERSIONS, *names], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(" ", 1) for line in output.splitlines())


def main(argv: list[str]) -> int:
    try:
        minimums = declared_minimums(REQUIREMENTS.read_text())
    except ValueError as error:
        print(f"[check_floors] {error}", file=sys.stderr)
        return 1
    pins = floor_pins(minimums)
    env = venv_dir()
    try:
        python = ensure_env(env, pins)
    except IndexUnreachable as error:
        print(
            f"[check_floors] SKIPPED: the package index cannot be reached ({error}; "
            f"pip's log: {env / 'pip-install.log'}); the declared minimums were not checked"
        )
        return 0
    except subprocess.CalledProcessError as error:
        print(
            f"[check_floors] installing the declared minimums failed (exit {error.returncode})",
            file=sys.stderr,
        )
        return 1
    versions = installed_versions(python, list(minimums))
    print("[check_floors] installed: " + " ".join(f"{n}=={v}" for n, v in versions.items()))
    wrong = [n for n, v in versions.items() if not same_version(v, minimums[n])]
    if wrong:
        print(f"[check_floors] not at the declared minimum: {', '.join(wrong)}", file=sys.stderr)
        return 1
    environ = dict(os.environ, VIRTUAL_ENV=str(env))
    environ["PATH"] = f"{env / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    # ruff's floor is a floor only if the lint passes with it too.
    lint = subprocess.run([str(env / "bin" / "ruff"), "check", "."], cwd=ROOT, check=False)
    # Deprecation warnings from the old releases themselves are expected at the floors.
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--disable-warnings"]
    tests = subprocess.run(
        [*command, *FLOOR_TESTS, *argv], cwd=ROOT, env=environ, check=False
    ).returncode
    failed = [what for what, code in (("ruff", lint.returncode), ("the tests", tests)) if code]
    if failed:
        print(f"[check_floors] {' and '.join(failed)} fail at the declared minimums")
        return 1
    print("[check_floors] the declared minimums pass")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
