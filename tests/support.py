"""Assertions and set-ups shared by the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

import baselines
from benchmark.config import RunConfig
from benchmark.pruning import GradualPruner
from benchmark.regression.rule import sparsity_problem
from benchmark.schedule import PruneStep, prune_plan
from benchmark.sparsity import GradientSource, SparsityEngine

TINY_RUN = RunConfig(
    arch="vgg19",
    width=0.0625,
    dataset="synthetic",
    method="fggp",
    target_sparsity=0.9,
    epochs=1,
    batch_size=64,
    train_limit=256,
    test_limit=128,
    prune_steps=3,
)
"""The tiny preset's run (the command-line tests' TINY_FLAGS): VGG-19 at 1/16 width,
one epoch of 256 synthetic images, about a second on a CPU. Tests vary it by `replace`."""


def assert_exact_sparsity(result: dict[str, Any], target: float) -> None:
    """The run's weights are pruned to exactly the target's count (the regression check's
    rule), and no surviving weight happens to be zero."""
    assert result["config"]["target_sparsity"] == target
    problem = sparsity_problem(result)
    assert problem is None, problem
    assert result["final"]["sparsity"] == result["final"]["mask_sparsity"]


# What legitimately differs between two executions of the same run.
VOLATILE_KEYS = {"seconds", "wall_seconds", "peak_memory_bytes", "finished_at", "env"}


def without_timings(value: Any) -> Any:
    """A result with its timings and environment removed, for comparing two executions."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


@dataclass
class Controlled:
    """A small MLP trained under the pruning controller, one iteration at a time in
    `TrainingRun.train_step`'s order, for tests of the controller and of the methods
    that it asks."""

    net: nn.Module
    engine: SparsityEngine
    pruner: GradualPruner
    optimizer: torch.optim.SGD
    batch: int

    def step(self, iteration: int) -> bool:
        """Backward on a random batch, the controller, masked gradients, the SGD step,
        masked weights; whether the controller changed the masks."""
        first, last = self.net[0], self.net[-1]
        self.optimizer.zero_grad()
        images = torch.randn(self.batch, first.in_features)
        labels = torch.randint(0, last.out_features, (self.batch,))
        nn.functional.cross_entropy(self.net(images), labels).backward()
        changed = self.pruner.after_backward(iteration, self.optimizer)
        self.engine.apply_to_gradients()
        self.optimizer.step()
        self.engine.apply_to_weights()
        return changed


def controlled(
    method: Any,
    widths: tuple[int, int, int],
    plan: Callable[[SparsityEngine], list[PruneStep]],
    *,
    params: dict[str, Any] | None = None,
    iterations_per_epoch: int,
    total_iterations: int,
    lr: float,
    momentum: float = 0.9,
    batch: int = 8,
    start_density: float | None = None,
) -> Controlled:
    """A seeded MLP `widths` (in, hidden, classes) whose engine starts dense, or at
    `start_density` from a seeded random mask, and `plan(engine)` as its pruning plan;
    `method` is a registry name (built with `params`) or a method object."""
    torch.manual_seed(0)
    inputs, hidden, classes = widths
    net = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    engine = SparsityEngine(net)
    if start_density is not None:
        engine.init_random(start_density, torch.Generator().manual_seed(1))
    built = baselines.build(method, params or {}) if isinstance(method, str) else method
    name = method if isinstance(method, str) else type(method).__name__
    pruner = GradualPruner(
        engine,
        built,
        name,
        GradientSource(engine.params, "batch", 0.9),
        plan(engine),
        iterations_per_epoch=iterations_per_epoch,
        total_iterations=total_iterations,
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    return Controlled(net, engine, pruner, optimizer, batch)


def dense_start_plan(**schedule: Any) -> Callable[[SparsityEngine], list[PruneStep]]:
    """`prune_plan` from the engine's full count of prunable weights."""

    def plan(engine: SparsityEngine) -> list[PruneStep]:
        return prune_plan(
            **schedule, initial_active=engine.n_prunable, n_prunable=engine.n_prunable
        )

    return plan
