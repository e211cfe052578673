"""What a result was produced with: enough to tell two result files' origins apart."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """Where datasets are cached: $FGGP_DATA_DIR, else `data/` of a checkout, else (an
    installed copy, whose folder is site-packages) the user's cache folder."""
    if os.environ.get("FGGP_DATA_DIR"):
        return Path(os.environ["FGGP_DATA_DIR"]).expanduser()
    if (REPO_ROOT / "run_all.py").is_file() and (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "fggp-bench" / "data"


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """HEAD of the checkout, suffixed `-dirty` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return _cpu_model() or platform.processor() or platform.machine() or device.type


def _cpu_model() -> str | None:
    """The CPU's marketing name on Linux (`platform.processor()` there is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        return None
    return None


def describe(device: torch.device) -> dict[str, object]:
    return {
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "numpy": _version("numpy"),
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "device": device_name(device),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "threads": torch.get_num_threads(),
    }


def _version(package: str) -> str | None:
    """An installed package's version, read without importing it."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
