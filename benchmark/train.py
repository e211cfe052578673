"""One training run with gradual pruning: the fixed harness every method shares.

The only thing that differs between methods is which weights `select` picks at a
pruning step; data order, augmentation, initial weights, initial mask, optimiser,
schedule and budget are all fixed by the configuration and seed, so runs of different
methods with the same seed are paired observations.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import baselines
from benchmark import environment, flops
from benchmark.config import RunConfig, validate
from benchmark.data import Dataset, load_dataset
from benchmark.data.loader import DeviceLoader
from benchmark.errors import UserError
from benchmark.models import ARCHS, build_model
from benchmark.pruning import GradualPruner
from benchmark.schedule import lr_milestone_epochs, prune_plan
from benchmark.sparsity import GradientSource, SparsityEngine, prunable_layers

SCHEMA = "fggp-bench/run/1"
DEFAULT_DATA_DIR = environment.REPO_ROOT / "data"
EVAL_BATCH_SIZE = 1000
# Seeds for the run's random streams are derived from the run seed with fixed offsets,
# so drawing the initial mask never shifts the data order and vice versa.
_MASK_SEED_OFFSET = 1_000_003
_SPLIT_SEED = 20241108  # validation split: the same images for every seed and method

Log = Callable[[str], None]


def prepare(config: RunConfig) -> RunConfig:
    """Validate a configuration and fill in the method's default parameters."""
    validate(config)
    if config.arch not in ARCHS:
        raise UserError(f"unknown arch {config.arch!r}; choose from: {', '.join(ARCHS)}")
    params = baselines.resolve_params(config.method, config.method_kwargs)
    method = baselines.build(config.method, params)
    if not baselines.prunes(method) and (config.target_sparsity, config.init_density) != (0, 1):
        raise UserError(
            f"method {config.method!r} trains the dense network: "
            "use target sparsity 0 and init density 1"
        )
    return config.replace(method_params=params)


@dataclass(frozen=True)
class Splits:
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]


def carve_splits(data: Dataset, config: RunConfig) -> Splits:
    """Apply the subset limits, then hold out a fixed validation set from the training images."""
    x_train, y_train = data.x_train, data.y_train
    if config.train_limit:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    x_test, y_test = data.x_test, data.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    val = None
    if config.val_size:
        if config.val_size >= len(x_train):
            raise UserError(
                f"validation size {config.val_size} leaves no training images of {len(x_train)}"
            )
        order = np.random.default_rng(_SPLIT_SEED).permutation(len(x_train))
        held, kept = np.sort(order[: config.val_size]), np.sort(order[config.val_size :])
        val = (x_train[held], y_train[held])
        x_train, y_train = x_train[kept], y_train[kept]
    return Splits(train=(x_train, y_train), val=val, test=(x_test, y_test))


