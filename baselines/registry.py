"""Pruning methods by name: one registry that single runs, presets and the grid share.

A method is anything with `select(weight, grad, active, k, progress) -> Tensor`
(`baselines.contract`). It is registered as a *factory* (a class or a function) whose
keyword parameters are the method's hyperparameters; their defaults are filled in before
a run is hashed, so `fggp` and `fggp(select_ratio=0.5)` name the same run.

Besides registered names, a name may be a file spec, `path/to/file.py:factory`
(`baselines.external`): the file is loaded lazily by whichever process needs it, and
its content hash joins the parameters as `source_sha256`, so the run's identity covers
the code that defines the method. A name may also be a method of an installed package
(`baselines.installed`, the `fggp_bench.methods` entry points), whose `distribution==
version` joins the parameters as `package`.

A factory may be the method itself: a plain function whose first parameters are those of
`select` (weight, grad, active, k, progress) is wrapped as a method with no parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from baselines import external, installed
from baselines.contract import PruningMethod, regrows
from benchmark.errors import UserError

SOURCE_PARAM = "source_sha256"
"""Added to a file method's parameters: the hash of the file the run was planned with."""
PACKAGE_PARAM = "package"
"""Added to an installed method's parameters: the `distribution==version` planned with."""
SELECT_PARAMETERS = ("weight", "grad", "active", "k", "progress")


Factory = Callable[..., PruningMethod]
_REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def decorate(factory: Factory) -> Factory:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"pruning method {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return decorate


def available() -> list[str]:
    return sorted({*_REGISTRY, *installed.names()})


Provenance = tuple[str, str] | None
"""(parameter, value) that records where a method's code came from; None: the harness."""


def _lookup(name: str) -> tuple[Factory, Provenance]:
    """The factory a name stands for, and where an out-of-tree method's code came from."""
    if name in _REGISTRY:
        return _REGISTRY[name], None
    if external.is_file_spec(name):
        factory, digest = external.load(name)
        return _as_factory(factory), (SOURCE_PARAM, digest)
    point = installed.find(name)
    if point is not None:
        factory, package = installed.load(point)
        return _as_factory(factory), (PACKAGE_PARAM, package)
    raise UserError(
        f"unknown method {name!r}; choose from: {', '.join(available())}, "
        "or name your own as path/to/file.py:factory"
    )


class SelectFunction:
    """A plain `select` function used as a method: nothing to configure, nothing to hold."""

    def __init__(self, select: Callable[..., Any]) -> None:
        self.select = select


def _as_factory(candidate: Callable[..., Any]) -> Factory:
    """A function with `select`'s parameters is the method itself, not its factory: a
    user who writes `def select(weight, grad, active, k, progress)` and names it gets it."""
    if not inspect.isfunction(candidate):
        return candidate
    names = tuple(inspect.signature(candidate).parameters)
    if names[: len(SELECT_PARAMETERS)] != SELECT_PARAMETERS:
        return candidate

    def method() -> SelectFunction:
        return SelectFunction(candidate)

    return method


def resolve_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The method's full parameter set: given values over the factory's defaults.

    For a file method, also `source_sha256`: the hash of the file as loaded, which must
    equal a hash already given (a run planned against another version is refused); for
    an installed method, `package` the same way.
    """
    return _resolve(name, *_lookup(name), params)


def _resolve(
    name: str, factory: Factory, provenance: Provenance, params: Mapping[str, Any]
) -> dict[str, Any]:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C type named as a file method's factory
        raise UserError(f"method {name!r}: cannot read the parameters of {factory!r}") from None
    params = dict(params)
    resolved: dict[str, Any] = {}
    if provenance is not None:
        key, value = provenance
        if key in signature.parameters:
            raise UserError(f"method {name!r}: the parameter name {key!r} is reserved")
        planned = params.pop(key, value)
        if planned != value:
            raise UserError(
                f"the code of method {name!r} changed since this run was planned "
                f"({key} {planned} then, {value} now); plan it again for a new run id"
            )
        resolved[key] = value
    for parameter in signature.parameters.values():
        if parameter.name in params:
            resolved[parameter.name] = params[parameter.name]
        elif parameter.default is not inspect.Parameter.empty:
            resolved[parameter.name] = parameter.default
        else:
            raise UserError(f"method {name!r} needs parameter {parameter.name!r}")
    unknown = sorted(set(params) - set(resolved))
    if unknown:
        known = ", ".join(k for k in resolved if k not in (SOURCE_PARAM, PACKAGE_PARAM)) or "none"
        raise UserError(f"method {name!r} has no parameter(s) {', '.join(unknown)} (has: {known})")
    return resolved


def build(name: str, params: Mapping[str, Any]) -> PruningMethod:
    """The method object a run uses; refuses one that has no `select` to call."""
    factory, provenance = _lookup(name)
    kwargs = _resolve(name, factory, provenance, params)
    if provenance is not None:
        kwargs.pop(provenance[0])
    try:
        method = factory(**kwargs)
    except (TypeError, ValueError) as error:  # the factory's own word on its parameters
        raise UserError(f"method {name!r}: {_first_line(error)}") from None
    except Exception as error:  # a file method's factory is user code: it may raise anything
        raise UserError(
            f"method {name!r} failed to build: {type(error).__name__}: {_first_line(error)}"
        ) from None
    if not callable(getattr(method, "select", None)) and not regrows(method):
        raise UserError(
            f"method {name!r} built a {type(method).__name__}, which has no "
            "select(weight, grad, active, k, progress) method (nor update(...) and an "
            "UpdateClock `clock`, for a regrowing method)"
        )
    return method


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def prunes(method: PruningMethod) -> bool:
    """False for methods that train the dense network (the upper bound)."""
    return getattr(method, "prunes", True)
