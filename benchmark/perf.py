"""How fast the harness trains, against a reference-style pipeline: `python -m benchmark.perf`.

For each architecture it measures, in one process and on one device:

(a) the harness as configured for the paper: the `TrainingRun` that `benchmark.train` uses
    (data resident on the device, batched on-device augmentation, the masked optimizer
    step, the pruning controller, `precision = auto`, channels_last and cuDNN autotuning
    on CUDA, optionally `torch.compile`), driven through its own `train_step`;
(b) a reference-style pipeline (GraNet / sparselearning style): a torchvision dataset of
    PIL images, `DataLoader` worker processes running `RandomCrop(32, padding=4)`,
    `RandomHorizontalFlip`, `ToTensor`, `Normalize`, fp32, the same model, the same SGD,
    a mask multiply per layer after each step and a `loss.item()` per step;

and prints images per second of training, the epoch time for CIFAR-10's 50,000 training
images, the ratio (a)/(b), the achieved model FLOP/s (6 x dense forward MACs per image)
and its fraction of the device's datasheet peak, the cost of one global pruning step, and
the paper grid's projected GPU time. `--runs-per-gpu M` also runs M harness processes on
the device at once and reports their aggregate throughput.

No data set is read or downloaded: both pipelines train on the same in-memory stand-in
(random CIFAR-shaped uint8 images, 10 classes); speed does not depend on pixel values.
Only figures measured on a GPU say anything about the paper grid's cost; on a CPU the
script runs at small sizes so its correctness can be tested (tests/test_perf.py).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import queue
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

import baselines
from benchmark import environment
from benchmark.atomic import write_json_atomic
from benchmark.config import PRECISIONS, RunConfig, config_from_dict
from benchmark.data.dataset import Dataset, make_dataset
from benchmark.data.loader import DeviceLoader
from benchmark.devices import resolve_device
from benchmark.errors import UserError
from benchmark.grid.presets import expand, load_preset
from benchmark.models import ARCHS, build_model
from benchmark.run import ensure_writable
from benchmark.schedule import periodic_iterations, prune_iterations
from benchmark.sparsity import prunable_layers
from benchmark.train import (
    DEFAULT_DATA_DIR,
    TrainingRun,
    compile_backend,
    prepare,
    resolve_precision,
    setup_device,
)

SCHEMA = "fggp-bench/perf/1"
PAPER_PRESET = "paper"
PAPER_METHOD = ("fggp", 0.95)  # the method and target sparsity the harness is timed with
CIFAR_TRAIN_IMAGES = 50_000  # an epoch, for the epoch-time figures
CIFAR_TEST_IMAGES = 10_000  # evaluated after every epoch
NUM_CLASSES = 10
PRUNE_REPEATS = 3
EXIT_USER_ERROR = 2
# How long concurrent runs wait for each other at a barrier (compilation can be slow).
BARRIER_TIMEOUT_S = 1800.0

# Dense (no 2:4 sparsity) datasheet peaks in FLOP/s, by a substring of the CUDA device
# name; the first match wins, so the more specific names come first. NVIDIA data sheets
# for H100 (SXM5, PCIe, NVL), H200 (SXM, NVL) and A100. "tf32" is what fp32 convolutions
# run as on these GPUs with PyTorch's default `torch.backends.cudnn.allow_tf32 = True`.
PEAKS: tuple[tuple[str, str, dict[str, float]], ...] = (
    ("H200 NVL", "H200 NVL", {"bf16": 835e12, "tf32": 418e12, "fp32": 60e12}),
    ("H200", "H200 SXM", {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}),
    ("H100 NVL", "H100 NVL", {"bf16": 835e12, "tf32": 418e12, "fp32": 60e12}),
    ("H100 PCIe", "H100 PCIe", {"bf16": 756e12, "tf32": 378e12, "fp32": 51e12}),
    ("H100", "H100 SXM", {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}),
    ("A100", "A100", {"bf16": 312e12, "tf32": 156e12, "fp32": 19.5e12}),
)


# --- inputs ---------------------------------------------------------------------------
def stand_in_data(n_train: int, n_test: int, seed: int = 0) -> Dataset:
    """Random CIFAR-shaped images and labels: what both pipelines train on."""
    rng = np.random.default_rng(seed)
    return make_dataset(
        "perf-stand-in",
        rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_train),
        rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, NUM_CLASSES, n_test),
        NUM_CLASSES,
    )


def paper_config(arch: str, width: float, batch_size: int | None, precision: str) -> RunConfig:
    """The paper preset's configuration of `arch` (FGGP at 95%), at the asked size (batch
    None: the preset's).

    Its pruning plan keeps the number of steps the recipe gives a CIFAR-10 run, spread
    evenly over the run on the stand-in images, which may be fewer: an interval of 2000
    iterations would leave a short stand-in run without a single step to time.
    """
    preset = load_preset(PAPER_PRESET)
    method, sparsity = PAPER_METHOD
    fields = {
        **preset.base_for(arch),
        "arch": arch,
        "width": width,
        "precision": precision,
        "method": method,
        "target_sparsity": sparsity,
    }
    if batch_size is not None:
        fields["batch_size"] = batch_size
    config = config_from_dict(fields)
    return prepare(config.replace(prune_every=0, prune_steps=cifar_prune_steps(config)))


def cifar_prune_steps(config: RunConfig) -> int:
    """How many mask changes `config` makes on CIFAR-10's 50,000 training images: its
    pruning steps and, for a regrowing method (GraNet: every 1000 iterations), the
    updates of its own clock, each about the cost of a pruning step."""
    total = config.epochs * math.ceil(CIFAR_TRAIN_IMAGES / config.batch_size)
    steps = set(
        prune_iterations(
            total, config.prune_start, config.prune_end, config.prune_steps, config.prune_every
        )
    )
    method = baselines.build(config.method, config.method_kwargs)
    if baselines.regrows(method):
        clock = method.clock
        steps |= set(periodic_iterations(total, clock.start, clock.end, clock.every))
    return len(steps)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(loader: DeviceLoader) -> Iterator[tuple[Tensor, Tensor]]:
    epoch = 0
    while True:
        yield from loader.epoch(epoch)
        epoch += 1


def _forever(loader: torch.utils.data.DataLoader) -> Iterator[Any]:
    while True:
        yield from loader


def _barrier_wait(barrier: Any) -> None:
    if barrier is not None:
        barrier.wait()


# --- (a) the harness --------------------------------------------------------------------
def _throughput(images: int, seconds: float, steps: int) -> dict[str, Any]:
    """What both pipelines' timings report, computed the same way for the ratio to mean much."""
    return {
        "images": images,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "step_ms": 1000.0 * seconds / steps,
    }


