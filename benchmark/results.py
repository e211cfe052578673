"""Reading result files back: a damaged or foreign file is redone, never trusted."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmark.train import SCHEMA


def load_result(path: Path) -> dict[str, Any] | None:
    """The completed result stored at `path`, or None when it must be (re)computed."""
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"warning: ignoring unreadable result {path}: {error}", file=sys.stderr)
        return None
    if not isinstance(result, dict) or result.get("schema") != SCHEMA:
        print(f"warning: ignoring {path}: not a {SCHEMA} result", file=sys.stderr)
        return None
    if result.get("run_id") != Path(path).stem or result.get("status") != "completed":
        return None
    return result
