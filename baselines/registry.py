"""Pruning methods by name: one registry that single runs, presets and the grid share.

A method is anything with `select(weight, grad, active, k, progress) -> Tensor`. It is
registered as a *factory* (a class or a function) whose keyword parameters are the
method's hyperparameters; their defaults are filled in before a run is hashed, so
`fggp` and `fggp(rate=0.5)` name the same run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch
from torch import Tensor

from benchmark.errors import UserError


class PruningMethod(Protocol):
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        """Return a bool mask over the flat weights with exactly `k` entries, all active."""
        ...


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
    return sorted(_REGISTRY)


def _factory(name: str) -> Factory:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(f"unknown method {name!r}; choose from: {', '.join(available())}") from None


def resolve_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The method's full parameter set: given values over the factory's defaults."""
    signature = inspect.signature(_factory(name))
    resolved: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.name in params:
            resolved[parameter.name] = params[parameter.name]
        elif parameter.default is not inspect.Parameter.empty:
            resolved[parameter.name] = parameter.default
        else:
            raise UserError(f"method {name!r} needs parameter {parameter.name!r}")
    unknown = sorted(set(params) - set(resolved))
    if unknown:
        known = ", ".join(resolved) or "none"
        raise UserError(f"method {name!r} has no parameter(s) {', '.join(unknown)} (has: {known})")
    return resolved


def build(name: str, params: Mapping[str, Any]) -> PruningMethod:
    try:
        return _factory(name)(**resolve_params(name, params))
    except (TypeError, ValueError) as error:
        raise UserError(f"method {name!r}: {error}") from None


def prunes(method: PruningMethod) -> bool:
    """False for methods that train the dense network (the upper bound)."""
    return getattr(method, "prunes", True)


class InvalidSelection(UserError):
    """A method broke the `select` contract; named so a user's own method is easy to fix."""


def check_selection(name: str, selection: object, active: Tensor, k: int) -> Tensor:
    """Refuse a selection that would silently corrupt the masks."""
    if not isinstance(selection, Tensor):
        raise InvalidSelection(f"method {name!r} returned {type(selection).__name__}, not a Tensor")
    if selection.shape != active.shape:
        raise InvalidSelection(
            f"method {name!r} returned shape {tuple(selection.shape)}, "
            f"expected {tuple(active.shape)}"
        )
    if selection.dtype != torch.bool:
        raise InvalidSelection(f"method {name!r} returned dtype {selection.dtype}, expected bool")
    chosen = int(selection.sum())
    if chosen != k:
        raise InvalidSelection(f"method {name!r} selected {chosen} weights, expected exactly {k}")
    revived = int((selection & ~active).sum())
    if revived:
        raise InvalidSelection(f"method {name!r} selected {revived} already-pruned weights")
    return selection
