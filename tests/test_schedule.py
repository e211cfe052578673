"""The cubic pruning schedule and lr milestones against hand-computed values and the
released FGGP script's formulas."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from benchmark.grid.presets import expand, load_preset
from benchmark.models import build_model
from benchmark.planning import pruning_plan
from benchmark.schedule import cubic_density, lr_milestone_epochs, prune_plan
from benchmark.sparsity import SparsityEngine


def plan_of(total, start, end, n_steps=31, every=0, initial=1000, n=1000, final=0.1):
    return prune_plan(
        total_iterations=total,
        start=start,
        end=end,
        n_steps=n_steps,
        every=every,
        initial_active=initial,
        n_prunable=n,
        final_density=final,
    )


def test_cubic_density_formula():
    assert cubic_density(0, 10, 1.0, 0.05) == pytest.approx(1.0)
    assert cubic_density(10, 10, 1.0, 0.05) == pytest.approx(0.05)
    assert cubic_density(5, 10, 1.0, 0.05) == pytest.approx(0.05 + 0.95 * 0.125)
    assert cubic_density(1, 4, 0.5, 0.02) == pytest.approx(0.02 + 0.48 * 0.75**3)


def test_prune_plan_hand_case():
    plan = plan_of(100, 0.0, 0.5, n_steps=5)
    assert [s.iteration for s in plan] == [10, 20, 30, 40, 50]
    # 0.1 + 0.9 (1 - i/5)^3 * 1000 = 560.8, 294.4, 157.6, 107.2, 100
    assert [s.target_active for s in plan] == [561, 294, 158, 107, 100]
    assert [s.progress for s in plan] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [s.step for s in plan] == [1, 2, 3, 4, 5]


def test_prune_every_hand_case():
    # multiples of 12 up to int(0.5 * 100) = 50; density at t: 0.1 + 0.9 (1 - t/50)^3
    # = 0.4950784, 0.2265472, 0.1197568, 0.1000576 -> x1000, rounded
    plan = plan_of(100, 0.0, 0.5, every=12)
    assert [s.iteration for s in plan] == [12, 24, 36, 48]
    assert [s.target_active for s in plan] == [495, 227, 120, 100]
    assert [s.progress for s in plan] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_prune_every_counts_the_window_from_its_start():
    # window (10, 50]: density at t is 0.1 + 0.9 (1 - (t - 10)/40)^3
    plan = plan_of(100, 0.1, 0.5, every=12)
    assert [s.iteration for s in plan] == [12, 24, 36, 48]
    expected = [round((0.1 + 0.9 * (1 - (t - 10) / 40) ** 3) * 1000) for t in (12, 24, 36, 48)]
    assert [s.target_active for s in plan] == expected


def test_prune_plan_starts_from_the_real_initial_density():
    # ERK rounding left 498 of 1000 active instead of 500
    plan = plan_of(100, 0.0, 0.5, n_steps=2, initial=498, final=0.05)
    # 0.05 + 0.448 * 0.125 = 0.106 -> 106
    assert [s.target_active for s in plan] == [106, 50]


def test_granet_style_recipe_gives_31_steps_every_about_1000_iterations():
    iterations = 160 * 391  # CIFAR-10 at batch 128
    plan = plan_of(iterations, 0.0, 0.5, initial=20_000_000, n=20_000_000, final=0.02)
    gaps = {b.iteration - a.iteration for a, b in itertools.pairwise(plan)}
    assert len(plan) == 31 and gaps <= {1009, 1010}
    assert plan[-1].iteration == 80 * 391
    assert plan[-1].target_active == 400_000


def test_short_window_gets_one_step_per_iteration():
    plan = plan_of(10, 0.2, 0.7, initial=100, n=100, final=0.5)
    assert [s.iteration for s in plan] == [3, 4, 5, 6, 7]
    assert plan[-1].target_active == 50


def test_targets_never_increase():
    plan = plan_of(1000, 0.1, 0.9, n_steps=17, initial=7777, n=10_000, final=0.03)
    targets = [s.target_active for s in plan]
    assert targets == sorted(targets, reverse=True) and targets[-1] == 300


def released_schedule(total: int, initial_ratio: float, target_ratio: float):
    """S 434, 456, 601-605 of main_proposed_class_schedule_cifar.py: prune when
    train_iter % 2000 == 0 and train_iter <= int(0.8 * total_iter), to the density
    target_ratio*0.01 + 0.01*(initial_ratio - target_ratio)*(1 - t/int(0.8 total))**3."""
    end = int(total * 0.8)
    steps = [t for t in range(1, total + 1) if t % 2000 == 0 and t <= end]
    density = [
        target_ratio * 0.01 + 0.01 * (initial_ratio - target_ratio) * (1 - t / end) ** 3
        for t in steps
    ]
    return steps, density


def test_the_paper_preset_plans_the_released_schedule_for_vgg19_on_cifar10():
    """Plan only, no data: CIFAR-10's 50,000 training images at the recipe's batch 64 (the
    released DataLoader keeps the last partial batch: 782 iterations an epoch)."""
    configs = [c for c in expand(load_preset("paper")) if c.arch == "vgg19" and c.method == "fggp"]
    assert len(configs) == 6 * 3  # 3 sparsities x 2 initial densities x 3 seeds
    for config in {c.replace(seed=0) for c in configs}:
        engine = SparsityEngine(
            build_model("vgg19", 10, config.width),
            config.keep_first_dense,
            config.keep_first_last_dense,
        )
        engine.init_random(config.init_density, torch.Generator().manual_seed(0))
        per_epoch = math.ceil(50_000 / config.batch_size)
        assert per_epoch == 782
        plan = pruning_plan(config, per_epoch, engine)
        # Our cubic starts from the measured initial density: exactly 1 from a dense
        # start, 0.5 to within ERK's per-layer rounding from the sparse one.
        initial = engine.active_count() / engine.n_prunable
        assert initial == pytest.approx(config.init_density, abs=1e-6)
        steps, density = released_schedule(
            782 * 160, 100 * initial, 100 * (1 - config.target_sparsity)
        )
        assert len(steps) == 50 and steps[0] == 2000 and steps[-1] == 100_000
        assert [s.iteration for s in plan] == steps
        assert [s.target_active for s in plan] == [round(d * engine.n_prunable) for d in density]
        # 96 iterations before the window's end, the cubic is 8.8e-10 above the target:
        # the last step still lands on the target's exact count.
        target = round((1 - config.target_sparsity) * engine.n_prunable)
        assert plan[-1].target_active == target


def test_the_first_convolution_is_never_pruned_under_the_released_recipe():
    config = expand(load_preset("paper"))[0]
    model = build_model(config.arch, 10, 0.125)
    engine = SparsityEngine(model, config.keep_first_dense, config.keep_first_last_dense)
    assert engine.names[0] == "features.3.weight"  # features.0 is the first conv
    assert engine.names[-1] == "classifier.weight"  # the classifier is pruned


def test_lr_milestones():
    assert lr_milestone_epochs(160, (0.5, 0.75)) == [80, 120]
    assert lr_milestone_epochs(10, (0.5, 0.75)) == [5, 8]
