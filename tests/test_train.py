"""End to end: one training run per method on tiny synthetic data, and what its result says."""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark import flops
from benchmark.errors import UserError
from benchmark.models import build_model
from benchmark.result import SCHEMA
from benchmark.train import DEFAULT_DATA_DIR, TrainingRun, train
from tests.support import assert_exact_sparsity, without_timings


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("fggp", {}),
        ("magnitude", {}),
        ("gradient", {}),
        ("annealed_hybrid", {}),
        ("hybrid", {"order": "magnitude_first", "schedule": "cosine", "final_rate": 0.2}),
    ],
)
def test_every_method_reaches_the_exact_target(tiny, method, params):
    result = train(tiny.replace(method=method, method_params=params))
    assert_exact_sparsity(result, 0.9)
    assert result["status"] == "completed"
    assert [s["step"] for s in result["prune_schedule"]] == [1, 2, 3, 4, 5]
    densities = [s["density"] for s in result["prune_schedule"]]
    assert densities == sorted(densities, reverse=True)
    json.dumps(result, allow_nan=False)  # strict JSON: no NaN or inf anywhere


def test_result_record_has_every_field(tiny):
    result = train(tiny.replace(val_size=64))
    assert result["schema"] == SCHEMA
    expected = tiny.replace(val_size=64, method_params={"select_ratio": 0.5})
    assert result["run_id"] == expected.run_id()
    assert result["config"]["method_params"] == {"select_ratio": 0.5}
    assert set(result["final"]) >= {
        "test_acc",
        "test_loss",
        "sparsity",
        "best_test_acc",
        "best_epoch",
        "val_acc",
    }
    assert len(result["history"]) == 2
    for record in result["history"]:
        assert set(record) >= {
            "epoch",
            "train_loss",
            "test_acc",
            "sparsity",
            "lr",
            "seconds",
            "val_acc",
        }
    best = max(result["history"], key=lambda r: r["test_acc"])
    assert (result["final"]["best_test_acc"], result["final"]["best_epoch"]) == (
        best["test_acc"],
        best["epoch"],
    )
    assert result["final"]["test_acc"] == result["history"][-1]["test_acc"]
    assert result["data"] == {
        **result["data"],
        "n_train": 448,
        "n_val": 64,
        "n_test": 256,
        "num_classes": 10,
    }
    assert len(result["layers"]) == 17
    cost = result["cost"]
    assert 0 < cost["inference_flops"] < cost["dense_inference_flops"]
    assert 0 < cost["train_flops"] < cost["dense_train_flops"]
    assert cost["peak_memory_bytes"] > 0 and cost["wall_seconds"] > 0
    assert set(result["env"]) >= {"torch", "cuda", "device", "python", "git_commit"}
    # the versions the report compares across runs (benchmark.stats.summary.VERSION_FIELDS)
    assert result["env"]["numpy"] == np.__version__
    assert result["env"]["torchvision"] == importlib.metadata.version("torchvision")


def test_sparse_flops_follow_the_surviving_weights(tiny):
    result = train(tiny.replace(epochs=1))
    model = build_model("vgg19", 10, tiny.width)
    positions = flops.layer_geometry(model, (3, 32, 32))
    survivors = {
        layer["name"].removesuffix(".weight"): round(layer["density"] * layer["numel"])
        for layer in result["layers"]
    }
    assert result["cost"]["inference_flops"] == flops.inference_macs(positions, survivors)
    dense = {name: layer["numel"] for name, layer in zip(survivors, result["layers"], strict=True)}
    assert result["cost"]["dense_inference_flops"] == flops.inference_macs(positions, dense)


def test_same_seed_same_result_apart_from_timings(tiny):
    first = train(tiny.replace(method="annealed_hybrid", init_density=0.5))
    second = train(tiny.replace(method="annealed_hybrid", init_density=0.5))
    assert without_timings(first) == without_timings(second)
    third = train(tiny.replace(method="annealed_hybrid", init_density=0.5, seed=1))
    assert without_timings(third)["history"] != without_timings(first)["history"]


def test_methods_are_paired_until_they_first_differ(tiny):
    """Same seed: same initial weights, mask and batches, so before pruning starts every
    method's run is the same run."""
    late = tiny.replace(prune_start=0.5, prune_end=1.0, epochs=2)
    runs = [train(late.replace(method=m)) for m in ("fggp", "magnitude")]
    dense = train(late.replace(method="dense", target_sparsity=0.0))
    first_epochs = [without_timings(r["history"][0]) for r in [*runs, dense]]
    assert first_epochs[0] == first_epochs[1] == first_epochs[2]
    assert runs[0]["history"][1] != runs[1]["history"][1]


def test_sparse_start_uses_erk_and_still_hits_the_target(tiny):
    result = train(tiny.replace(init_density=0.5, target_sparsity=0.95))
    first_step = result["prune_schedule"][0]
    assert first_step["density"] < 0.5
    assert_exact_sparsity(result, 0.95)
    # ERK keeps the small first conv far denser than the big middle layers
    densities = {layer["name"]: layer["density"] for layer in result["layers"]}
    assert densities["features.0.weight"] > densities["features.40.weight"]


