"""Assertions shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any


def assert_exact_sparsity(result: dict[str, Any], target: float) -> None:
    """The run's weights are pruned to the target to within one weight (rounding)."""
    n_prunable = sum(layer["numel"] for layer in result["layers"])
    remaining = round((1 - result["final"]["sparsity"]) * n_prunable)
    assert abs(remaining - (1 - target) * n_prunable) <= 0.5, (remaining, target, n_prunable)
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