def build_harness(
    config: RunConfig, data: Dataset, device: torch.device, compile: bool | str
) -> TrainingRun:
    setup_device(device)
    return TrainingRun(config, device, DEFAULT_DATA_DIR, data=data, compile=compile)


def time_harness_training(
    run: TrainingRun, steps: int, warmup: int, barrier: Any = None
) -> dict[str, Any]:
    """Images/s of `run.train_step` fed by the run's own loader, after `warmup` steps."""
    plan = run.pruner.plan
    first_prune = plan[0].iteration if plan else math.inf
    if run.iteration + warmup + steps > first_prune:
        raise UserError(
            f"{warmup} warm-up + {steps} timed steps would reach the first pruning step "
            f"(iteration {first_prune}); pruning is timed on its own: use fewer steps or "
            "more images"
        )
    batches = _batches(run.train_loader)
    run.model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=run.device)
    for _ in range(warmup):
        run.train_step(*next(batches))
    synchronize(run.device)
    _barrier_wait(barrier)
    images = 0
    wall_start, start = time.time(), time.perf_counter()
    for _ in range(steps):
        batch, labels = next(batches)
        loss_sum += run.train_step(batch, labels).double() * len(labels)
        images += len(labels)
    synchronize(run.device)
    seconds = time.perf_counter() - start
    wall_end = time.time()
    mean_loss = float(loss_sum) / images
    if not math.isfinite(mean_loss):
        raise RuntimeError(f"the harness's training loss became {mean_loss} while timing")
    return _throughput(images, seconds, steps) | {
        "mean_loss": mean_loss,
        "window": (wall_start, wall_end),
    }