def test_dense_baseline_never_prunes(tiny):
    result = train(tiny.replace(method="dense", target_sparsity=0.0))
    assert result["final"]["sparsity"] == 0.0
    assert all(s["pruned"] == 0 for s in result["prune_schedule"])
    assert result["cost"]["train_flops"] == result["cost"]["dense_train_flops"]


def test_keep_first_last_dense(tiny):
    result = train(tiny.replace(keep_first_last_dense=True))
    names = [layer["name"] for layer in result["layers"]]
    assert "features.0.weight" not in names and "classifier.weight" not in names
    assert len(names) == 15


def test_ema_gradient_source_runs(tiny):
    result = train(tiny.replace(method="gradient", grad_source="ema"))
    assert result["status"] == "completed"
    assert_exact_sparsity(result, 0.9)


def test_divergence_is_reported_not_hidden(tiny):
    result = train(tiny.replace(lr=1e12, weight_decay=0.0, epochs=3))
    assert result["status"] == "diverged"
    assert result["history"][-1]["train_loss"] is None or not math.isfinite(
        result["history"][-1]["train_loss"]
    )
    json.dumps(result, allow_nan=False)


def test_bf16_autocast_keeps_masks_exact(tiny):
    result = train(tiny.replace(precision="bf16"))
    assert result["status"] == "completed"
    assert_exact_sparsity(result, 0.9)


class Crash(Exception):
    pass


def test_a_run_resumed_from_its_checkpoint_ends_as_if_never_stopped(tiny, tmp_path):
    config = tiny.replace(
        epochs=4, prune_start=0.0, prune_end=0.75, init_density=0.5, grad_source="ema"
    )
    uninterrupted = train(config)
    checkpoint = tmp_path / "run.ckpt"

    def crash_in_epoch_3(line: str) -> None:
        if line.startswith("epoch    3/4"):
            raise Crash  # after epoch 3's record, before its checkpoint: epoch 2's is on disk

    with pytest.raises(Crash):
        train(config, checkpoint=checkpoint, checkpoint_every=1, log=crash_in_epoch_3)
    assert checkpoint.exists()
    lines: list[str] = []
    resumed = train(config, checkpoint=checkpoint, checkpoint_every=1, log=lines.append)
    assert lines[0].startswith(f"resumed from {checkpoint} after epoch 2")
    assert without_timings(resumed) == without_timings(uninterrupted)
    assert not checkpoint.exists()


def test_restore_undoes_a_replayed_pruning_step(tiny):
    """What the performance benchmark relies on: from a snapshot moved to the iteration
    before the first planned step, that step prunes; `restore` then puts the iteration,
    the masks, the controller's progress and the MAC count back as they were."""
    run = TrainingRun(tiny, torch.device("cpu"), DEFAULT_DATA_DIR)
    run.train_step(*next(iter(run.train_loader.epoch(0))))  # a gradient to prune with
    assert not run.pruner.log
    snapshot = run.snapshot()
    masks = [mask.clone() for mask in run.engine.masks]
    macs, active = run.cost.current_macs, run.engine.active_count()
    run.restore(dataclasses.replace(snapshot, iteration=run.pruner.plan[0].iteration - 1))
    assert run.prune_if_planned() and run.engine.active_count() < active
    assert run.cost.current_macs < macs and len(run.pruner.log) == 1
    run.restore(snapshot)
    assert run.iteration == snapshot.iteration == 1
    assert run.pruner.state_dict() == {"index": 0, "log": []}
    assert run.cost.current_macs == macs and run.engine.active_count() == active
    assert all(torch.equal(a, b) for a, b in zip(run.engine.masks, masks, strict=True))


def test_a_foreign_or_damaged_checkpoint_is_a_clear_error(tiny, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read checkpoint"):
        train(tiny, checkpoint=checkpoint)


def test_the_training_loss_is_label_smoothed_cross_entropy(tiny):
    """The step's loss, from a copy of the model taken before the step, against torch's
    label-smoothed cross-entropy and a transcription of its definition:
    (1 - e) * CE + e * mean over classes of -log p."""
    smoothed = TrainingRun(
        tiny.replace(label_smoothing=0.1, precision="fp32"), torch.device("cpu"), DEFAULT_DATA_DIR
    )
    images, labels = next(iter(smoothed.train_loader.epoch(0)))
    with torch.no_grad():  # peaked logits, where smoothing matters (at init they are flat)
        smoothed.model.classifier.weight.mul_(300.0)
    before = copy.deepcopy(smoothed.model).train()
    loss = smoothed.train_step(images, labels)
    with torch.no_grad():
        logits = before(images).float()
    log_p = torch.log_softmax(logits, dim=1)
    by_hand = 0.9 * F.nll_loss(log_p, labels) + 0.1 * (-log_p.mean(dim=1)).mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-5)
    assert loss.item() == pytest.approx(
        F.cross_entropy(logits, labels, label_smoothing=0.1).item(), rel=1e-6
    )
    # and not the plain loss: here they differ by 0.02, 100x the agreement asserted above
    assert abs(loss.item() - F.cross_entropy(logits, labels).item()) > 0.01
