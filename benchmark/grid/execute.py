"""Running a grid's runs: one worker function, and a local pool of worker processes.

`run_one` is the unit every executor calls: it trains one configuration with a
checkpoint in the store, writes its result (or its failure record) atomically, and
never lets one run's exception stop the others. Workers are separate processes so a
crash, an out-of-memory error or a `kill -9` costs at most the runs in flight, which
the next invocation resumes from their checkpoints.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchmark.config import RunConfig, config_from_dict
from benchmark.errors import UserError
from benchmark.grid.store import RunStore
from benchmark.train import train

CHECKPOINT_EVERY = 5  # epochs


@dataclass(frozen=True)
class Outcome:
    run_id: str
    status: str
    test_acc: float | None
    seconds: float
    error: str | None = None


def run_one(
    config_data: dict[str, Any], root: str, device: str, threads: int, compile: bool = False
) -> Outcome:
    """Train one run into the store at `root`; failures are recorded, not raised.
    `compile` runs the model through torch.compile (an execution option: same run id)."""
    config = config_from_dict(config_data)
    store = RunStore(Path(root))
    run_id = config.run_id()
    log_path = store.log_path(run_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    started = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            log_file.write(line + "\n")
            log_file.flush()

        log(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} run {run_id} on {device}, pid {os.getpid()}")
        try:
            result = train(
                config,
                device=device,
                log=log,
                checkpoint=store.checkpoint_path(run_id),
                checkpoint_every=CHECKPOINT_EVERY,
                compile=compile,
            )
        except Exception as error:  # isolate the run: record it, keep the grid going
            log(traceback.format_exc())
            message = f"{type(error).__name__}: {error}".splitlines()[0]
            store.write_failure(config, message)
            return Outcome(run_id, "failed", None, time.perf_counter() - started, message)
        store.write_result(result)
        log(f"--- finished: {result['status']}")
        return Outcome(
            run_id, result["status"], result["final"]["test_acc"], time.perf_counter() - started
        )


_worker_device = "cpu"


def _init_worker(devices: Any) -> None:
    """Each worker process takes one device slot (a GPU appears runs-per-gpu times)."""
    global _worker_device
    _worker_device = devices.get()


def _run_in_worker(
    config_data: dict[str, Any], root: str, threads: int, compile: bool = False
) -> Outcome:
    return run_one(config_data, root, _worker_device, threads, compile)


CPU_WORKERS_MAX = 8
"""Default CPU workers: one single-threaded run per core, since the small networks a CPU
trains scale worse across threads than across processes (about 800 MB each)."""


def device_slots(device: str, workers: int, runs_per_gpu: int) -> list[str]:
    """Where each worker runs: GPUs round-robin (each `runs_per_gpu` times), else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        if not gpus:
            raise UserError("--device cuda asked for, but no CUDA GPU is visible")
        return [gpus[i % len(gpus)] for i in range(workers or len(gpus) * runs_per_gpu)]
    if device != "cpu":
        raise UserError(f"unknown device {device!r} for a grid; use auto, cpu or cuda")
    return [device] * (workers or min(os.cpu_count() or 1, CPU_WORKERS_MAX))


def run_local(
    configs: Sequence[RunConfig],
    store: RunStore,
    slots: Sequence[str],
    on_finish: Callable[[RunConfig, Outcome], None],
    compile: bool = False,
) -> list[Outcome]:
    """Run `configs` on a pool with one worker process per device slot."""
    cpu_workers = sum(slot == "cpu" for slot in slots)
    threads = max(1, (os.cpu_count() or 1) // max(cpu_workers, 1))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for slot in slots:
        queue.put(slot)
    outcomes = []
    with ProcessPoolExecutor(
        max_workers=len(slots), mp_context=context, initializer=_init_worker, initargs=(queue,)
    ) as pool:
        futures = {
            pool.submit(_run_in_worker, config.to_dict(), str(store.root), threads, compile): config
            for config in configs
        }
        try:
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                on_finish(futures[future], outcome)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or a worker died: stop the runs in flight too.
            # Their results are not written (writes are atomic) and their last checkpoint
            # stays, so the next invocation resumes them. Python < 3.14 has no public
            # terminate_workers(), hence the private process table.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return outcomes
