"""Slurm execution through submitit: one array task per run, the same store on shared disk.

Each task calls the same `run_once` as the local pool: it skips a run that another
process holds or has finished since the grid planned it, and a preempted or timed-out
task resumes from its checkpoint when it is requeued (submitit's Checkpointable resubmits
it with the same arguments) or when the grid is simply submitted again. `cluster="local"`
runs the identical code path through submitit's local executor, which is how it is
tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit

from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.grid.execute import Execution, Outcome, run_once
from benchmark.grid.store import RunStore
from benchmark.names import job_name, script_path, slurm_name


@dataclass(frozen=True)
class SlurmOptions:
    """What a Slurm grid asks for; each value is written into the batch script, so one
    that could carry a command there (a partition with a newline) is refused here."""

    partition: str | None = None
    time_min: int = 24 * 60
    gpus_per_task: int = 1
    cpus_per_task: int = 8
    parallelism: int = 64
    cluster: str | None = None  # None: detect Slurm; "local": submitit's local executor

    def __post_init__(self) -> None:
        if self.partition is not None:
            slurm_name(self.partition, "--slurm-partition")
        counts = {
            "--slurm-time": (self.time_min, 1),
            "--slurm-gpus": (self.gpus_per_task, 0),
            "--slurm-cpus": (self.cpus_per_task, 1),
            "--slurm-parallelism": (self.parallelism, 1),
        }
        for option, (value, least) in counts.items():
            if value < least:
                raise UserError(f"{option} must be at least {least}, got {value}")


class GridTask(submitit.helpers.Checkpointable):
    """A run as a requeueable task: on preemption submitit resubmits the same call."""

    def __call__(
        self,
        config_data: dict[str, Any],
        root: str,
        device: str,
        threads: int,
        execution: Execution,
        seen: str | None,
        data: Mapping[str, str],
    ) -> Outcome:
        return run_once(config_data, root, device, threads, execution, seen, data)


def check_slurm(cluster: str | None) -> None:
    """Refuse a Slurm grid where there is no Slurm, before anything is submitted.

    Without a named cluster submitit's AutoExecutor takes the best executor it finds, and
    where Slurm's `srun` is not on PATH that is its local one: the grid would run on this
    machine instead, on `cuda` whether or not it has a GPU, ignoring partition and time.
    """
    if cluster is None and submitit.AutoExecutor.which() != "slurm":
        raise UserError(
            "--executor slurm, but Slurm is not available here (no srun on PATH): submit "
            "from a Slurm login node, or run locally with --executor local"
        )


def check_script_folder(root: Path) -> Path:
    """The store's folder as submitit writes it into the batch script (absolute: the log
    paths of every task), refused where it could carry anything but a path there."""
    return script_path(Path(root).absolute(), "--out")


def run_slurm(
    configs: Sequence[RunConfig],
    store: RunStore,
    options: SlurmOptions,
    on_finish: Callable[[RunConfig, Outcome], None],
    execution: Execution,
) -> list[Outcome]:
    folder = check_script_folder(store.root)
    executor = submitit.AutoExecutor(folder=folder / "slurm" / "%j", cluster=options.cluster)
    parameters: dict[str, Any] = {
        "timeout_min": options.time_min,
        "gpus_per_node": options.gpus_per_task,
        "cpus_per_task": options.cpus_per_task,
        "tasks_per_node": 1,
        "slurm_array_parallelism": options.parallelism,
        "name": job_name(folder.name),
    }
    if options.partition is not None:
        parameters["slurm_partition"] = options.partition
    executor.update_parameters(**parameters)
    device = "cuda" if options.gpus_per_task > 0 else "cpu"
    n = len(configs)
    jobs = executor.map_array(
        GridTask(),
        [config.to_dict() for config in configs],
        [str(store.root)] * n,
        [device] * n,
        [options.cpus_per_task] * n,
        [execution] * n,
        [store.stamp(config.run_id()) for config in configs],
        [store.data] * n,
    )
    print(
        f"submitted {n} tasks (job {jobs[0].job_id.split('_')[0] if jobs else '-'}); "
        "waiting for them (Ctrl-C stops waiting, not the jobs)"
    )
    outcomes = []
    for config, job in zip(configs, jobs, strict=True):
        outcome = job.result()
        outcomes.append(outcome)
        on_finish(config, outcome)
    return outcomes
