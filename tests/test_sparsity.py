"""Masks: ERK initial densities, exact counts, and pruned weights that stay exactly zero."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import baselines
from baselines import StepContext
from benchmark.schedule import prune_plan
from benchmark.sparsity import GradientSource, SparsityEngine, erk_densities, prunable_layers


def prune_once(engine, method, name, grad, k, progress=0.5, optimizer=None) -> None:
    """One pruning step along the harness's path: ask the method, then tell the engine."""
    context = StepContext(progress=progress, step=1, n_steps=1, iteration=1, total_iterations=1)
    active, weight = engine.flat_active(), engine.flat_weights()
    wants = baselines.wants_context(method)
    selection = baselines.ask(method, name, weight, grad, active, k, context, wants)
    engine.remove(selection, optimizer)


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def test_erk_hand_cases():
    shapes = [(10, 10), (4, 5)]
    # raw: 20/100 = 0.2 and 9/20 = 0.45; budget 60 -> scale 60/29
    assert erk_densities(shapes, 0.5) == pytest.approx([0.2 * 60 / 29, 0.45 * 60 / 29])
    # budget 96 -> second layer would be 1.49: it is kept dense, the first gets 76/100
    assert erk_densities(shapes, 0.8) == pytest.approx([0.76, 1.0])


def test_erk_matches_overall_density_on_a_real_model():
    shapes = [tuple(p.shape) for _, p in prunable_layers(small_net())]
    densities = erk_densities(shapes, 0.3)
    sizes = [math.prod(s) for s in shapes]
    assert sum(d * n for d, n in zip(densities, sizes, strict=True)) == pytest.approx(
        0.3 * sum(sizes)
    )
    assert all(0 < d <= 1 for d in densities)


def test_prunable_layers_and_keep_first_last_dense():
    net = small_net()
    assert [n for n, _ in prunable_layers(net)] == ["0.weight", "3.weight", "7.weight"]
    assert [n for n, _ in prunable_layers(net, keep_first_dense=True)] == [
        "3.weight",
        "7.weight",
    ]
    assert [n for n, _ in prunable_layers(net, keep_first_last_dense=True)] == ["3.weight"]


def test_random_init_is_exact_and_seeded():
    engine = SparsityEngine(small_net())
    engine.init_random(0.5, torch.Generator().manual_seed(3))
    shapes = [tuple(p.shape) for p in engine.params]
    expected = [
        round(d * math.prod(s)) for d, s in zip(erk_densities(shapes, 0.5), shapes, strict=True)
    ]
    assert [int(m.sum()) for m in engine.masks] == expected
    assert engine.active_count() == pytest.approx(0.5 * engine.n_prunable, abs=len(shapes))
    assert all(torch.equal(p == 0, ~m) for p, m in zip(engine.params, engine.masks, strict=True))
    again = SparsityEngine(small_net())
    again.init_random(0.5, torch.Generator().manual_seed(3))
    other = SparsityEngine(small_net())
    other.init_random(0.5, torch.Generator().manual_seed(4))
    assert all(torch.equal(a, b) for a, b in zip(engine.masks, again.masks, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(engine.masks, other.masks, strict=True))


def train_steps(net, engine, optimizer, steps, prune_at=(), k=0, method="magnitude"):
    torch.manual_seed(1)
    chooser = baselines.build(method, {})
    for step in range(steps):
        images, labels = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(images), labels).backward()
        if step in prune_at:
            grad = torch.cat([p.grad.reshape(-1) for p in engine.params])
            prune_once(engine, chooser, method, grad, k, 0.5, optimizer)
        engine.apply_to_gradients()
        optimizer.step()
        engine.apply_to_weights()


def test_pruned_weights_stay_exactly_zero_under_momentum_and_weight_decay():
    net = small_net()
    engine = SparsityEngine(net)
    optimizer = torch.optim.SGD(
        net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    # Let momentum build up first, so a pruned weight's buffer is non-zero when it is pruned.
    train_steps(net, engine, optimizer, 60, prune_at=(20, 40), k=300, method="gradient")
    assert engine.active_count() == engine.n_prunable - 600
    for param, mask in zip(engine.params, engine.masks, strict=True):
        assert torch.all(param[~mask] == 0.0)
        assert torch.all(optimizer.state[param]["momentum_buffer"][~mask] == 0.0)
        assert torch.all(param[mask] != 0.0)
    assert engine.measured_sparsity() == pytest.approx(600 / engine.n_prunable)


def test_without_the_guards_pruned_weights_would_revive():
    """The guard test above can fail: plain SGD moves zeroed weights through momentum/decay."""
    net = small_net()
    engine = SparsityEngine(net)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    train_steps(net, engine, optimizer, 5)
    pruned = [
        torch.rand(p.shape, generator=torch.Generator().manual_seed(0)) < 0.5 for p in engine.params
    ]
    with torch.no_grad():
        for p, m in zip(engine.params, pruned, strict=True):
            p[m] = 0.0
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(
            net(torch.randn(4, 3, 8, 8)), torch.randint(0, 10, (4,))
        ).backward()
        optimizer.step()
    assert any(torch.any(p[m] != 0) for p, m in zip(engine.params, pruned, strict=True))


def test_following_a_plan_reaches_the_target_exactly():
    net = small_net()
    engine = SparsityEngine(net)
    engine.init_random(0.6, torch.Generator().manual_seed(0))
    method = baselines.build("fggp", {})
    plan = prune_plan(
        total_iterations=40,
        start=0.0,
        end=0.5,
        n_steps=7,
        every=0,
        initial_active=engine.active_count(),
        n_prunable=engine.n_prunable,
        final_density=1 - 0.93,
    )
    grad = torch.randn(engine.n_prunable, generator=torch.Generator().manual_seed(1))
    for step in plan:
        k = engine.active_count() - step.target_active
        prune_once(engine, method, "fggp", grad, k, step.progress)
        assert engine.active_count() == step.target_active
    assert abs(engine.active_count() - 0.07 * engine.n_prunable) <= 0.5
    assert (
        abs((1 - engine.measured_sparsity()) * engine.n_prunable - 0.07 * engine.n_prunable) <= 0.5
    )


def test_a_broken_method_is_refused_before_touching_the_masks():
    class PrunesTooMany:
        def select(self, weight, grad, active, k, progress):
            return active.clone()

    engine = SparsityEngine(small_net())
    before = [m.clone() for m in engine.masks]
    with pytest.raises(baselines.InvalidSelection, match="'greedy'"):
        prune_once(engine, PrunesTooMany(), "greedy", torch.zeros(engine.n_prunable), 5, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(before, engine.masks, strict=True))


def test_gradient_sources():
    net = small_net()
    engine = SparsityEngine(net)
    batch = GradientSource(engine.params, "batch", 0.9)
    ema = GradientSource(engine.params, "ema", 0.5)
    grads = []
    for seed in range(2):
        torch.manual_seed(seed)
        net.zero_grad()
        nn.functional.cross_entropy(
            net(torch.randn(4, 3, 8, 8)), torch.randint(0, 10, (4,))
        ).backward()
        batch.observe()
        ema.observe()
        grads.append(torch.cat([p.grad.reshape(-1) for p in engine.params]).clone())
    assert torch.equal(batch.flat(), grads[1])
    assert torch.allclose(ema.flat(), 0.5 * grads[0] + 0.5 * grads[1])
