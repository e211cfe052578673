"""Pruning methods behind one registry; importing this package registers the built-ins."""

from baselines import (  # noqa: F401
    annealed_hybrid,
    dense,
    drop_and_grow,
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
    RegrowingMethod,
    Regrowth,
    StepContext,
    UpdateClock,
    ask,
    ask_update,
    check_regrowth,
    check_selection,
    regrows,
    wants_context,
)
from baselines.registry import (
    PACKAGE_PARAM,
    SOURCE_PARAM,
    available,
    build,
    prunes,
    register,
    resolve_params,
)

__all__ = [
    "PACKAGE_PARAM",
    "SOURCE_PARAM",
    "InvalidSelection",
    "PruningMethod",
    "RegrowingMethod",
    "Regrowth",
    "StepContext",
    "UpdateClock",
    "ask",
    "ask_update",
    "available",
    "build",
    "check_regrowth",
    "check_selection",
    "prunes",
    "register",
    "regrows",
    "resolve_params",
    "wants_context",
]
