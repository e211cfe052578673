"""Pruning methods behind one registry; importing this package registers the built-ins.

Imported by the harness (`planning`, `pruning`, `train`, the commands) and by
`reports.styles` (the methods' names); it imports only `benchmark.errors` and torch, so
a method sees what the contract (`baselines.contract`) hands it and nothing of the
harness's state.
"""

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
