"""Regrowth (issue 13): the engine's exchange, the checked answer, and GraNet, RigL, SET.

The hand cases are computed on paper; the schedules are checked against independent
transcriptions (torch's CosineAnnealingLR stepped as GraNet steps it, TF's cosine_decay
formula as RigL calls it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import baselines
from baselines import InvalidSelection, Regrowth, StepContext, check_regrowth
from baselines.drop_and_grow import cosine_fraction, layer_drop_count
from benchmark.config import RunConfig
from benchmark.grid.presets import expand, load_preset
from benchmark.run import main as run_main
from benchmark.schedule import periodic_iterations
from benchmark.sparsity import SparsityEngine
from benchmark.train import train
from tests.support import TINY_RUN, controlled, dense_start_plan
from tests.test_cli import TINY_FLAGS

ROOT = Path(__file__).resolve().parents[1]


def flags(*true: int, n: int = 8) -> torch.Tensor:
    mask = torch.zeros(n, dtype=torch.bool)
    mask[list(true)] = True
    return mask


def context(
    iteration: int, total: int, numels: tuple[int, ...], update: bool = True, seed: int = 0
):
    return StepContext(
        progress=0.0,
        step=0,
        n_steps=0,
        iteration=iteration,
        total_iterations=total,
        layer_numels=numels,
        seed=seed,
        update=update,
    )


# ---------------------------------------------------------------- the engine's exchange


def one_layer_engine() -> tuple[nn.Linear, SparsityEngine, torch.optim.SGD]:
    """A 2x4 layer whose weights are 1..8, entries 6 and 7 inactive, with momentum."""
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(1.0, 9.0).view(2, 4))
    engine = SparsityEngine(layer)
    engine.remove(flags(6, 7))
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    layer.weight.grad = torch.ones(2, 4)
    optimizer.step()  # every active entry now has momentum 1
    engine.apply_to_weights()
    layer.weight.grad = torch.full((2, 4), 5.0)  # this iteration's gradient, before the step
    return layer, engine, optimizer


def test_grown_weights_start_at_zero_and_a_weight_dropped_and_regrown_stays_as_it_was():
    layer, engine, optimizer = one_layer_engine()
    before = layer.weight.detach().clone().view(-1)
    grown = engine.update(flags(0, 1), flags(1, 6), optimizer)  # drop 0 and 1, grow 1 and 6
    weight, buffer = (
        layer.weight.detach().view(-1),
        optimizer.state[layer.weight]["momentum_buffer"],
    )
    assert grown == 1
    assert engine.flat_active().tolist() == flags(1, 2, 3, 4, 5, 6).tolist()
    assert weight[0] == 0.0 and buffer.view(-1)[0] == 0.0  # dropped
    assert weight[1] == before[1] and buffer.view(-1)[1] == 1.0  # dropped and regrown: kept
    assert weight[6] == 0.0 and buffer.view(-1)[6] == 0.0  # grown: 0.0, no momentum ...
    assert layer.weight.grad.view(-1)[6] == 0.0  # ... and no step this iteration
    assert layer.weight.grad.view(-1)[2] == 5.0  # the other active weights train on
    assert weight[7] == 0.0 and engine.active_count() == 6
    optimizer.step()
    engine.apply_to_weights()
    assert layer.weight.detach().view(-1)[6] == 0.0  # still 0.0 after the iteration's step


@pytest.mark.parametrize(
    ("answer", "k", "message"),
    [
        (Regrowth(flags(6), flags()), 1, "removes 1 weights that are inactive or pruned"),
        (Regrowth(flags(0), flags(2)), 0, "grows 1 weights that stay active"),
        (Regrowth(flags(0, 1), flags(6)), 0, "removes 1 weights net, expected exactly 0"),
        (Regrowth(flags(), flags(), prune=flags(7)), 1, "prunes 1 already-inactive weights"),
        (Regrowth(flags(0), flags(0), prune=flags(0)), 1, "inactive or pruned"),
        (Regrowth(flags(0).int(), flags()), 1, "remove must be a bool Tensor of shape"),
        (flags(0), 1, "returned Tensor, not a Regrowth"),
    ],
)
def test_an_update_that_breaks_the_contract_is_refused(answer, k, message):
    active = ~flags(6, 7)
    with pytest.raises(InvalidSelection, match=message):
        check_regrowth("mine", answer, active, k)


def test_a_valid_update_with_a_pruned_weight_regrown_passes():
    active = ~flags(6, 7)  # prune 0 and 2, exchange 1 for 0 and 6: net 2 + 1 - 2
    check_regrowth("mine", Regrowth(flags(1), flags(0, 6), prune=flags(0, 2)), active, 1)


# ---------------------------------------------------------------- the drop-and-grow rules


def test_drop_counts_round_as_each_code_does():
    assert layer_drop_count(8, 0.2525, "ceil") == 3  # GraNet: ceil(2.02)
    assert layer_drop_count(8, 0.2525, "floor") == 2  # RigL: int(2.02)
    assert layer_drop_count(4, 0.005, "ceil") == 1 and layer_drop_count(4, 0.005, "floor") == 0
    assert layer_drop_count(3, 1.0, "ceil") == 3


def test_granet_drops_the_smallest_and_grows_the_largest_gradients_per_layer():
    """Two layers of 10 and 6; at iteration 50 of 100 GraNet's rate is 0.2525, so layer 1
    (8 active) drops ceil(2.02) = 3 and layer 2 (4 active) ceil(1.01) = 2."""
    method = baselines.build("granet", {})
    first = [0.9, 0.1, 0.5, 0.0, 0.3, 0.7, 0.2, 0.8, 0.0, 0.6]  # 3 and 8 inactive
    second = [0.4, 0.0, 0.1, 0.0, 0.3, 0.2]  # 1 and 3 inactive
    weight = torch.tensor([*first, *second])
    active = weight != 0
    grad = torch.tensor(
        [*[0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0], *[0.0, -7.0, 0.0, 0.1, 0.0, 0.0]]
    )  # layer 1 grows 3 (9.0), then ...
    grad[6] = 3.0  # ... the dropped 6 (|w| 0.2) has the next gradient: regrown, kept
    step = context(50, 100, (10, 6))
    assert method.fraction(step) == pytest.approx(0.2525)
    answer = method.update(weight, grad, active, 0, step)
    assert answer.remove.nonzero().view(-1).tolist() == [1, 4, 6, 12, 15]  # smallest |w|
    assert answer.grow.nonzero().view(-1).tolist() == [3, 6, 8, 11, 13]
    check_regrowth("granet", answer, active, 0)


def test_granet_prunes_globally_first_when_the_plan_removes_weights():
    method = baselines.build("granet", {})
    weight = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.05, 0.7])
    active = torch.ones(6, dtype=torch.bool)
    answer = method.update(weight, torch.ones(6), active, 2, context(10, 100, (3, 3), update=False))
    assert answer.prune.nonzero().view(-1).tolist() == [1, 4]  # the 2 smallest of all
    assert not answer.remove.any() and not answer.grow.any()  # off its clock: no exchange


def test_granets_rate_is_torchs_cosine_annealing_stepped_once_per_iteration():
    """GraNet's CosineDecay wraps CosineAnnealingLR(T_max = all iterations, eta_min =
    0.005) and steps it before each update (core.py 27-36, 335-339; main.py 274)."""
    total = 300
    method = baselines.build("granet", {})
    sgd = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, total, 0.005)
    for iteration in range(1, total + 1):
        sgd.step()
        schedule.step()
        if iteration % 37 == 0 or iteration == total:
            expected = sgd.param_groups[0]["lr"]
            assert method.fraction(context(iteration, total, (1,))) == pytest.approx(expected)


def test_rigls_drop_fraction_is_tf_cosine_decay_to_zero_at_its_end_step():
    """RigL: cosine_decay(0.3, global_step, end_step - begin_step), begin 0, end 75%."""
    total = 1000
    rigl = baselines.build("rigl", {})
    for iteration in (0, 100, 375, 700, 750, 900):
        t = min(iteration, 750)
        expected = 0.3 * 0.5 * (1 + math.cos(math.pi * t / 750))
        assert rigl.fraction(context(iteration, total, (1,))) == pytest.approx(expected, abs=1e-12)
    assert cosine_fraction(750, 750, 0.3, 0.0) == pytest.approx(0.0, abs=1e-15)


def test_the_update_clocks_stop_where_each_method_stops():
    assert periodic_iterations(1000, 0.0, 0.75, 100) == [100, 200, 300, 400, 500, 600, 700]
    granet = baselines.build("granet", {}).clock
    assert periodic_iterations(5000, granet.start, granet.end, granet.every) == [
        1000,
        2000,
        3000,
        4000,
        5000,
    ]


def test_set_grows_only_among_inactive_weights_and_the_draw_is_reproducible():
    method = baselines.build("set", {})
    torch.manual_seed(3)
    weight = torch.randn(400)
    weight[torch.randperm(400)[:300]] = 0.0
    active = weight != 0
    grad = torch.randn(400)
    step = context(10, 1000, (250, 150), seed=5)
    answer = method.update(weight, grad, active, 0, step)
    kept = active & ~answer.remove
    assert not (answer.grow & kept).any()
    assert answer.grow.sum() == answer.remove.sum() > 0
    again = method.update(weight, grad, active, 0, step)
    assert torch.equal(again.grow, answer.grow)
    other = method.update(weight, grad, active, 0, context(10, 1000, (250, 150), seed=6))
    assert not torch.equal(other.grow, answer.grow)
    assert torch.equal(other.remove, answer.remove)  # dropping is by |w|: the same


# ---------------------------------------------------------------- through the controller


def test_counts_and_zeros_after_every_rigl_update():
    """A fixed-sparsity run of 40 iterations, updates every 4 until 75% (iteration 30):
    after each, the planned count; nothing inactive is non-zero; grown weights are 0.0
    after their iteration's step, with zero momentum."""
    run = controlled(
        "rigl",
        (12, 30, 5),
        lambda engine: [],
        params={"update_every": 4},
        iterations_per_epoch=10,
        total_iterations=40,
        lr=0.05,
        batch=16,
        start_density=0.3,
    )
    engine, pruner, optimizer = run.engine, run.pruner, run.optimizer
    planned = engine.active_count()
    updated = []
    for iteration in range(1, 41):
        before = engine.flat_active()
        changed = run.step(iteration)
        assert engine.active_count() == planned
        inactive = ~engine.flat_active()
        assert (engine.flat_weights()[inactive] == 0).all()
        if changed:
            updated.append(iteration)
            new = engine.flat_active() & ~before
            assert new.any()
            assert (engine.flat_weights()[new] == 0).all()
            buffers = torch.cat(
                [optimizer.state[p]["momentum_buffer"].reshape(-1) for p in engine.params]
            )
            assert (buffers[new] == 0).all()
    assert [e["iteration"] for e in pruner.log] == [4, 8, 12, 16, 20, 24, 28]
    # at 28 the fraction is 0.0033: floor(0.0033 n) = 0 in every layer, nothing moves
    assert updated == [4, 8, 12, 16, 20, 24]
    assert all(e["removed"] == e["grown"] > 0 and e["pruned"] == 0 for e in pruner.log[:-1])
    assert pruner.log[-1]["grown"] == 0
    # at most the exchange's size: a weight dropped and regrown at once counts as neither
    assert (
        0
        < pruner.log[0]["grown"]
        <= sum(
            layer_drop_count(n, 0.3 * 0.5 * (1 + math.cos(math.pi * 4 / 30)), "floor")
            for n in (int(m.sum()) for m in engine.masks)
        )
    )


