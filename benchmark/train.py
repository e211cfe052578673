"""One training run with gradual pruning: the fixed harness every method shares.

The only thing that differs between methods is which weights `select` picks at a
pruning step; data order, augmentation, initial weights, initial mask, optimiser,
schedule and budget are all fixed by the configuration and seed, so runs of different
methods with the same seed are paired observations.

What a run is planned to do comes from `benchmark.planning`, its MACs are counted by
`benchmark.flops.CostMeter`, and its result record is laid out by `benchmark.result`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import baselines
from benchmark import environment, flops
from benchmark.checkpoint import load_checkpoint, save_checkpoint
from benchmark.config import RunConfig
from benchmark.data import Dataset, load_dataset
from benchmark.data.loader import DeviceLoader
from benchmark.data.splits import Splits, carve_splits
from benchmark.devices import (
    autocast,
    compile_backend,
    peak_memory_bytes,
    resolve_device,
    resolve_precision,
    setup_device,
)
from benchmark.models import build_model
from benchmark.planning import prepare, pruning_plan
from benchmark.pruning import GradualPruner
from benchmark.result import run_record
from benchmark.schedule import lr_milestone_epochs
from benchmark.sparsity import GradientSource, SparsityEngine

DEFAULT_DATA_DIR = environment.default_data_dir()
EVAL_BATCH_SIZE = 1000
# Seeds for the run's random streams are derived from the run seed with fixed offsets,
# so drawing the initial mask never shifts the data order and vice versa.
_MASK_SEED_OFFSET = 1_000_003

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunSnapshot:
    """A `TrainingRun`'s position in its schedule, as `TrainingRun.snapshot` copies it."""

    iteration: int
    masks: tuple[Tensor, ...]
    pruner: dict[str, Any]


def make_optimizer(model: nn.Module, config: RunConfig, fused: bool) -> torch.optim.SGD:
    """SGD with the run's hyperparameters. `fused` (used on CUDA) updates every parameter
    in one kernel instead of a few passes over the weights; same update, same state."""
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov and config.momentum > 0,
        weight_decay=config.weight_decay,
        fused=fused or None,
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DeviceLoader,
    precision: str,
    forward: Callable[[Tensor], Tensor] | None = None,
) -> tuple[float, float]:
    """(accuracy in percent, mean cross-entropy) over one pass of an unaugmented loader.

    `forward` is the model's (possibly compiled) call; the loop reads nothing back from
    the device until the pass is over.
    """
    forward = model if forward is None else forward
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for images, labels in loader.eval_batches():
        with autocast(device, precision):
            logits = forward(images)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum").double()
        correct += (logits.argmax(dim=1) == labels).sum()
        count += len(labels)
    model.train(was_training)
    return 100.0 * int(correct) / count, float(loss_sum) / count


