"""Pruning methods behind one registry; importing this package registers the built-ins."""

from baselines import (  # noqa: F401
    annealed_hybrid,
    dense,
    fggp,
    gradient,
    hybrid,
    magnitude,
    random_pruning,
    taylor,
)
from baselines.registry import (
    SOURCE_PARAM,
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
    "SOURCE_PARAM",
    "InvalidSelection",
    "PruningMethod",
    "available",
    "build",
    "check_selection",
    "prunes",
    "register",
    "resolve_params",
]
