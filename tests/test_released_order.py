"""Pruning before the optimizer step, as we do, trains exactly what the released order does.

The released script steps the optimizer and then prunes (S 433-435), with torch's pruning
reparametrisation (`weight = weight_orig * weight_mask`, recomputed by a forward pre-hook).
Its scores are therefore the state *before* the step: `weight_orig.grad` from this
iteration's backward, and `module.weight` as this iteration's forward computed it (the step
changes `weight_orig`, not that attribute). The new mask then applies to the stepped weights.
We prune between backward and step with the same scores, zero the pruned entries and step.
SGD updates each weight from its own gradient and buffer alone, so the surviving weights
follow the same trajectory either way. This test runs both on the same batches and checks
it: masks identical, effective weights identical, every iteration.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import prune

from benchmark.config import RunConfig
from benchmark.planning import prepare
from benchmark.sparsity import prunable_layers
from benchmark.train import DEFAULT_DATA_DIR, TrainingRun, make_optimizer
from tests.released import released_annealed, released_cosine_decay, released_fggp


def released_rule(name: str, total: int):
    if name == "fggp":
        return lambda w, g, active, k, t: released_fggp(w, g, active, k, 0.5)
    return lambda w, g, active, k, t: released_annealed(
        w, g, active, k, released_cosine_decay(0.5, total, (t,))[t]
    )


@pytest.mark.parametrize("method", ["fggp", "annealed_hybrid"])
@pytest.mark.parametrize("init_density", [1.0, 0.5])
def test_the_released_order_trains_the_same_network(method, init_density):
    config = prepare(
        RunConfig(
            arch="vgg19",
            width=0.0625,
            dataset="synthetic",
            method=method,
            target_sparsity=0.9,
            init_density=init_density,
            epochs=2,
            batch_size=64,
            train_limit=512,
            test_limit=128,
            prune_every=2,
            prune_end=0.8,
            keep_first_dense=True,
            label_smoothing=0.1,
            precision="fp32",
        )
    )
    ours = TrainingRun(config, torch.device("cpu"), DEFAULT_DATA_DIR)
    total = config.epochs * len(ours.train_loader)
    plan = {step.iteration: step.target_active for step in ours.pruner.plan}
    assert sorted(plan) == [2, 4, 6, 8, 10, 12]

    # The released model: our initial weights and masks under torch's reparametrisation.
    model = copy.deepcopy(ours.model)
    layers = [
        module
        for name, module in model.named_modules()
        if f"{name}.weight" in {n for n, _ in prunable_layers(model, keep_first_dense=True)}
    ]
    for module, mask in zip(layers, ours.engine.masks, strict=True):
        prune.custom_from_mask(module, "weight", mask.float())
    optimizer = make_optimizer(model, config, fused=False)
    rule = released_rule(method, total)

    iteration = 0
    for epoch in range(config.epochs):
        for images, labels in ours.train_loader.epoch(epoch):
            iteration += 1
            ours.train_step(images, labels)

            optimizer.zero_grad()
            loss = F.cross_entropy(model(images).float(), labels, label_smoothing=0.1)
            loss.backward()
            optimizer.step()  # S 433, then the pruning step of S 434-435
            if iteration in plan:
                weight = torch.cat([m.weight.detach().reshape(-1) for m in layers])
                grad = torch.cat([m.weight_orig.grad.reshape(-1) for m in layers])
                active = torch.cat([m.weight_mask.reshape(-1) for m in layers]).bool()
                k = int(active.sum()) - plan[iteration]
                pruned = rule(weight, grad, active, k, iteration)
                sizes = [m.weight_mask.numel() for m in layers]
                for module, gone in zip(layers, torch.split(pruned, sizes), strict=True):
                    keep = (~gone).view_as(module.weight_mask).float()
                    prune.custom_from_mask(module, "weight", keep)

            for module, mask, param in zip(
                layers, ours.engine.masks, ours.engine.params, strict=True
            ):
                assert torch.equal(module.weight_mask.bool(), mask), iteration
                effective = module.weight_orig.detach() * module.weight_mask
                assert torch.equal(effective, param.detach()), iteration
    assert iteration == total and ours.engine.active_count() == ours.pruner.plan[-1].target_active
