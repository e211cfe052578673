"""Pruning methods from installed packages: the `fggp_bench.methods` entry-point group.

A lab that keeps its methods in a package declares them in its own pyproject.toml,

    [project.entry-points."fggp_bench.methods"]
    lab_taylor = "labmethods.taylor:LabTaylor"

and after `pip install` names them like built-ins (`--method lab_taylor`, `name =
"lab_taylor"` in a preset), in single runs, grid workers and Slurm tasks alike: every
process finds them in its own environment. The distribution's name and version join the
run's parameters (`baselines.registry.PACKAGE_PARAM`), so upgrading the package gives new
runs new identities and a run planned against one version never silently runs another.
A built-in name always wins over an installed one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from benchmark.errors import UserError

GROUP = "fggp_bench.methods"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    """The group's entry points by name, read once per process (importing nothing)."""
    return {point.name: point for point in entry_points(group=GROUP)}


def names() -> list[str]:
    return sorted(_entry_points())


def find(name: str) -> EntryPoint | None:
    return _entry_points().get(name)


def load(point: EntryPoint) -> tuple[Callable[..., Any], str]:
    """The entry point's factory, and `distribution==version` of the package it is from."""
    try:
        factory = point.load()
    except Exception as error:  # a lab's package is user code: it may raise anything
        message = f"{type(error).__name__}: {error}".splitlines()[0]
        raise UserError(
            f"installed method {point.name!r} ({point.value}) failed to load: {message}"
        ) from None
    if not callable(factory):
        raise UserError(
            f"installed method {point.name!r} ({point.value}) is not a class or function"
        )
    dist = point.dist
    return factory, f"{dist.name}=={dist.version}" if dist is not None else point.value
