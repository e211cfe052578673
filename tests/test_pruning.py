"""The pruning controller prunes at exactly the planned iterations, by the planned amounts."""

from __future__ import annotations

import baselines
from tests.support import controlled, dense_start_plan


def test_prunes_only_at_planned_iterations_and_logs_what_happened():
    schedule = dict(total_iterations=12, start=0.0, end=0.5, n_steps=3, every=0)
    run = controlled(
        "fggp",
        (10, 20, 4),
        dense_start_plan(**schedule, final_density=0.25),
        iterations_per_epoch=4,
        total_iterations=12,
        lr=0.01,
    )
    engine, pruner, plan = run.engine, run.pruner, run.pruner.plan
    changed_at = []
    for iteration in range(1, 13):
        if run.step(iteration):
            changed_at.append(iteration)
            assert engine.active_count() == plan[len(changed_at) - 1].target_active
    assert changed_at == [2, 4, 6] == [s.iteration for s in plan]
    assert [entry["epoch"] for entry in pruner.log] == [0.5, 1.0, 1.5]
    assert pruner.log[-1]["density"] == round(0.25 * engine.n_prunable) / engine.n_prunable
    assert sum(entry["pruned"] for entry in pruner.log) == engine.n_prunable - engine.active_count()


def test_a_method_that_asks_for_the_clock_gets_the_training_iteration():
    seen = []

    class Recorder:
        def select(self, weight, grad, active, k, progress, *, context):
            seen.append(context)
            return baselines.build("magnitude", {}).select(weight, grad, active, k, progress)

    schedule = dict(total_iterations=40, start=0.0, end=0.5, n_steps=0, every=7)
    run = controlled(
        Recorder(),
        (10, 20, 4),
        dense_start_plan(**schedule, final_density=0.5),
        iterations_per_epoch=8,
        total_iterations=40,
        lr=0.01,
        momentum=0.0,
    )
    for iteration in range(1, 41):
        run.step(iteration)
    assert [c.iteration for c in seen] == [7, 14]
    assert [(c.step, c.n_steps, c.total_iterations) for c in seen] == [(1, 2, 40), (2, 2, 40)]
    assert [c.progress for c in seen] == [0.0, 1.0]
