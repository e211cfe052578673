"""Our methods pick exactly what the FGGP authors' released code picks: on random vectors
(no ties) our selectors and the transcriptions in tests/released.py agree index for index."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.prune import _validate_pruning_amount_init

import baselines
from baselines import StepContext
from tests.released import (
    released_annealed,
    released_cosine_decay,
    released_fggp,
    released_modification_1,
    released_modification_2,
    released_modification_3,
)

N = 4000  # prunable weights in each random case


def random_case(seed: int):
    """Random weights and gradients, a random set of already-pruned weights, and a k that
    a cubic step could ask for (up to a fifth of the active weights)."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(N, generator=generator)
    grad = torch.randn(N, generator=generator) * 0.01
    density = 0.1 + 0.9 * torch.rand((), generator=generator).item()
    active = torch.rand(N, generator=generator) < density
    n_active = int(active.sum())
    k = 1 + int(torch.randint(0, max(1, n_active // 5), (), generator=generator))
    return weight, grad, active, k


def ours(name: str, params: dict, weight, grad, active, k, iteration=1, total=1000):
    method = baselines.build(name, params)
    context = StepContext(
        progress=0.5, step=1, n_steps=1, iteration=iteration, total_iterations=total
    )
    wants = baselines.wants_context(method)
    return baselines.ask(method, name, weight, grad, active, k, context, wants)


SEEDS = range(20)


@pytest.mark.parametrize("select_ratio", [0.5, 0.3, 0.7])
def test_fggp_picks_what_the_released_rule_picks(select_ratio):
    for seed in SEEDS:
        weight, grad, active, k = random_case(seed)
        if k > int(select_ratio * int(active.sum())):
            continue  # the released code raises on a negative restore count; see below
        expected = released_fggp(weight, grad, active, k, select_ratio)
        got = ours("fggp", {"select_ratio": select_ratio}, weight, grad, active, k)
        assert torch.equal(got, expected), seed


def test_the_earlier_k_multiple_pool_is_a_different_rule():
    """The check above has teeth: the rule fggp used before picks other weights."""
    differ = 0
    for seed in SEEDS:
        weight, grad, active, k = random_case(seed)
        expected = released_fggp(weight, grad, active, k, 0.5)
        earlier = ours("hybrid", {"pool": "multiple", "rate": 0.5}, weight, grad, active, k)
        differ += not torch.equal(earlier, expected)
    assert differ >= 15


def test_fggp_prunes_by_gradient_where_the_released_code_would_fail():
    """When k exceeds the pool, the released restore count `to_add_t` is negative and
    torch's pruning refuses it (P 661-666); our pool is then the k smallest-gradient weights
    themselves: gradient pruning."""
    weight, grad, active, _ = random_case(0)
    k = int(active.sum()) // 2 + 7
    with pytest.raises(ValueError):
        _validate_pruning_amount_init(int(0.5 * int(active.sum())) - k)
    got = ours("fggp", {}, weight, grad, active, k)
    assert torch.equal(got, ours("gradient", {}, weight, grad, active, k))


ITERATIONS = (1, 2000, 31_000, 62_000, 100_000)
TOTAL = 125_120  # 782 iterations x 160 epochs at batch 64


@pytest.mark.parametrize("start", [0.5, 0.01])
def test_annealed_hybrid_picks_what_the_released_rule_picks(start):
    rates = released_cosine_decay(start, TOTAL, ITERATIONS)
    for iteration in ITERATIONS:
        for seed in range(8):
            weight, grad, active, k = random_case(100 + seed)
            expected = released_annealed(weight, grad, active, k, rates[iteration])
            got = ours(
                "annealed_hybrid", {"rate": start}, weight, grad, active, k, iteration, TOTAL
            )
            assert torch.equal(got, expected), (seed, iteration)


def test_the_commented_modifications_are_hybrid_configurations():
    total, iteration = 10_000, 2000
    rate = released_cosine_decay(0.5, total, (iteration,))[iteration]
    cases = [
        (
            released_modification_1,
            0.5,
            {"order": "magnitude_first", "pool": "active", "rate": 0.5},
        ),
        (
            released_modification_2,
            rate,
            {
                "order": "gradient_first",
                "pool": "rest",
                "schedule": "cosine",
                "clock": "training",
                "rate": 0.5,
                "final_rate": 0.005,
            },
        ),
        (
            released_modification_3,
            0.5,
            {"order": "gradient_first", "pool": "rest", "rate": 0.5},
        ),
    ]
    for transcription, value, params in cases:
        for seed in SEEDS:
            weight, grad, active, k = random_case(200 + seed)
            if transcription is released_modification_1 and k > int(0.5 * int(active.sum())):
                continue
            expected = transcription(weight, grad, active, k, value)
            got = ours("hybrid", params, weight, grad, active, k, iteration, total)
            assert torch.equal(got, expected), (transcription.__name__, seed)