class TrainingRun:
    """The state of one run between epochs: what a checkpoint saves and restores.

    Everything random is fixed before the first epoch (initial weights, initial mask)
    or drawn per epoch from (seed, epoch) (batches, augmentation), so a run restored at
    an epoch boundary continues exactly as if it had never stopped.
    """

    def __init__(
        self,
        config: RunConfig,
        device: torch.device,
        data_dir: Path,
        *,
        data: Dataset | None = None,
        compile: bool | str = False,
    ) -> None:
        """`data` replaces loading `config.dataset` (the performance benchmark's stand-in
        images); `compile` compiles the model's forward and backward with torch.compile."""
        self.config = config
        self.device = device
        self.precision = resolve_precision(config.precision, device)
        self.compile_backend = compile_backend(compile)
        self.data = data if data is not None else load_dataset(config.dataset, data_dir)
        self.splits = carve_splits(self.data, config)
        self.train_loader, self.test_loader, self.val_loader = _loaders(
            config, self.data, self.splits, device
        )

        torch.manual_seed(config.seed)
        height, width, channels = self.splits.train[0].shape[1:]
        model = build_model(config.arch, self.data.num_classes, config.width, channels)
        positions = flops.layer_geometry(model, (channels, height, width))
        # channels_last on every device: the loader's batches are NHWC in memory already,
        # so no layout conversion, and the weights match. On a GPU that is what tensor-core
        # convolutions want; on the CPU it computes the same numbers bit for bit as an NCHW
        # model fed NHWC batches, 3-5x faster (measured: docs/performance.md).
        self.model = model.to(device).to(memory_format=torch.channels_last)
        self.channels_last = True
        # The training and evaluation call. Compiled, it stays a wrapper around
        # `self.model`, which keeps its own parameter names for the masks and checkpoints.
        # Static shapes: a run sees at most a few (full and last batch, eval batches).
        self.forward: Callable[[Tensor], Tensor] = (
            torch.compile(self.model, backend=self.compile_backend, dynamic=False)
            if self.compile_backend
            else self.model
        )

        self.engine = SparsityEngine(
            self.model, config.keep_first_dense, config.keep_first_last_dense
        )
        mask_generator = torch.Generator().manual_seed(config.seed + _MASK_SEED_OFFSET)
        self.engine.init_random(config.init_density, mask_generator)
        self.gradients = GradientSource(
            self.engine.params, config.grad_source, config.grad_ema_decay
        )
        self.pruner = GradualPruner(
            self.engine,
            baselines.build(config.method, config.method_kwargs),
            config.method,
            self.gradients,
            pruning_plan(config, len(self.train_loader), self.engine),
            len(self.train_loader),
            config.epochs * len(self.train_loader),
            seed=config.seed,
        )
        self.fused_optimizer = device.type == "cuda"
        self.optimizer = make_optimizer(self.model, config, fused=self.fused_optimizer)
        self.lr_schedule = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer,
            lr_milestone_epochs(config.epochs, config.lr_milestones),
            config.lr_gamma,
        )
        self.cost = flops.CostMeter(self.model, positions, self.engine)
        self.history: list[dict[str, Any]] = []
        self.iteration = 0
        self.elapsed = 0.0  # seconds spent in earlier sessions of this run

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def diverged(self) -> bool:
        return bool(self.history) and self.history[-1]["train_loss"] is None

    def train_step(self, images: Tensor, labels: Tensor) -> Tensor:
        """One optimisation step on one batch, pruning first if the plan says so.

        Returns the batch's mean loss as a device tensor. Nothing is read back to the host
        (no `.item()`, no data-dependent Python branch) except at a pruning step, where the
        number of weights to remove must be known: the GPU never waits for the CPU.
        """
        with autocast(self.device, self.precision):
            logits = self.forward(images)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.config.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.prune_if_planned()
        self.engine.apply_to_gradients()
        self.optimizer.step()
        self.engine.apply_to_weights()
        self.cost.count_iteration(len(labels), dense_gradient=self.pruner.dense_gradient_read)
        self.iteration += 1
        return loss.detach()

    def prune_if_planned(self) -> bool:
        """After a backward pass: prune if this iteration is a planned step (True if the
        masks changed). The only place a training step reads values back from the device.
        Iterations are counted from 1 here, like the released code's `train_iter`."""
        if self.pruner.after_backward(self.iteration + 1, self.optimizer):
            self.cost.masks_changed()
            return True
        return False

    def evaluate(self, loader: DeviceLoader) -> tuple[float, float]:
        return evaluate(self.model, loader, self.precision, self.forward)

    def train_epoch(self) -> dict[str, Any]:
        epoch_start = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        seen = 0
        self.model.train()
        for images, labels in self.train_loader.epoch(self.epochs_done):
            loss = self.train_step(images, labels)
            loss_sum += loss.double() * len(labels)
            seen += len(labels)
        self.lr_schedule.step()
        # The epoch's first reads from the device (accuracy, loss sum): after its last step.
        test_acc, test_loss = self.evaluate(self.test_loader)
        record = {
            "epoch": self.epochs_done + 1,
            "train_loss": _finite_or_none(float(loss_sum) / seen),
            "test_acc": test_acc,
            "test_loss": _finite_or_none(test_loss),
            "sparsity": self.engine.measured_sparsity(),
            "lr": lr,
            "seconds": time.perf_counter() - epoch_start,
        }
        if self.val_loader is not None:
            record["val_acc"], val_loss = self.evaluate(self.val_loader)
            record["val_loss"] = _finite_or_none(val_loss)
        self.history.append(record)
        return record

    # --- checkpoints: plain tensors and Python values, loadable with weights_only=True --
    def state_dict(self, elapsed: float) -> dict[str, Any]:
        return {
            "run_id": self.config.run_id(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "masks": [mask.cpu() for mask in self.engine.masks],
            "gradient_averages": self.gradients.averages,
            "pruner": self.pruner.state_dict(),
            "history": self.history,
            "iteration": self.iteration,
            **self.cost.state_dict(),
            "elapsed": elapsed,
            "precision": self.precision,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["run_id"] != self.config.run_id():
            raise ValueError(f"checkpoint of run {state['run_id']}, not {self.config.run_id()}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        self.engine.masks = [mask.to(self.device) for mask in state["masks"]]
        self.engine.apply_to_weights()
        averages = state["gradient_averages"]
        self.gradients.averages = (
            None if averages is None else [a.to(self.device) for a in averages]
        )
        self.pruner.load_state_dict(state["pruner"])
        self.history = state["history"]
        self.iteration = state["iteration"]
        self.cost.load_state_dict(state)
        self.elapsed = state["elapsed"]
        # A run keeps the arithmetic it started with, even if `auto` would now resolve
        # otherwise (resumed on another kind of device): one run, one precision.
        self.precision = state.get("precision", self.precision)

    # --- in-memory snapshots: to replay a step and put the run back (benchmark.perf) ----
    def snapshot(self) -> RunSnapshot:
        """The iteration, masks and pruning controller's progress, copied, for `restore`."""
        return RunSnapshot(
            iteration=self.iteration,
            masks=tuple(mask.clone() for mask in self.engine.masks),
            pruner=copy.deepcopy(self.pruner.state_dict()),
        )

    def restore(self, snapshot: RunSnapshot) -> None:
        """Put back what `snapshot` holds (the snapshot stays usable for another restore).

        Weights, optimizer state and gradient averages are left as they are: a weight
        pruned since the snapshot stays zero, its mask restored.
        """
        self.iteration = snapshot.iteration
        self.engine.masks = [mask.clone() for mask in snapshot.masks]
        self.pruner.load_state_dict(copy.deepcopy(snapshot.pruner))
        self.cost.masks_changed()

    def execution(self) -> dict[str, Any]:
        """How the run was executed: the resolved precision and the speed switches."""
        return {
            "precision": self.precision,
            "compile": self.compile_backend,
            "channels_last": self.channels_last,
            "cudnn_benchmark": self.device.type == "cuda" and torch.backends.cudnn.benchmark,
            "fused_optimizer": self.fused_optimizer,
        }

    def result(self, wall_seconds: float) -> dict[str, Any]:
        engine, splits = self.engine, self.splits
        return run_record(
            config=self.config,
            diverged=self.diverged,
            history=self.history,
            sparsity=engine.measured_sparsity(),
            mask_sparsity=1.0 - engine.active_count() / engine.n_prunable,
            prune_schedule=self.pruner.log,
            layers=engine.layer_densities(),
            wall_seconds=wall_seconds,
            flop_counts=self.cost.fields(self.config.epochs, len(splits.train[0])),
            peak_memory_bytes=peak_memory_bytes(self.device),
            data=self.data,
            split_sizes=(
                len(splits.train[0]),
                len(splits.val[0]) if splits.val else 0,
                len(splits.test[0]),
            ),
            execution=self.execution(),
            env=environment.describe(self.device),
        )


def train(
    config: RunConfig,
    *,
    device: torch.device | str = "cpu",
    data_dir: Path = DEFAULT_DATA_DIR,
    log: Log | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 5,
    compile: bool | str = False,
) -> dict[str, Any]:
    """Run one configuration end to end and return its result record (see docs/results.md).

    With `checkpoint`, the run's state is saved there atomically every `checkpoint_every`
    epochs, a run that finds a checkpoint of itself continues from it, and the file is
    removed once the run ends. `compile` (True, or a torch.compile backend name) compiles
    the model: an execution option like the device, not part of the run's identity.
    """
    config = prepare(config)
    device = resolve_device(str(device))
    log = log or (lambda _line: None)
    started = time.perf_counter()
    setup_device(device)

    run = TrainingRun(config, device, data_dir, compile=compile)
    if checkpoint is not None and checkpoint.exists():
        run.load_state_dict(load_checkpoint(checkpoint))
        log(f"resumed from {checkpoint} after epoch {run.epochs_done}")
    while run.epochs_done < config.epochs and not run.diverged:
        log(_format_epoch(run.train_epoch(), config.epochs))
        if run.diverged:
            log(f"training diverged at epoch {run.epochs_done} (non-finite loss); stopping")
        elif checkpoint is not None and _due(run.epochs_done, checkpoint_every, config.epochs):
            save_checkpoint(checkpoint, run.state_dict(run.elapsed + time.perf_counter() - started))
    result = run.result(run.elapsed + time.perf_counter() - started)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return result


def _due(epochs_done: int, every: int, epochs: int) -> bool:
    """A checkpoint every `every` epochs, but none after the last: the result replaces it."""
    return epochs_done % every == 0 and epochs_done < epochs


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
