"""Pruning methods that live in a user's own file: `--method path/to/file.py:name`.

A user adds a method without touching the harness: a class or function `name` in any
Python file, whose keyword parameters are the method's hyperparameters (exactly like a
registered built-in). The spec is a plain string, so it travels through configurations,
run hashes, spawned grid workers and Slurm tasks unchanged, and every process loads the
file itself, lazily, the first time the name is used.

The file's *content* is part of the method: its hash is recorded with the run's
parameters (see `baselines.registry.SOURCE_PARAM`), so editing the file gives new runs
new identities, and a run planned against one version never silently runs another. The
code executed is compiled from the very bytes that were hashed.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

SEPARATOR = ":"
SUFFIX = ".py"
HASH_CHARS = 16  # like a run id: enough to tell versions of one file apart

_loaded: dict[tuple[Path, str], types.ModuleType] = {}


def is_file_spec(name: str) -> bool:
    """`path/to/file.py:attribute`, as opposed to a registered name."""
    path, sep, attribute = name.rpartition(SEPARATOR)
    return bool(sep) and path.endswith(SUFFIX) and attribute.isidentifier()


def split_spec(name: str) -> tuple[Path, str]:
    path, _, attribute = name.rpartition(SEPARATOR)
    return Path(path).expanduser(), attribute


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(
            f"method file not found: {path} (paths are relative to the folder you run from)"
        ) from None
    except OSError as error:
        raise UserError(f"cannot read method file {path}: {error.strerror}") from None


def _digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()[:HASH_CHARS]


def load(name: str) -> tuple[Callable[..., Any], str]:
    """The factory `attribute` of the file and the hash of the bytes it was compiled from.

    A file is imported once per process and version; an edited file is imported anew.
    """
    path, attribute = split_spec(name)
    source = _read(path)
    digest = _digest(source)
    key = (path.resolve(), digest)
    if key not in _loaded:
        _loaded[key] = _import(path, source, digest)
    module = _loaded[key]
    factory = getattr(module, attribute, None)
    if not callable(factory):
        defined = sorted(
            n for n, v in vars(module).items() if getattr(v, "__module__", None) == module.__name__
        )
        raise UserError(
            f"method file {path} defines no class or function {attribute!r} "
            f"(it defines: {', '.join(defined) or 'none'})"
        )
    return factory, digest


def _import(path: Path, source: bytes, digest: str) -> types.ModuleType:
    module_name = f"fggp_method_{path.stem}_{digest}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path.resolve())
    # Registered before running it: dataclasses and pickling look classes up by module.
    sys.modules[module_name] = module
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except Exception as error:
        del sys.modules[module_name]
        message = f"{type(error).__name__}: {error}".splitlines()[0]
        raise UserError(f"method file {path} failed to import: {message}") from None
    return module