def time_harness_eval(run: TrainingRun, barrier: Any = None) -> dict[str, Any]:
    """Images/s of one evaluation pass over the test images (after one warm-up pass)."""
    run.evaluate(run.test_loader)
    synchronize(run.device)
    _barrier_wait(barrier)
    wall_start, start = time.time(), time.perf_counter()
    run.evaluate(run.test_loader)  # reads its result back: synchronised at the end
    seconds = time.perf_counter() - start
    images = len(run.test_loader.images)
    return {
        "images": images,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "window": (wall_start, time.time()),
    }


def time_prune_step(run: TrainingRun, repeats: int = PRUNE_REPEATS) -> dict[str, Any]:
    """Cost of the harness's first planned pruning step (the schedule's largest), global over
    every prunable weight, with the gradient of the last timed batch; median of `repeats`.

    Each repeat starts from the same masks and the same point of the plan. Weights pruned
    by one repeat stay zero for the next; the selection's cost does not depend on that.
    """
    plan = run.pruner.plan
    if not plan:
        raise UserError("the configuration has no pruning step to time")
    engine, pruner = run.engine, run.pruner
    masks = [mask.clone() for mask in engine.masks]
    pruner_state = {"index": pruner.state_dict()["index"], "log": list(pruner.log)}
    iteration, macs = run.iteration, run.current_macs
    active = engine.active_count()
    times, pruned = [], 0
    try:
        for _ in range(repeats):
            run.iteration = plan[0].iteration - 1  # the step follows that iteration
            synchronize(run.device)
            start = time.perf_counter()
            changed = run.prune_if_planned()
            synchronize(run.device)
            times.append(time.perf_counter() - start)
            if not changed:
                raise RuntimeError("the planned pruning step removed no weights")
            pruned = active - engine.active_count()
            engine.masks = [mask.clone() for mask in masks]
            pruner.load_state_dict({**pruner_state, "log": list(pruner_state["log"])})
    finally:
        run.iteration, run.current_macs = iteration, macs
    return {
        "seconds": statistics.median(times),
        "repeats": repeats,
        "pruned": pruned,
        "prunable_weights": engine.n_prunable,
        "steps_per_run": len(plan),
    }


