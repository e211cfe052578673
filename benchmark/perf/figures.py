"""The benchmark's derived figures: achieved FLOP/s against the device's datasheet peak,
epoch times at CIFAR-10's size, and each row's harness, reference, pruning-step and
concurrent-run figures from the timings.

Imported by the command (`benchmark.perf.cli`); imports only the workload's sizes.
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.perf.workload import CIFAR_TEST_IMAGES, CIFAR_TRAIN_IMAGES

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


def harness_figures(
    train: dict[str, Any],
    evaluation: dict[str, Any],
    dense_macs: int,
    peak: tuple[str | None, float | None],
) -> dict[str, Any]:
    """The harness's row: its training and evaluation speeds, and an epoch with its test pass."""
    harness = throughput_figures(train["images_per_s"], dense_macs, peak)
    harness.update(
        step_ms=train["step_ms"],
        eval_images_per_s=evaluation["images_per_s"],
        eval_seconds=CIFAR_TEST_IMAGES / evaluation["images_per_s"],
    )
    harness["epoch_with_eval_seconds"] = harness["epoch_seconds"] + harness["eval_seconds"]
    return harness


def reference_figures(
    reference: dict[str, Any], dense_macs: int, peak: tuple[str | None, float | None]
) -> dict[str, Any]:
    """The reference pipeline's row: its training speed and how many workers fed it."""
    ref = throughput_figures(reference["images_per_s"], dense_macs, peak)
    ref.update(step_ms=reference["step_ms"], workers=reference["workers"])
    return ref


def prune_step_figures(
    prune: dict[str, Any], epoch_with_eval_seconds: float, epochs: int
) -> dict[str, Any]:
    """The pruning step's timing with its share of a harness epoch and of a whole run."""
    run_seconds = epochs * epoch_with_eval_seconds
    return {
        **prune,
        "fraction_of_epoch": prune["seconds"] / epoch_with_eval_seconds,
        "fraction_of_run": prune["steps_per_run"] * prune["seconds"] / run_seconds,
    }


def concurrent_figures(
    shared: dict[str, Any], one_run_images_per_s: float, dense_macs: int
) -> dict[str, Any]:
    """M concurrent runs' aggregate speed and what it gains over one run alone."""
    aggregate = shared["train"]["images_per_s"]
    return {
        "runs": shared["runs"],
        "train_images_per_s": aggregate,
        "per_run_images_per_s": shared["train"]["per_run_images_per_s"],
        "eval_images_per_s": shared["eval"]["images_per_s"],
        "speedup_over_one_run": aggregate / one_run_images_per_s,
        "model_flops_per_s": 6.0 * dense_macs * aggregate,
    }