def autocast(device: torch.device, precision: str) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@torch.no_grad()
def evaluate(model: nn.Module, loader: DeviceLoader, precision: str) -> tuple[float, float]:
    """(accuracy in percent, mean cross-entropy) over one pass of an unaugmented loader."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for images, labels in loader.eval_batches():
        with autocast(device, precision):
            logits = model(images)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum").double()
        correct += (logits.argmax(dim=1) == labels).sum()
        count += len(labels)
    model.train(was_training)
    return 100.0 * int(correct) / count, float(loss_sum) / count


def peak_memory_bytes(device: torch.device) -> int:
    """Peak device memory on a GPU; on the CPU, the process's peak resident set size."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def train(
    config: RunConfig,
    *,
    device: torch.device | str = "cpu",
    data_dir: Path = DEFAULT_DATA_DIR,
    log: Log | None = None,
) -> dict[str, Any]:
    """Run one configuration end to end and return its result record (see docs/results.md)."""
    config = prepare(config)
    device = torch.device(device)
    log = log or (lambda _line: None)
    started = time.perf_counter()
    if device.type == "cpu":
        # Weight decay drives small weights into the denormal range, where CPU arithmetic
        # is 10-100x slower; flushing them to zero changes no result we could measure.
        torch.set_flush_denormal(True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    data = load_dataset(config.dataset, data_dir)
    splits = carve_splits(data, config)
    train_loader, test_loader, val_loader = _loaders(config, data, splits, device)

    torch.manual_seed(config.seed)
    height, width, channels = splits.train[0].shape[1:]
    model = build_model(config.arch, data.num_classes, config.width, in_channels=channels)
    positions = flops.layer_geometry(model, (channels, height, width))
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)

    engine = SparsityEngine(model, config.keep_first_last_dense)
    mask_generator = torch.Generator().manual_seed(config.seed + _MASK_SEED_OFFSET)
    engine.init_random(config.init_density, mask_generator)
    plan = prune_plan(
        config.epochs * len(train_loader),
        config.prune_start,
        config.prune_end,
        config.prune_steps,
        engine.active_count(),
        engine.n_prunable,
        1.0 - config.target_sparsity,
    )
    pruner = GradualPruner(
        engine,
        baselines.build(config.method, config.method_kwargs),
        config.method,
        GradientSource(engine.params, config.grad_source, config.grad_ema_decay),
        plan,
        len(train_loader),
    )
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov and config.momentum > 0,
        weight_decay=config.weight_decay,
    )
    lr_schedule = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, lr_milestone_epochs(config.epochs, config.lr_milestones), config.lr_gamma
    )

    def forward_macs() -> int:
        return flops.inference_macs(positions, _nonzero_weights(model, engine))

    dense_macs = flops.inference_macs(positions, _all_weights(model))
    current_macs = forward_macs()
    train_macs = 0
    history: list[dict[str, Any]] = []
    status = "completed"
    iteration = 0
    model.train()
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        seen = 0
        for images, labels in train_loader.epoch(epoch):
            with autocast(device, config.precision):
                logits = model(images)
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if pruner.after_backward(iteration, optimizer):
                current_macs = forward_macs()
            engine.apply_to_gradients()
            optimizer.step()
            engine.apply_to_weights()
            loss_sum += loss.detach().double() * len(labels)
            seen += len(labels)
            train_macs += 3 * current_macs * len(labels)
            iteration += 1
        lr_schedule.step()
        train_loss = float(loss_sum) / seen
        test_acc, test_loss = evaluate(model, test_loader, config.precision)
        record = {
            "epoch": epoch + 1,
            "train_loss": _finite_or_none(train_loss),
            "test_acc": test_acc,
            "test_loss": _finite_or_none(test_loss),
            "sparsity": engine.measured_sparsity(),
            "lr": lr,
            "seconds": time.perf_counter() - epoch_start,
        }
        if val_loader is not None:
            record["val_acc"], val_loss = evaluate(model, val_loader, config.precision)
            record["val_loss"] = _finite_or_none(val_loss)
        history.append(record)
        log(_format_epoch(record, config.epochs))
        if not math.isfinite(train_loss):
            status = "diverged"
            log(f"training diverged at epoch {epoch + 1} (non-finite loss); stopping")
            break

    final = history[-1]
    best = max(history, key=lambda r: r["test_acc"])
    return {
        "schema": SCHEMA,
        "run_id": config.run_id(),
        "status": status,
        "config": config.to_dict(),
        "final": {
            "test_acc": final["test_acc"],
            "test_loss": final["test_loss"],
            "sparsity": engine.measured_sparsity(),
            "mask_sparsity": 1.0 - engine.active_count() / engine.n_prunable,
            "best_test_acc": best["test_acc"],
            "best_epoch": best["epoch"],
            **({"val_acc": final["val_acc"]} if "val_acc" in final else {}),
        },
        "history": history,
        "prune_schedule": pruner.log,
        "layers": engine.layer_densities(),
        "cost": {
            "wall_seconds": time.perf_counter() - started,
            "train_flops": train_macs,
            "dense_train_flops": 3 * dense_macs * config.epochs * len(splits.train[0]),
            "inference_flops": current_macs,
            "dense_inference_flops": dense_macs,
            "peak_memory_bytes": peak_memory_bytes(device),
        },
        "data": {
            "name": data.name,
            "fingerprint": data.fingerprint,
            "num_classes": data.num_classes,
            "n_train": len(splits.train[0]),
            "n_val": len(splits.val[0]) if splits.val else 0,
            "n_test": len(splits.test[0]),
        },
        "env": environment.describe(device),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _loaders(
    config: RunConfig, data: Dataset, splits: Splits, device: torch.device
) -> tuple[DeviceLoader, DeviceLoader, DeviceLoader | None]:
    """Training batches (shuffled, augmented, seeded by the run) and unaugmented eval passes."""
    common = dict(mean=data.mean, std=data.std, device=device)
    train_loader = DeviceLoader(
        *splits.train,
        batch_size=config.batch_size,
        augment=config.augment,
        shuffle=True,
        seed=config.seed,
        **common,
    )
    test_loader = DeviceLoader(
        *splits.test, batch_size=EVAL_BATCH_SIZE, augment=False, seed=0, **common
    )
    val_loader = (
        DeviceLoader(*splits.val, batch_size=EVAL_BATCH_SIZE, augment=False, seed=0, **common)
        if splits.val
        else None
    )
    return train_loader, test_loader, val_loader


def _nonzero_weights(model: nn.Module, engine: SparsityEngine) -> dict[str, int]:
    """Surviving weights per Conv2d/Linear module; layers outside the engine count dense."""
    counts = _all_weights(model)
    counts.update(engine.nonzero_by_module())
    return counts


def _all_weights(model: nn.Module) -> dict[str, int]:
    """Weights per Conv2d/Linear module: the dense model's MAC weights."""
    return {
        name.removesuffix(".weight"): param.numel()
        for name, param in prunable_layers(model, keep_first_last_dense=False)
    }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _format_epoch(record: dict[str, Any], epochs: int) -> str:
    loss = record["train_loss"]
    loss_text = f"{loss:.4f}" if loss is not None else "nan"
    val = f"  val {record['val_acc']:6.2f}%" if "val_acc" in record else ""
    return (
        f"epoch {record['epoch']:>4}/{epochs}  loss {loss_text}  test {record['test_acc']:6.2f}%"
        f"{val}  sparsity {record['sparsity']:.4f}  lr {record['lr']:.4g}  {record['seconds']:.1f}s"
    )
