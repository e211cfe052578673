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
from baselines.contract import (
    InvalidSelection,
    PruningMethod,
    StepContext,
    ask,
    check_selection,
    wants_context,
)
from baselines.registry import (
    SOURCE_PARAM,
    available,
    build,
    prunes,
    register,
    resolve_params,
)

__all__ = [
    "SOURCE_PARAM",
    "InvalidSelection",
    "PruningMethod",
    "StepContext",
    "ask",
    "available",
    "build",
    "check_selection",
    "prunes",
    "register",
    "resolve_params",
    "wants_context",
]
