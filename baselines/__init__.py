"""Pruning methods behind one registry; importing this package registers the built-ins."""

from baselines import annealed_hybrid, dense, fggp, gradient, hybrid, magnitude  # noqa: F401
from baselines.registry import (
    InvalidSelection,
    PruningMethod,
    available,
    build,
    check_selection,
    prunes,
    register,
    resolve_params,
)

__all__ = [
    "InvalidSelection",
    "PruningMethod",
    "available",
    "build",
    "check_selection",
    "prunes",
    "register",
    "resolve_params",
]
