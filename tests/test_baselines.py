"""Every pruning method on small vectors whose answers were worked out by hand."""

from __future__ import annotations

import pytest
import torch

import baselines
from baselines import StepContext
from baselines.criteria import smallest_k
from baselines.hybrid import Hybrid, pool_size, rate_at
from benchmark.errors import UserError


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def b(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


def chosen(mask: torch.Tensor) -> list[int]:
    return torch.nonzero(mask).flatten().tolist()


# index:          0    1    2    3    4    5    6    7
WEIGHT = t(0.5, -0.1, 0.9, 0.3, -0.7, 0.2, -0.05, 0.6)
GRAD = t(0.01, 0.8, 0.02, 0.5, 0.03, 0.04, 0.9, 0.05)
ALL = torch.ones(8, dtype=torch.bool)


def clock(progress: float = 0.0, iteration: int = 0, total: int = 1000) -> StepContext:
    return StepContext(
        progress=progress, step=1, n_steps=1, iteration=iteration, total_iterations=total
    )


def select(
    name: str, k: int, active=ALL, progress: float = 0.0, iteration: int = 0, **params
) -> list[int]:
    """What the harness's call path (`baselines.ask`) gets from the method."""
    method = baselines.build(name, params)
    context = clock(progress, iteration)
    wants = baselines.wants_context(method)
    return chosen(baselines.ask(method, name, WEIGHT, GRAD, active, k, context, wants))


def test_registry_lists_the_paper_methods_and_the_extra_baselines():
    assert {
        "fggp",
        "magnitude",
        "gradient",
        "annealed_hybrid",
        "dense",
        "hybrid",
        "random",
        "taylor",
    } <= set(baselines.available())


def test_magnitude_prunes_smallest_absolute_weights():
    # |w| ascending: 6 (0.05), 1 (0.1), 5 (0.2), 3 (0.3), 0 (0.5) ...
    assert select("magnitude", 3) == [1, 5, 6]


def test_gradient_prunes_smallest_absolute_gradients():
    # |g| ascending: 0 (0.01), 2 (0.02), 4 (0.03), 5 (0.04), 7 (0.05) ...
    assert select("gradient", 2) == [0, 2]


# |g| ascending: 0 (0.01), 2 (0.02), 4 (0.03), 5 (0.04), 7 (0.05), 3 (0.5), 1 (0.8), 6 (0.9)
# |w| ascending: 6 (0.05), 1 (0.1), 5 (0.2), 3 (0.3), 0 (0.5), 7 (0.6), 4 (0.7), 2 (0.9)


def test_fggp_pool_is_half_the_active_weights_by_gradient_then_magnitude():
    # pool = floor(0.5 * 8) = 4 smallest |g|: {0, 2, 4, 5}; smallest |w| there: 5, 0, 4
    assert select("fggp", 1) == [5]
    assert select("fggp", 2) == [0, 5]
    assert select("fggp", 3) == [0, 4, 5]
    # Magnitude alone would prune 6 and 1, which have large gradients and are outside the pool.
    assert select("magnitude", 2) == [1, 6]


def test_fggp_pool_does_not_shrink_with_k():
    # The earlier reading (pool = ceil(k / 0.5) = 2 for k = 1: {0, 2}) pruned weight 0;
    # the released pool stays 4 wide and prunes 5, the smallest |w| among {0, 2, 4, 5}.
    assert select("hybrid", 1, pool="multiple", rate=0.5) == [0]
    assert select("fggp", 1) == [5]


def test_fggp_pool_is_at_least_k():
    # k = 5 > floor(0.5 * 8): the pool is the 5 smallest |g|, all of them pruned (gradient).
    assert select("fggp", 5) == select("gradient", 5) == [0, 2, 4, 5, 7]


def test_fggp_select_ratio_sets_the_pool_fraction():
    # 0.25 -> pool floor(2) = 2: {0, 2}; k = 1 -> smallest |w| there: 0 (0.5)
    assert select("fggp", 1, select_ratio=0.25) == [0]
    # 0.75 -> pool 6: {0, 2, 3, 4, 5, 7}; k = 2 -> 5 (0.2), 3 (0.3)
    assert select("fggp", 2, select_ratio=0.75) == [3, 5]


def test_fggp_with_the_whole_pool_is_magnitude_pruning():
    for k in range(9):
        assert select("fggp", k, select_ratio=1.0) == select("magnitude", k)


def test_annealed_hybrid_pool_is_k_plus_a_cosine_share_of_the_rest():
    # iteration 0 of 1000: r = 0.5 -> pool 2 + floor(0.5 * 6) = 5 smallest |w|:
    # {6, 1, 5, 3, 0}; smallest |g| there: 0 (0.01), 5 (0.04)
    assert select("annealed_hybrid", 2, iteration=0) == [0, 5]
    # iteration 500: r = 0.005 + 0.495 * 0.5 = 0.2525 -> pool 2 + 1 = 3: {6, 1, 5};
    # smallest |g| there: 5 (0.04), 1 (0.8)
    assert select("annealed_hybrid", 2, iteration=500) == [1, 5]
    # iteration 1000: r = 0.005 -> pool 2 + 0 = 2 -> magnitude pruning
    assert select("annealed_hybrid", 2, iteration=1000) == select("magnitude", 2)
    # The clock is the training iteration, not the pruning progress.
    assert select("annealed_hybrid", 2, progress=1.0, iteration=0) == [0, 5]


def test_annealed_hybrid_start_value_is_a_parameter():
    # the released CIFAR script's default start 0.01: pool 2 + floor(0.06) = 2 -> magnitude
    assert select("annealed_hybrid", 2, rate=0.01) == select("magnitude", 2)


def test_taylor_prunes_smallest_weight_times_gradient():
    # |w*g|: 0.005, 0.08, 0.018, 0.15, 0.021, 0.008, 0.045, 0.03
    # ascending: 0 (0.005), 5 (0.008), 2 (0.018), 4 (0.021), 7 (0.03), 6, 1, 3
    assert select("taylor", 3) == [0, 2, 5]
    # neither criterion alone picks these: magnitude takes 1, 5, 6 and gradient 0, 2, 4
    assert select("magnitude", 3) == [1, 5, 6] and select("gradient", 3) == [0, 2, 4]
    # with 0 and 5 already pruned, the next three: 2, 4, 7
    assert select("taylor", 3, active=b(0, 1, 1, 1, 1, 0, 1, 1)) == [2, 4, 7]


def test_taylor_score_is_signless_and_zero_gradient_goes_first():
    method = baselines.build("taylor", {})
    weight, grad = t(-2.0, 3.0, 0.5, -1.0), t(-0.1, 0.0, 0.5, 0.2)  # |w*g| 0.2, 0, 0.25, 0.2
    assert chosen(method.select(weight, grad, torch.ones(4, dtype=torch.bool), 2, 0.0)) == [0, 1]


def random_selection(k: int, active=ALL, weight=WEIGHT, **params) -> list[int]:
    return chosen(baselines.build("random", params).select(weight, GRAD, active, k, 0.0))


def test_random_is_a_pure_function_of_its_inputs():
    assert random_selection(3) == random_selection(3)  # a repeated or resumed run agrees
    draws = {tuple(random_selection(3, mask_seed=s)) for s in range(20)}
    assert len(draws) > 10  # the mask seed changes the draw
    others = {tuple(random_selection(3, weight=WEIGHT + 0.01 * s)) for s in range(20)}
    assert len(others) > 10  # so do the weights (another run seed trains other weights)
    assert all(len(d) == 3 for d in draws | others)


def test_random_is_uniform_over_the_active_weights():
    # 4000 draws of 2 of the 6 active weights: each is picked 4000 * 2/6 = 1333 times in
    # expectation, sd 30; pruned weights (1 and 6) never.
    active = b(1, 0, 1, 1, 1, 1, 0, 1)
    counts = torch.zeros(8)
    for s in range(4000):
        counts[random_selection(2, active=active, mask_seed=s)] += 1
    assert counts[1] == counts[6] == 0
    picked = counts[active]
    assert picked.sum() == 8000 and (picked - 8000 / 6).abs().max() < 120, picked.tolist()


def test_random_mask_seed_must_be_an_integer():
    with pytest.raises(UserError, match="mask_seed must be an integer"):
        baselines.build("random", {"mask_seed": 0.5})


def test_hybrid_order_and_schedules():
    gradient_first = baselines.build("hybrid", {"order": "gradient_first"})
    magnitude_first = baselines.build("hybrid", {"order": "magnitude_first"})
    assert chosen(gradient_first.select(WEIGHT, GRAD, ALL, 2, 0.3, context=clock(0.3))) == [0, 5]
    # pool of 4 smallest |w|: {1, 3, 5, 6}; smallest |g|: 5 (0.04), 3 (0.5)
    assert chosen(magnitude_first.select(WEIGHT, GRAD, ALL, 2, 0.3, context=clock(0.3))) == [3, 5]
    assert rate_at("fixed", 0.5, 0.1, 0.7) == 0.5
    assert rate_at("linear", 1.0, 0.1, 0.5) == pytest.approx(0.55)
    assert rate_at("cosine", 1.0, 0.1, 0.0) == pytest.approx(1.0)
    assert rate_at("cosine", 1.0, 0.1, 0.5) == pytest.approx(0.55)
    assert rate_at("cosine", 1.0, 0.1, 1.0) == pytest.approx(0.1)
    assert rate_at("cosine", 1.0, 0.1, 0.25) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + 2**-0.5))


