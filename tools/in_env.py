#!/usr/bin/env python3
"""Run a command inside the project's virtual environment, creating or refreshing it first.

    python3 tools/in_env.py python run_all.py
    python3 tools/in_env.py python -m pytest -q

Needs only python3 and access to the package index. The environment lives in `.venv`
(or $FGGP_VENV). On Linux x86-64 it gets requirements.lock, the exact versions CI tested;
elsewhere (the lock's CUDA wheels are Linux-only), or with FGGP_UNLOCKED=1, the ranges of
requirements.txt. It is reinstalled only when that file changes, so the second call costs
nothing. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"


def requirements_file() -> Path:
    """The lock where CI's platform is this one, else the declared ranges."""
    locked = sys.platform == "linux" and platform.machine() == "x86_64"
    return LOCK if locked and not os.environ.get("FGGP_UNLOCKED") else REQUIREMENTS


def venv_dir() -> Path:
    return Path(os.environ.get("FGGP_VENV", ROOT / ".venv")).resolve()


def ensure_env(env: Path) -> Path:
    python = env / "bin" / "python"
    if not python.exists():
        print(f"[in_env] creating virtual environment {env}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    requirements = requirements_file()
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = env / ".requirements.sha256"
    if not stamp.exists() or stamp.read_text().strip() != digest:
        note = f"[in_env] installing {requirements.name} (first time: a few minutes)"
        print(note, file=sys.stderr)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", "-r", str(requirements)], check=True)
        stamp.write_text(digest + "\n")
    return env / "bin"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        bin_dir = ensure_env(venv_dir())
    except subprocess.CalledProcessError as error:
        print(
            f"[in_env] installing the environment failed (exit {error.returncode})", file=sys.stderr
        )
        return 1
    program = bin_dir / argv[0]
    executable = str(program) if program.exists() else argv[0]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["VIRTUAL_ENV"] = str(bin_dir.parent)
    os.chdir(ROOT)
    try:
        os.execvp(executable, [executable, *argv[1:]])
    except OSError as error:
        print(f"[in_env] cannot run {argv[0]!r}: {error.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
