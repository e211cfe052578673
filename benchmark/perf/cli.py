"""The command `python -m benchmark.perf`: its options, the measurements in order, the
printed figures and the JSON record (schema `fggp-bench/perf/1`).

It imports the job modules of `benchmark.perf`, none of which imports it; run it through
`python -m benchmark.perf` (`__main__`) or call `main` (tests/test_perf.py).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmark import environment
from benchmark.atomic import write_json_atomic
from benchmark.cli import ensure_writable
from benchmark.config import PRECISIONS, RunConfig
from benchmark.data.dataset import Dataset
from benchmark.devices import compile_backend, resolve_device, resolve_precision
from benchmark.errors import EXIT_USER_ERROR, UserError
from benchmark.models import ARCHS
from benchmark.perf.figures import (
    concurrent_figures,
    device_peak,
    harness_figures,
    prune_step_figures,
    reference_figures,
)
from benchmark.perf.harness import time_harness
from benchmark.perf.packing import time_concurrent
from benchmark.perf.projection import grid_projection
from benchmark.perf.reference import time_reference_training
from benchmark.perf.workload import (
    CIFAR_TEST_IMAGES,
    CIFAR_TRAIN_IMAGES,
    paper_config,
    stand_in_data,
)

SCHEMA = "fggp-bench/perf/1"


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
    """Every figure the command reports: one row per architecture, then the paper grid's
    projected time at those speeds."""
    compile = compile_backend(args.compile)
    data = stand_in_data(args.images, args.eval_images)
    paper_settings = (args.width, args.batch_size, args.precision) == (1.0, None, "auto")
    archs: dict[str, Any] = {}
    for arch in args.arch:
        config = paper_config(arch, args.width, args.batch_size, args.precision)
        archs[arch] = measure_arch(config, args, data, device, compile)
    return {
        "schema": SCHEMA,
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device_type": device.type,
        # the batch is the same for every arch: the recipe's or asked
        "settings": _settings(args, config.batch_size, compile, paper_settings),
        "env": environment.describe(device),
        "archs": archs,
        "grid": grid_projection(_projection_input(archs, paper_settings)),
    }


def measure_arch(
    config: RunConfig,
    args: argparse.Namespace,
    data: Dataset,
    device: torch.device,
    compile: str | None,
) -> dict[str, Any]:
    """One architecture's row: the harness, then the reference pipeline, then (with
    `--runs-per-gpu` M > 1) M concurrent harness runs, each timed alone on the device."""
    arch = config.arch
    precision = resolve_precision(config.precision, device)
    print(f"[{arch}] harness ({precision}{', compiled' if compile else ''}) ...", flush=True)
    timed = time_harness(config, data, device, compile or False, args.steps, args.warmup)
    print(f"[{arch}] reference ({args.ref_workers} DataLoader workers, fp32) ...", flush=True)
    reference = time_reference_training(
        config, data, device, args.ref_workers, args.steps, args.warmup
    )
    dense_macs = timed.dense_macs
    harness = harness_figures(timed.train, timed.eval, dense_macs, device_peak(device, precision))
    ref = reference_figures(reference, dense_macs, device_peak(device, "fp32"))
    row: dict[str, Any] = {
        "precision": precision,
        "dense_forward_macs": dense_macs,
        "harness": harness,
        "reference": ref,
        "ratio": harness["images_per_s"] / ref["images_per_s"],
        "prune_step": prune_step_figures(
            timed.prune, harness["epoch_with_eval_seconds"], config.epochs
        ),
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
        row["concurrent"] = concurrent_figures(shared, harness["images_per_s"], dense_macs)
    return row


def _settings(
    args: argparse.Namespace, batch_size: int, compile: str | None, paper_settings: bool
) -> dict[str, Any]:
    """What was measured with: the command's options, the batch they came to."""
    return {
        "width": args.width,
        "batch_size": batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "precision": args.precision,
        "compile": compile,
        "runs_per_gpu": args.runs_per_gpu,
        "ref_workers": args.ref_workers,
        "images": args.images,
        "eval_images": args.eval_images,
        "paper_settings": paper_settings,
    }


def _projection_input(archs: dict[str, Any], paper_settings: bool) -> dict[str, dict[str, Any]]:
    """The measured speeds `grid_projection` reads, per architecture."""
    return {
        arch: {
            "train_images_per_s": row["harness"]["images_per_s"],
            "eval_images_per_s": row["harness"]["eval_images_per_s"],
            "prune_seconds": row["prune_step"]["seconds"],
            "paper_settings": paper_settings,
            "concurrent": row["concurrent"],
        }
        for arch, row in archs.items()
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
    """The command: measure, print the figures (and write them with `--json`); 2 on bad input."""
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
