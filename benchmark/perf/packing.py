"""Several harness runs packed on one device: M processes started together, their timed
windows lined up by a barrier, and their aggregate throughput (what `run_all.py
--runs-per-gpu M` gains).

Imported by the command (`benchmark.perf.cli`); each child process imports it to run
`_concurrent_child`.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from typing import Any

import torch

from benchmark.config import RunConfig, config_from_dict
from benchmark.perf.harness import build_harness, time_harness_eval, time_harness_training
from benchmark.perf.workload import stand_in_data

# How long concurrent runs wait for each other at a barrier (compilation can be slow).
BARRIER_TIMEOUT_S = 1800.0


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