def test_granet_reaches_the_planned_counts_of_a_gradual_run():
    schedule = dict(total_iterations=24, start=0.0, end=0.5, n_steps=4, every=0)
    run = controlled(
        "granet",
        (12, 30, 5),
        dense_start_plan(**schedule, final_density=0.2),
        params={"update_every": 6},
        iterations_per_epoch=6,
        total_iterations=24,
        lr=0.05,
        batch=16,
    )
    engine, pruner, plan = run.engine, run.pruner, run.pruner.plan
    targets = {step.iteration: step.target_active for step in plan}
    for iteration in range(1, 25):
        run.step(iteration)
        if iteration in targets:
            assert engine.active_count() == targets[iteration]
        assert (engine.flat_weights()[~engine.flat_active()] == 0).all()
    assert [s.iteration for s in plan] == [3, 6, 9, 12]
    log = {e["iteration"]: e for e in pruner.log}
    assert sorted(log) == [3, 6, 9, 12, 18, 24]  # the plan's steps and the clock's
    assert log[6]["pruned"] > 0 and log[6]["grown"] > 0  # both at once: prune, then exchange
    assert log[3]["grown"] == 0 and log[18]["pruned"] == 0 < log[18]["grown"]
    assert engine.active_count() == round(0.2 * engine.n_prunable)