def test_hybrid_clocks():
    linear = {"schedule": "linear", "rate": 1.0, "final_rate": 0.1}
    on_pruning = Hybrid(**linear, clock="pruning")
    on_training = Hybrid(**linear, clock="training")
    context = clock(progress=0.5, iteration=250, total=1000)
    assert on_pruning.rate_for(context) == pytest.approx(0.55)
    assert on_training.rate_for(context) == pytest.approx(1.0 - 0.9 * 0.25)


def test_the_cosine_training_clock_is_torchs_cosine_annealing():
    """The released CosineDecay is an SGD learning rate under CosineAnnealingLR(T_max =
    all iterations, eta_min = 0.005), stepped once per iteration before the pruning step."""
    total = 1000
    for start in (0.5, 0.01):
        method = Hybrid(schedule="cosine", clock="training", rate=start, final_rate=0.005)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=start)
        annealing = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total, 0.005)
        for iteration in range(1, total + 1):
            optimizer.step()  # a no-op (no gradient); keeps torch's call-order check quiet
            annealing.step()
            if iteration % 97 == 0 or iteration in (1, total):
                expected = optimizer.param_groups[0]["lr"]
                got = method.rate_for(clock(iteration=iteration, total=total))
                assert got == pytest.approx(expected, rel=1e-9), iteration


