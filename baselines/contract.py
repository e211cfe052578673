"""What a pruning method is asked at a pruning step, and how its answer is checked.

A method is any object with `select(weight, grad, active, k, progress) -> Tensor`: a bool
mask over the flat prunable weights with exactly `k` active entries, the ones to prune.
`progress` runs from 0 at the first pruning step to 1 at the last. That five-argument form
is the whole contract for most methods, and user files written against it keep working.

Some methods anneal over the *training* clock rather than over the pruning steps (the
released annealed baseline's rate follows every training iteration). Such a method takes
a keyword parameter `context` in `select`; it then also receives a `StepContext` with the
step number and the iteration counts. The harness looks for that parameter once, when the
method is built, so a method asks for the clock by declaring it and nothing else changes.

The harness hands a method copies of its state, never the engine's own tensors, and
checks the answer against the engine's state: a method that writes into its inputs cannot
corrupt the masks or make a wrong selection look valid.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from benchmark.errors import UserError

CONTEXT_PARAM = "context"


@dataclass(frozen=True)
class StepContext:
    """Where a pruning step sits in the run.

    `iteration` counts the training iterations done so far, this step's own included
    (the released FGGP script's 1-based `train_iter`); `total_iterations` is the run's
    length in iterations, so `iteration / total_iterations` is the training clock.
    """

    progress: float  # 0 at the first pruning step, 1 at the last
    step: int  # 1-based
    n_steps: int
    iteration: int
    total_iterations: int


class PruningMethod(Protocol):
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        """Return a bool mask over the flat weights with exactly `k` entries, all active."""
        ...


class InvalidSelection(UserError):
    """A method broke the `select` contract; named so a user's own method is easy to fix."""


class MethodExited(InvalidSelection):
    """`select` raised SystemExit (or another non-Exception): the run fails, not the grid."""


def wants_context(method: PruningMethod) -> bool:
    """True when the method's `select` declares the `context` keyword parameter."""
    try:
        parameters = inspect.signature(method.select).parameters
    except (TypeError, ValueError):  # a builtin or C callable: the plain contract
        return False
    return CONTEXT_PARAM in parameters


def ask(
    method: PruningMethod,
    name: str,
    weight: Tensor,
    grad: Tensor,
    active: Tensor,
    k: int,
    context: StepContext,
    with_context: bool,
) -> Tensor:
    """The method's selection of `k` weights to prune, checked against `active`.

    The method sees copies of `weight`, `grad` and `active`; `active` itself (the engine's
    state) is what the answer is checked against.
    """
    inputs = (weight.clone(), grad.clone(), active.clone(), k, context.progress)
    extra = {CONTEXT_PARAM: context} if with_context else {}
    try:
        selection = method.select(*inputs, **extra)
    except (Exception, KeyboardInterrupt):  # errors are the run's; Ctrl-C is the user's
        raise
    except BaseException as error:  # SystemExit and the like would end the worker itself
        raise MethodExited(
            f"method {name!r} raised {type(error).__name__} in select: a method must return"
            " a selection or raise an Exception, never end the process"
        ) from None
    return check_selection(name, selection, active, k)


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