# ---------------------------------------------------------------- runs, presets, user files


def tiny(method: str, params: dict, init: float = 1.0) -> RunConfig:
    return TINY_RUN.replace(
        batch_size=32,
        test_limit=64,
        prune_steps=2,
        init_density=init,
        method=method,
        method_params=tuple(params.items()),
    )


def test_the_dense_gradient_is_counted_for_gradient_growth_only():
    rigl = train(tiny("rigl", {"update_every": 2}, init=0.1))
    random = train(tiny("set", {"update_every": 2}, init=0.1))
    updates = [e for e in rigl["prune_schedule"] if e["grown"] > 0]
    assert updates and rigl["cost"]["dense_gradient_flops"] > 0
    assert random["cost"]["dense_gradient_flops"] == 0
    sparse = random["cost"]["train_flops"]
    assert rigl["cost"]["train_flops"] - rigl["cost"]["dense_gradient_flops"] == pytest.approx(
        sparse, rel=0.01
    )


def test_fixed_sparsity_methods_start_at_the_target_and_are_planned_once(tmp_path):
    preset = tmp_path / "dst.toml"
    preset.write_text(
        "seeds = 1\n[base]\ntarget_sparsity = 0.95\n"
        "[grid]\ninit_density = [1.0, 0.5]\n"
        '[[method]]\nname = "granet"\n[[method]]\nname = "rigl"\nfixed_sparsity = true\n'
    )
    configs = expand(load_preset(str(preset)))
    starts = sorted((c.method, c.init_density) for c in configs)
    assert starts == [("granet", 0.5), ("granet", 1.0), ("rigl", 0.05)]
    assert len(expand(load_preset("dst"))) == 75 and len(expand(load_preset("paper"))) == 186


def test_fixed_sparsity_must_be_a_boolean(tmp_path):
    preset = tmp_path / "bad.toml"
    preset.write_text('[[method]]\nname = "rigl"\nfixed_sparsity = "yes"\n')
    with pytest.raises(Exception, match="fixed_sparsity must be true or false"):
        load_preset(str(preset))


def test_an_out_of_tree_regrowing_method_runs_through_the_file_mechanism(tmp_path, capsys):
    """The guide's example (docs/adding-a-baseline.md, section 9), loaded from its file."""
    spec = f"{ROOT / 'examples' / 'gradient_swap.py'}:GradientSwap"
    out = tmp_path / "out"
    argv = [*TINY_FLAGS, "--method", spec, "--method-param", "every=2", "--target-sparsity", "0.8"]
    assert run_main([*argv, "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    (result_file,) = out.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["final"]["mask_sparsity"] == pytest.approx(0.8, abs=1e-5)
    assert sum(e["grown"] for e in result["prune_schedule"]) > 0
    assert result["config"]["method_params"]["n"] == 64
    assert result["cost"]["dense_gradient_flops"] > 0
