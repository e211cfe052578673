"""The cubic pruning schedule and lr milestones against hand-computed values."""

from __future__ import annotations

import itertools

import pytest

from benchmark.schedule import cubic_density, lr_milestone_epochs, prune_plan


def test_cubic_density_formula():
    assert cubic_density(0, 10, 1.0, 0.05) == pytest.approx(1.0)
    assert cubic_density(10, 10, 1.0, 0.05) == pytest.approx(0.05)
    assert cubic_density(5, 10, 1.0, 0.05) == pytest.approx(0.05 + 0.95 * 0.125)
    assert cubic_density(1, 4, 0.5, 0.02) == pytest.approx(0.02 + 0.48 * 0.75**3)


def test_prune_plan_hand_case():
    plan = prune_plan(100, 0.0, 0.5, 5, initial_active=1000, n_prunable=1000, final_density=0.1)
    assert [s.iteration for s in plan] == [9, 19, 29, 39, 49]
    # 0.1 + 0.9 (1 - i/5)^3 * 1000 = 560.8, 294.4, 157.6, 107.2, 100
    assert [s.target_active for s in plan] == [561, 294, 158, 107, 100]
    assert [s.progress for s in plan] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [s.step for s in plan] == [1, 2, 3, 4, 5]


def test_prune_plan_starts_from_the_real_initial_density():
    # ERK rounding left 498 of 1000 active instead of 500
    plan = prune_plan(100, 0.0, 0.5, 2, initial_active=498, n_prunable=1000, final_density=0.05)
    # 0.05 + 0.448 * 0.125 = 0.106 -> 106
    assert [s.target_active for s in plan] == [106, 50]


def test_paper_recipe_gives_31_steps_every_about_1000_iterations():
    iterations = 160 * 391  # CIFAR-10 at batch 128
    plan = prune_plan(iterations, 0.0, 0.5, 31, 20_000_000, 20_000_000, 0.02)
    gaps = {b.iteration - a.iteration for a, b in itertools.pairwise(plan)}
    assert len(plan) == 31 and gaps <= {1009, 1010}
    assert plan[-1].iteration == 80 * 391 - 1
    assert plan[-1].target_active == 400_000


def test_short_window_gets_one_step_per_iteration():
    plan = prune_plan(10, 0.2, 0.7, 31, 100, 100, 0.5)
    assert [s.iteration for s in plan] == [2, 3, 4, 5, 6]
    assert plan[-1].target_active == 50


def test_targets_never_increase():
    plan = prune_plan(1000, 0.1, 0.9, 17, 7777, 10_000, 0.03)
    targets = [s.target_active for s in plan]
    assert targets == sorted(targets, reverse=True) and targets[-1] == 300


def test_lr_milestones():
    assert lr_milestone_epochs(160, (0.5, 0.75)) == [80, 120]
    assert lr_milestone_epochs(10, (0.5, 0.75)) == [5, 8]