# --- (b) the reference-style pipeline ---------------------------------------------------
class ArrayCIFAR(torch.utils.data.Dataset):
    """What `torchvision.datasets.CIFAR10` is after reading its archive: uint8 NHWC images
    and a list of int labels, each image turned into a PIL image and transformed on access."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Any) -> None:
        self.data = images
        self.targets = [int(label) for label in labels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def reference_loader(
    data: Dataset, batch_size: int, workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    from torchvision import transforms

    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(data.mean, data.std),
        ]
    )
    return torch.utils.data.DataLoader(
        ArrayCIFAR(data.x_train, data.y_train, transform),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def time_reference_training(
    config: RunConfig, data: Dataset, device: torch.device, workers: int, steps: int, warmup: int
) -> dict[str, Any]:
    """Images/s of the reference-style loop: DataLoader + PIL transforms, fp32, NCHW."""
    torch.manual_seed(config.seed)
    model = build_model(config.arch, data.num_classes, config.width).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    # sparselearning keeps float masks and multiplies every masked weight after the step.
    layers = [
        param
        for _, param in prunable_layers(
            model,
            keep_first_dense=config.keep_first_dense,
            keep_first_last_dense=config.keep_first_last_dense,
        )
    ]
    masks = [torch.ones_like(param) for param in layers]
    loader = reference_loader(data, config.batch_size, workers, device)

    def step(images: Tensor, labels: Tensor) -> float:
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, label_smoothing=config.label_smoothing)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for param, mask in zip(layers, masks, strict=True):
                param.mul_(mask)
        return loss.item()  # the reference loops' running-loss bookkeeping

    model.train()
    stream = _forever(loader)
    for _ in range(warmup):
        step(*next(stream))
    synchronize(device)
    images = 0
    start = time.perf_counter()
    for _ in range(steps):
        batch, labels = next(stream)
        step(batch, labels)
        images += len(labels)
    synchronize(device)
    seconds = time.perf_counter() - start
    del stream, loader  # stops the worker processes
    return _throughput(images, seconds, steps) | {"workers": workers}


# --- several runs on one device ----------------------------------------------------------
def _concurrent_child(
    index: int, barrier: Any, results: Any, spec: dict[str, Any], threads: int
) -> None:
    """One of M concurrent harness runs: warm up, then time training and evaluation in
    step with the others (the barrier lines up the timed windows)."""
    try:
        torch.set_num_threads(threads)
        device = torch.device(spec["device"])
        run = build_harness(
            config_from_dict(spec["config"]),
            stand_in_data(spec["images"], spec["eval_images"]),
            device,
            spec["compile"],
        )
        train = time_harness_training(run, spec["steps"], spec["warmup"], barrier)
        evaluation = time_harness_eval(run, barrier)
        results.put((index, {"train": train, "eval": evaluation}, None))
    except BaseException as error:  # report it, and release the others from the barrier
        barrier.abort()
        results.put((index, None, f"{type(error).__name__}: {error}".splitlines()[0]))


def time_concurrent(
    runs: int,
    config: RunConfig,
    device: torch.device,
    compile: bool | str,
    steps: int,
    warmup: int,
    images: int,
    eval_images: int,
) -> dict[str, Any]:
    """Aggregate images/s of `runs` harness processes sharing `device`: all images over the
    span from the first timed window's start to the last one's end."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(runs, timeout=BARRIER_TIMEOUT_S)
    results = context.Queue()
    threads = max(1, (os.cpu_count() or 1) // runs) if device.type == "cpu" else 1
    spec = {
        "config": config.to_dict(),
        "device": str(device),
        "compile": compile,
        "steps": steps,
        "warmup": warmup,
        "images": images,
        "eval_images": eval_images,
    }
    processes = [
        context.Process(target=_concurrent_child, args=(i, barrier, results, spec, threads))
        for i in range(runs)
    ]
    for process in processes:
        process.start()
    outcomes: dict[int, dict[str, Any]] = {}
    errors: list[str] = []
    try:
        while len(outcomes) + len(errors) < runs:
            try:
                index, outcome, error = results.get(timeout=5.0)
            except queue.Empty:
                if not any(p.is_alive() for p in processes):
                    errors.append("a concurrent run exited without reporting")
                    break
                continue
            if error is not None:
                errors.append(f"run {index}: {error}")
            else:
                outcomes[index] = outcome
    finally:
        for process in processes:
            process.join(timeout=60.0)
            if process.is_alive():
                process.terminate()
    if errors:
        raise RuntimeError("concurrent runs failed: " + "; ".join(errors))
    return {
        "runs": runs,
        "train": _aggregate([o["train"] for o in outcomes.values()]),
        "eval": _aggregate([o["eval"] for o in outcomes.values()]),
    }


def _aggregate(parts: list[dict[str, Any]]) -> dict[str, Any]:
    span = max(p["window"][1] for p in parts) - min(p["window"][0] for p in parts)
    images = sum(p["images"] for p in parts)
    return {
        "images": images,
        "seconds": span,
        "images_per_s": images / span,
        "per_run_images_per_s": [p["images_per_s"] for p in parts],
    }


# --- figures ------------------------------------------------------------------------------
def device_peak(device: torch.device, precision: str) -> tuple[str | None, float | None]:
    """(name, FLOP/s) of the datasheet peak for `precision` on `device`, if known."""
    if device.type != "cuda":
        return None, None
    name = torch.cuda.get_device_name(device)
    kind = precision
    if precision == "fp32" and torch.backends.cudnn.allow_tf32:
        kind = "tf32"
    for pattern, label, peaks in PEAKS:
        if pattern in name:
            return f"{label} dense {kind}", peaks[kind]
    return None, None


def throughput_figures(
    images_per_s: float, dense_macs: int, peak: tuple[str | None, float | None]
) -> dict[str, Any]:
    flops = 6.0 * dense_macs * images_per_s  # (forward + 2 backward) x 2 FLOPs per MAC
    return {
        "images_per_s": images_per_s,
        "epoch_seconds": CIFAR_TRAIN_IMAGES / images_per_s,
        "model_flops_per_s": flops,
        "peak_name": peak[0],
        "peak_flops_per_s": peak[1],
        "fraction_of_peak": flops / peak[1] if peak[1] else None,
    }


def grid_projection(per_arch: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """GPU time of the paper grid at the measured speeds: for each run, its epochs x (one
    training epoch + one test evaluation) + its pruning steps x the pruning-step cost.

    With several runs per GPU, training and evaluation take the aggregate throughput and
    pruning steps are counted one after another (not overlapped): an upper bound.
    """
    configs = expand(load_preset(PAPER_PRESET))
    arch_rows: dict[str, dict[str, Any]] = {}
    for config in configs:
        row = arch_rows.setdefault(config.arch, {"runs": 0, "run_epochs": 0, "pruning_steps": 0})
        row["runs"] += 1
        row["run_epochs"] += config.epochs
        if baselines.prunes(baselines.build(config.method, config.method_kwargs)):
            row["pruning_steps"] += cifar_prune_steps(config)
    total = 0.0
    missing = []
    for arch, row in arch_rows.items():
        figures = per_arch.get(arch)
        if figures is None:
            missing.append(arch)
            row.update(seconds=None, paper_settings=None)
            continue
        concurrent = figures.get("concurrent")
        train_ips = (concurrent or figures)["train_images_per_s"]
        eval_ips = (concurrent or figures)["eval_images_per_s"]
        epoch = CIFAR_TRAIN_IMAGES / train_ips + CIFAR_TEST_IMAGES / eval_ips
        seconds = row["run_epochs"] * epoch + row["pruning_steps"] * figures["prune_seconds"]
        row.update(
            seconds=seconds,
            epoch_with_eval_seconds=epoch,
            runs_per_gpu=concurrent["runs"] if concurrent else 1,
            paper_settings=figures["paper_settings"],
        )
        total += seconds
    complete = not missing
    return {
        "preset": PAPER_PRESET,
        "runs": len(configs),
        "per_arch": arch_rows,
        "missing_archs": sorted(missing),
        "seconds": total if complete else None,
        "device_hours": total / 3600.0 if complete else None,
        "paper_settings": complete and all(r["paper_settings"] for r in arch_rows.values()),
    }


# --- the command --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.perf",
        description="Training throughput of the harness vs a reference-style pipeline, "
        "the pruning-step cost and the paper grid's projected GPU time.",
    )
    parser.add_argument("--arch", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier (paper: 1)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="training batch (default: the paper recipe's)"
    )
    parser.add_argument("--steps", type=int, default=50, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="the harness's precision"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the harness model")
    parser.add_argument(
        "--runs-per-gpu", type=int, default=1, help="also time M concurrent harness runs"
    )
    parser.add_argument(
        "--ref-workers",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help="DataLoader workers of the reference pipeline (sparselearning's default: 8)",
    )
    parser.add_argument(
        "--images", type=int, default=CIFAR_TRAIN_IMAGES, help="stand-in training images"
    )
    parser.add_argument(
        "--eval-images", type=int, default=CIFAR_TEST_IMAGES, help="stand-in test images"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser


def _check(args: argparse.Namespace) -> None:
    checks = [
        (args.width > 0 and math.isfinite(args.width), "--width must be a positive number"),
        (args.batch_size is None or args.batch_size >= 1, "--batch-size must be at least 1"),
        (args.steps >= 1, "--steps must be at least 1"),
        (args.warmup >= 0, "--warmup must be non-negative"),
        (args.runs_per_gpu >= 1, "--runs-per-gpu must be at least 1"),
        (args.ref_workers >= 0, "--ref-workers must be non-negative"),
        (args.images >= 1 and args.eval_images >= 1, "--images and --eval-images must be >= 1"),
        (args.threads is None or args.threads >= 1, "--threads must be at least 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)


def measure(args: argparse.Namespace, device: torch.device, command: list[str]) -> dict[str, Any]:
    compile = compile_backend(args.compile)
    data = stand_in_data(args.images, args.eval_images)
    paper_settings = (args.width, args.batch_size, args.precision) == (1.0, None, "auto")
    archs: dict[str, Any] = {}
    for arch in args.arch:
        config = paper_config(arch, args.width, args.batch_size, args.precision)
        precision = resolve_precision(config.precision, device)
        print(f"[{arch}] harness ({precision}{', compiled' if compile else ''}) ...", flush=True)
        run = build_harness(config, data, device, compile)
        train = time_harness_training(run, args.steps, args.warmup)
        evaluation = time_harness_eval(run)
        prune = time_prune_step(run)
        dense_macs = run.dense_macs
        del run
        if device.type == "cuda":
            torch.cuda.empty_cache()
        print(f"[{arch}] reference ({args.ref_workers} DataLoader workers, fp32) ...", flush=True)
        reference = time_reference_training(
            config, data, device, args.ref_workers, args.steps, args.warmup
        )
        peak = device_peak(device, precision)
        harness = throughput_figures(train["images_per_s"], dense_macs, peak)
        harness.update(
            step_ms=train["step_ms"],
            eval_images_per_s=evaluation["images_per_s"],
            eval_seconds=CIFAR_TEST_IMAGES / evaluation["images_per_s"],
        )
        harness["epoch_with_eval_seconds"] = harness["epoch_seconds"] + harness["eval_seconds"]
        ref = throughput_figures(reference["images_per_s"], dense_macs, device_peak(device, "fp32"))
        ref.update(step_ms=reference["step_ms"], workers=reference["workers"])
        run_seconds = config.epochs * harness["epoch_with_eval_seconds"]
        row: dict[str, Any] = {
            "precision": precision,
            "dense_forward_macs": dense_macs,
            "harness": harness,
            "reference": ref,
            "ratio": harness["images_per_s"] / ref["images_per_s"],
            "prune_step": {
                **prune,
                "fraction_of_epoch": prune["seconds"] / harness["epoch_with_eval_seconds"],
                "fraction_of_run": prune["steps_per_run"] * prune["seconds"] / run_seconds,
            },
            "concurrent": None,
        }
        if args.runs_per_gpu > 1:
            print(f"[{arch}] {args.runs_per_gpu} concurrent harness runs ...", flush=True)
            shared = time_concurrent(
                args.runs_per_gpu,
                config,
                device,
                compile or False,
                args.steps,
                args.warmup,
                args.images,
                args.eval_images,
            )
            aggregate = shared["train"]["images_per_s"]
            row["concurrent"] = {
                "runs": shared["runs"],
                "train_images_per_s": aggregate,
                "per_run_images_per_s": shared["train"]["per_run_images_per_s"],
                "eval_images_per_s": shared["eval"]["images_per_s"],
                "speedup_over_one_run": aggregate / harness["images_per_s"],
                "model_flops_per_s": 6.0 * dense_macs * aggregate,
            }
        archs[arch] = row
    projection_input = {
        arch: {
            "train_images_per_s": row["harness"]["images_per_s"],
            "eval_images_per_s": row["harness"]["eval_images_per_s"],
            "prune_seconds": row["prune_step"]["seconds"],
            "paper_settings": paper_settings,
            "concurrent": row["concurrent"],
        }
        for arch, row in archs.items()
    }
    return {
        "schema": SCHEMA,
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device_type": device.type,
        "settings": {
            "width": args.width,
            "batch_size": config.batch_size,  # the same for every arch: the recipe's or asked
            "steps": args.steps,
            "warmup": args.warmup,
            "precision": args.precision,
            "compile": compile,
            "runs_per_gpu": args.runs_per_gpu,
            "ref_workers": args.ref_workers,
            "images": args.images,
            "eval_images": args.eval_images,
            "paper_settings": paper_settings,
        },
        "env": environment.describe(device),
        "archs": archs,
        "grid": grid_projection(projection_input),
    }


def report(figures: dict[str, Any]) -> str:
    env = figures["env"]
    lines = [
        f"device {env['device']} ({figures['device_type']}), torch {env['torch']}, "
        f"{env['threads']} CPU threads, {figures['date']}",
    ]
    if figures["device_type"] != "cuda":
        lines.append("not a GPU: these figures test the script, they say nothing about GPU cost")
    for arch, row in figures["archs"].items():
        h, r, p = row["harness"], row["reference"], row["prune_step"]
        lines += [
            f"{arch} x{figures['settings']['width']}, batch {figures['settings']['batch_size']}, "
            f"{row['dense_forward_macs'] / 1e6:.1f}M forward MACs/image",
            f"  harness ({row['precision']}): {h['images_per_s']:10.1f} images/s  "
            f"epoch {h['epoch_seconds']:8.2f} s (+ eval {h['eval_seconds']:.2f} s)  "
            f"{_flops(h)}",
            f"  reference (fp32, {r['workers']} workers): {r['images_per_s']:10.1f} images/s  "
            f"epoch {r['epoch_seconds']:8.2f} s  {_flops(r)}",
            f"  ratio harness/reference: {row['ratio']:.2f}x",
            f"  pruning step ({p['pruned']:,} of {p['prunable_weights']:,} weights): "
            f"{1000 * p['seconds']:.1f} ms = {100 * p['fraction_of_epoch']:.2f}% of an epoch, "
            f"{100 * p['fraction_of_run']:.3f}% of a run ({p['steps_per_run']} steps)",
        ]
        if row["concurrent"]:
            c = row["concurrent"]
            lines.append(
                f"  {c['runs']} concurrent runs: {c['train_images_per_s']:.1f} images/s in all "
                f"({c['speedup_over_one_run']:.2f}x one run)"
            )
    grid = figures["grid"]
    if grid["device_hours"] is None:
        lines.append(
            f"paper grid ({grid['runs']} runs): not projected, measure "
            f"{', '.join(grid['missing_archs'])} too"
        )
    else:
        caveat = "" if grid["paper_settings"] else " (NOT the paper's width/batch/precision)"
        lines.append(
            f"paper grid ({grid['runs']} runs): {grid['device_hours']:.2f} device-hours "
            f"projected at these speeds{caveat}"
        )
    return "\n".join(lines)


def _flops(figures: dict[str, Any]) -> str:
    text = f"{figures['model_flops_per_s'] / 1e12:.3f} TFLOP/s"
    if figures["fraction_of_peak"] is None:
        return text + " (peak unknown)"
    return text + f" = {100 * figures['fraction_of_peak']:.1f}% of {figures['peak_name']}"


def _json_ready(value: Any) -> Any:
    """Tuples to lists and non-finite numbers to None: strict JSON."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check(args)
        device = resolve_device(args.device)
        if args.json is not None:
            ensure_writable(args.json.parent)
        if args.threads:
            torch.set_num_threads(args.threads)
        arguments = list(sys.argv[1:] if argv is None else argv)
        figures = measure(args, device, ["python", "-m", "benchmark.perf", *arguments])
        if args.json is not None:
            write_json_atomic(args.json, _json_ready(figures))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
