"""The pruning controller prunes at exactly the planned iterations, by the planned amounts."""

from __future__ import annotations

import torch
from torch import nn

import baselines
from benchmark.pruning import GradualPruner
from benchmark.schedule import prune_plan
from benchmark.sparsity import GradientSource, SparsityEngine


def test_prunes_only_at_planned_iterations_and_logs_what_happened():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    engine = SparsityEngine(net)
    plan = prune_plan(
        total_iterations=12,
        start=0.0,
        end=0.5,
        n_steps=3,
        every=0,
        initial_active=engine.n_prunable,
        n_prunable=engine.n_prunable,
        final_density=0.25,
    )
    pruner = GradualPruner(
        engine,
        baselines.build("fggp", {}),
        "fggp",
        GradientSource(engine.params, "batch", 0.9),
        plan,
        iterations_per_epoch=4,
        total_iterations=12,
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    changed_at = []
    for iteration in range(1, 13):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(torch.randn(8, 10)), torch.randint(0, 4, (8,))).backward()
        if pruner.after_backward(iteration, optimizer):
            changed_at.append(iteration)
            assert engine.active_count() == plan[len(changed_at) - 1].target_active
        optimizer.step()
        engine.apply_to_weights()
    assert changed_at == [2, 4, 6] == [s.iteration for s in plan]
    assert [entry["epoch"] for entry in pruner.log] == [0.5, 1.0, 1.5]
    assert pruner.log[-1]["density"] == round(0.25 * engine.n_prunable) / engine.n_prunable
    assert sum(entry["pruned"] for entry in pruner.log) == engine.n_prunable - engine.active_count()


def test_a_method_that_asks_for_the_clock_gets_the_training_iteration():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    engine = SparsityEngine(net)
    seen = []

    class Recorder:
        def select(self, weight, grad, active, k, progress, *, context):
            seen.append(context)
            return baselines.build("magnitude", {}).select(weight, grad, active, k, progress)

    plan = prune_plan(
        total_iterations=40,
        start=0.0,
        end=0.5,
        n_steps=0,
        every=7,
        initial_active=engine.n_prunable,
        n_prunable=engine.n_prunable,
        final_density=0.5,
    )
    pruner = GradualPruner(
        engine, Recorder(), "recorder", GradientSource(engine.params, "batch", 0.9), plan, 8, 40
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    for iteration in range(1, 41):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(torch.randn(8, 10)), torch.randint(0, 4, (8,))).backward()
        pruner.after_backward(iteration, optimizer)
    assert [c.iteration for c in seen] == [7, 14]
    assert [(c.step, c.n_steps, c.total_iterations) for c in seen] == [(1, 2, 40), (2, 2, 40)]
    assert [c.progress for c in seen] == [0.0, 1.0]