def test_pool_sizes_of_the_three_rules():
    assert pool_size("active", 2, 0.5, 8) == 4
    assert pool_size("active", 5, 0.5, 8) == 5  # never below k
    assert pool_size("active", 1, 0.5, 7) == 3  # floor, like int(select_ratio * remain)
    assert pool_size("rest", 2, 0.5, 8) == 5  # 2 + floor(0.5 * 6)
    assert pool_size("rest", 2, 0.005, 8) == 2
    assert pool_size("rest", 8, 0.5, 8) == 8
    assert pool_size("multiple", 3, 0.3, 100) == 10  # 3 / 0.3 = 10.000000000000002
    assert pool_size("multiple", 3, 0.4, 100) == 8
    assert pool_size("multiple", 3, 0.1, 20) == 20  # capped at the active count


@pytest.mark.parametrize(
    "name", ["magnitude", "gradient", "fggp", "annealed_hybrid", "taylor", "random"]
)
def test_only_active_weights_are_selected(name):
    active = b(1, 0, 1, 1, 1, 0, 0, 1)  # 1, 5, 6 already pruned
    for k in range(6):
        picked = select(name, k, active=active, progress=0.5)
        assert len(picked) == k
        assert not set(picked) & {1, 5, 6}


def test_only_active_weights_hand_case():
    active = b(1, 0, 1, 1, 1, 0, 0, 1)
    # active |w|: 3 (0.3), 0 (0.5), 7 (0.6), 4 (0.7), 2 (0.9)
    assert select("magnitude", 2, active=active) == [0, 3]
    # 5 active: pool floor(2.5) = 2 smallest active |g|: {0, 2}; both pruned
    assert select("fggp", 2, active=active) == [0, 2]
    # k = 1: the smaller |w| of {0, 2}: 0 (0.5)
    assert select("fggp", 1, active=active) == [0]


@pytest.mark.parametrize(
    "name", ["magnitude", "gradient", "fggp", "annealed_hybrid", "taylor", "random"]
)
def test_k_zero_and_k_all_active(name):
    active = b(1, 1, 0, 1, 1, 1, 0, 1)
    assert select(name, 0, active=active) == []
    assert select(name, 6, active=active) == chosen(active)


def test_ties_are_broken_by_lowest_index_and_count_is_exact():
    score = t(1.0, 0.5, 0.5, 0.5, 0.2, 0.5)
    eligible = torch.ones(6, dtype=torch.bool)
    assert chosen(smallest_k(score, eligible, 1)) == [4]
    assert chosen(smallest_k(score, eligible, 2)) == [1, 4]
    assert chosen(smallest_k(score, eligible, 3)) == [1, 2, 4]
    eligible[1] = False
    assert chosen(smallest_k(score, eligible, 3)) == [2, 3, 4]
    # every score equal: a threshold would take all of them
    assert chosen(smallest_k(torch.zeros(5), torch.ones(5, dtype=torch.bool), 2)) == [0, 1]


