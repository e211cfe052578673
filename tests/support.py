"""Assertions shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

from benchmark.regression.rule import sparsity_problem


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
