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
    plan = prune_plan(12, 0.0, 0.5, 3, engine.n_prunable, engine.n_prunable, 0.25)
    pruner = GradualPruner(
        engine,
        baselines.build("fggp", {}),
        "fggp",
        GradientSource(engine.params, "batch", 0.9),
        plan,
        iterations_per_epoch=4,
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    changed_at = []
    for iteration in range(12):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(torch.randn(8, 10)), torch.randint(0, 4, (8,))).backward()
        if pruner.after_backward(iteration, optimizer):
            changed_at.append(iteration)
            assert engine.active_count() == plan[len(changed_at) - 1].target_active
        optimizer.step()
        engine.apply_to_weights()
    assert changed_at == [1, 3, 5] == [s.iteration for s in plan]
    assert [entry["epoch"] for entry in pruner.log] == [0.25, 0.75, 1.25]
    assert pruner.log[-1]["density"] == round(0.25 * engine.n_prunable) / engine.n_prunable
    assert sum(entry["pruned"] for entry in pruner.log) == engine.n_prunable - engine.active_count()