def test_nan_scores_rank_last_and_inf_is_ordered():
    score = t(float("nan"), 3.0, float("inf"), 1.0)
    eligible = torch.ones(4, dtype=torch.bool)
    assert chosen(smallest_k(score, eligible, 2)) == [1, 3]
    assert chosen(smallest_k(score, eligible, 3)) == [1, 2, 3]


def test_smallest_k_rejects_impossible_requests():
    with pytest.raises(ValueError):
        smallest_k(t(1, 2), b(1, 0), 2)
    with pytest.raises(ValueError):
        smallest_k(t(1, 2), b(1, 1), -1)


def test_dense_never_prunes():
    dense = baselines.build("dense", {})
    assert not baselines.prunes(dense)
    assert chosen(dense.select(WEIGHT, GRAD, ALL, 0, 0.0)) == []
    with pytest.raises(ValueError):
        dense.select(WEIGHT, GRAD, ALL, 1, 0.0)


def test_parameters_are_resolved_and_validated():
    assert baselines.resolve_params("fggp", {}) == {"select_ratio": 0.5}
    assert baselines.resolve_params("annealed_hybrid", {"final_rate": 0.01}) == {
        "rate": 0.5,
        "final_rate": 0.01,
    }
    with pytest.raises(UserError, match="no parameter"):
        baselines.resolve_params("fggp", {"rate": 0.3})
    with pytest.raises(UserError, match="unknown method"):
        baselines.build("nope", {})
    with pytest.raises(UserError, match="rate must be in"):
        baselines.build("fggp", {"select_ratio": 0.0})
    with pytest.raises(UserError, match="unknown order"):
        baselines.build("hybrid", {"order": "sideways"})
    with pytest.raises(UserError, match="unknown pool"):
        baselines.build("hybrid", {"pool": "half"})
    with pytest.raises(UserError, match="unknown clock"):
        baselines.build("hybrid", {"clock": "wall"})


def test_a_five_argument_method_is_called_as_before_and_a_context_method_gets_the_clock():
    seen = {}

    class FiveArguments:
        def select(self, weight, grad, active, k, progress):
            seen["progress"] = progress
            return smallest_k(weight.abs(), active, k)

    class WithClock:
        def select(self, weight, grad, active, k, progress, context):
            seen["context"] = context
            return smallest_k(weight.abs(), active, k)

    context = clock(progress=0.25, iteration=70, total=700)
    for method in (FiveArguments(), WithClock()):
        wants = baselines.wants_context(method)
        assert chosen(baselines.ask(method, "m", WEIGHT, GRAD, ALL, 2, context, wants)) == [1, 6]
    assert not baselines.wants_context(FiveArguments()) and baselines.wants_context(WithClock())
    assert seen == {"progress": 0.25, "context": context}


def test_a_method_that_writes_into_its_inputs_cannot_defeat_the_check():
    class Tamperer:
        def select(self, weight, grad, active, k, progress):
            active[:] = True  # "revive" everything, then pick two pruned weights
            return torch.tensor([0, 1, 0, 0, 0, 0, 1, 0], dtype=torch.bool)

    active = b(1, 0, 1, 1, 1, 1, 0, 1)
    with pytest.raises(baselines.InvalidSelection, match="2 already-pruned"):
        baselines.ask(Tamperer(), "tamperer", WEIGHT, GRAD, active, 2, clock(), False)
    assert torch.equal(active, b(1, 0, 1, 1, 1, 1, 0, 1))


def test_invalid_selections_are_refused_with_the_method_name():
    active = b(1, 1, 0, 1)
    with pytest.raises(
        baselines.InvalidSelection, match="'mine' selected 1 weights, expected exactly 2"
    ):
        baselines.check_selection("mine", b(1, 0, 0, 0), active, 2)
    with pytest.raises(baselines.InvalidSelection, match="already-pruned"):
        baselines.check_selection("mine", b(1, 0, 1, 0), active, 2)
    with pytest.raises(baselines.InvalidSelection, match="shape"):
        baselines.check_selection("mine", b(1, 1), active, 2)
    with pytest.raises(baselines.InvalidSelection, match="dtype"):
        baselines.check_selection("mine", t(1, 1, 0, 0), active, 2)
    with pytest.raises(baselines.InvalidSelection, match="not a Tensor"):
        baselines.check_selection("mine", [0, 1], active, 2)
