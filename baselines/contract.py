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

A *regrowing* method (dynamic sparse training: GraNet, RigL, SET) may also switch weights
back on. It has `update(weight, grad, active, k, context) -> Regrowth` instead of (or
beside) `select`, and a `clock` (`UpdateClock`): the iterations, besides the run's pruning
steps, at which it is asked. It answers with the weights to remove and the weights to
grow; the net count it removes is the schedule's `k` (0 at an update that is not a pruning
step). A grown weight starts at exactly 0.0 with no momentum; a weight it removes and grows
in the same update stays as it was (GraNet's and RigL's rule: see docs/methods.md).

The harness hands a method copies of its state, never the engine's own tensors, and
checks the answer against the engine's state: a method that writes into its inputs cannot
corrupt the masks or make a wrong selection look valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from collections.abc import Iterator
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
    layer_numels: tuple[int, ...] = ()  # the flat vector's layers, in order
    seed: int = 0  # the run's seed: a method's random draws derive from it and `iteration`
    update: bool = False  # this iteration is on the regrowing method's own update clock

    def generator(self, stream: int = 0) -> torch.Generator:
        """A CPU generator for this step's random draws: a pure function of the run's
        seed, the iteration and `stream`, so a repeated or resumed run draws the same."""
        words = f"{self.seed}:{self.iteration}:{stream}".encode()
        seed = int.from_bytes(hashlib.sha256(words).digest()[:8], "little") >> 1
        return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class UpdateClock:
    """When a regrowing method updates its mask: every `every` training iterations whose
    training fraction lies in (start, end] (RigL: every 100 up to 75%; GraNet: every 1000
    for the whole run)."""

    every: int
    start: float = 0.0
    end: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"update_every must be a positive integer, got {self.every!r}")
        if not 0.0 <= self.start < self.end <= 1.0:
            raise ValueError(
                f"need 0 <= update start < update end <= 1, got {self.start}, {self.end}"
            )


@dataclass(frozen=True)
class Regrowth:
    """A regrowing method's answer, bool masks over the flat weights, applied in order:
    `prune` first (those weights are zeroed, as at a pruning step), then the exchange:
    `remove` switches active weights off and `grow` switches weights on. A grown weight
    that was inactive before the exchange (a pruned one included) starts at 0.0 with no
    momentum; one in both `remove` and `grow` stays as it was. The net count, |prune| +
    |remove| - |grow|, is the plan's `k`."""

    remove: Tensor
    grow: Tensor
    prune: Tensor | None = None  # None: nothing pruned before the exchange


class PruningMethod(Protocol):
    def select(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, progress: float
    ) -> Tensor:
        """Return a bool mask over the flat weights with exactly `k` entries, all active."""
        ...


class RegrowingMethod(Protocol):
    clock: UpdateClock

    def update(
        self, weight: Tensor, grad: Tensor, active: Tensor, k: int, context: StepContext
    ) -> Regrowth:
        """Weights to remove and to grow, removing `k` more than it grows."""
        ...


def regrows(method: object) -> bool:
    """True for a method that can switch weights back on (it has `update` and a `clock`)."""
    return callable(getattr(method, "update", None)) and isinstance(
        getattr(method, "clock", None), UpdateClock
    )


class InvalidSelection(UserError):
    """A method broke the `select` contract; named so a user's own method is easy to fix."""


class MethodExited(InvalidSelection):
    """`select` raised SystemExit (or another non-Exception): the run fails, not the grid."""


def wants_context(method: PruningMethod) -> bool:
    """True when the method's `select` declares the `context` keyword parameter."""
    select = getattr(method, "select", None)
    if select is None:  # a regrowing method: its `update` always gets the context
        return False
    try:
        parameters = inspect.signature(select).parameters
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
    with _contained(name, "select"):
        selection = method.select(*inputs, **extra)
    return check_selection(name, selection, active, k)


def ask_update(
    method: RegrowingMethod,
    name: str,
    weight: Tensor,
    grad: Tensor,
    active: Tensor,
    k: int,
    context: StepContext,
) -> Regrowth:
    """The regrowing method's update, on copies, checked against the engine's `active`."""
    with _contained(name, "update"):
        answer = method.update(weight.clone(), grad.clone(), active.clone(), k, context)
    return check_regrowth(name, answer, active, k)


@contextlib.contextmanager
def _contained(name: str, call: str) -> Iterator[None]:
    """Let a method's Exception through as the run's; turn SystemExit and the like, which
    would end the worker itself, into the run's failure. Ctrl-C stays the user's."""
    try:
        yield
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as error:
        raise MethodExited(
            f"method {name!r} raised {type(error).__name__} in {call}: a method must return"
            " an answer or raise an Exception, never end the process"
        ) from None


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


def check_regrowth(name: str, answer: object, active: Tensor, k: int) -> Regrowth:
    """Refuse an update that would corrupt the masks or miss the schedule's count."""
    if not isinstance(answer, Regrowth):
        raise InvalidSelection(
            f"method {name!r} update returned {type(answer).__name__}, not a Regrowth"
        )
    prune = torch.zeros_like(active) if answer.prune is None else answer.prune
    for label, mask in (("remove", answer.remove), ("grow", answer.grow), ("prune", prune)):
        if not isinstance(mask, Tensor) or mask.shape != active.shape or mask.dtype != torch.bool:
            raise InvalidSelection(
                f"method {name!r} update: {label} must be a bool Tensor of shape "
                f"{tuple(active.shape)}"
            )
    stray = int((prune & ~active).sum())
    if stray:
        raise InvalidSelection(f"method {name!r} update prunes {stray} already-inactive weights")
    survivors = active & ~prune
    stray = int((answer.remove & ~survivors).sum())
    if stray:
        raise InvalidSelection(
            f"method {name!r} update removes {stray} weights that are inactive or pruned"
        )
    doubled = int((answer.grow & survivors & ~answer.remove).sum())
    if doubled:
        raise InvalidSelection(f"method {name!r} update grows {doubled} weights that stay active")
    net = int(prune.sum()) + int(answer.remove.sum()) - int(answer.grow.sum())
    if net != k:
        raise InvalidSelection(
            f"method {name!r} update removes {net} weights net, expected exactly {k}"
        )
    return answer
