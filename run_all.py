"""One command from preset to results: plan the grid, run what is missing, summarise.

    python3 tools/in_env.py python run_all.py                 # the smoke preset, synthetic data
    python run_all.py --preset paper --workers 4               # the paper's grid (CIFAR-10)
    python run_all.py --preset tiny --dry-run                  # what would run, and its cost

Results go to results/<preset>/ (one JSON per run, named by its configuration hash).
Re-running the same command skips finished runs and redoes missing or failed ones; an
interrupted run resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import signal
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from benchmark import regression, stats
from benchmark.cli import ensure_free_space, ensure_writable, space_needed
from benchmark.config import RunConfig, parse_assignment
from benchmark.data import fingerprint_of
from benchmark.environment import default_data_dir
from benchmark.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, EXIT_USER_ERROR, UserError
from benchmark.grid.console import Progress, print_means, print_plan
from benchmark.grid.execute import (
    Execution,
    device_slots,
    run_local,
)
from benchmark.grid.presets import (
    Preset,
    available_presets,
    expand,
    grid_command,
    load_preset,
)
from benchmark.grid.slurm import SlurmOptions, check_script_folder, check_slurm, run_slurm
from benchmark.grid.store import FAILED, RunStore, completed
from benchmark.interrupts import SIGNALS, deferred_interrupts, ignore_interrupts, stop_on_signals
from benchmark.names import out_folder
from benchmark.recipe import available_recipes, load_recipe
from reports import ReportFiles, Run, build_report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run a preset's grid of pruning runs (resumable) and summarise it.",
        epilog=f"built-in presets: {', '.join(available_presets())}",
    )
    parser.add_argument("--preset", default="smoke", help="preset name or path to a .toml file")
    parser.add_argument(
        "--recipe",
        help="train under this recipe instead of the preset's (name or .toml path; "
        f"built-in: {', '.join(available_recipes())})",
    )
    parser.add_argument("--dataset", help="override the preset's dataset (e.g. npz:PATH)")
    parser.add_argument("--seeds", type=int, help="number of seeds (default: the preset's)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override any run field for every run, e.g. --set epochs=20 (repeatable)",
    )
    parser.add_argument("--out", help="results folder (default results/<preset>)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes (default: one per GPU x runs-per-gpu; on the CPU one "
        "single-threaded worker per core, at most 8)",
    )
    parser.add_argument("--runs-per-gpu", type=int, default=1)
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile every run (GPUs; an execution option, not part of a run's id)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="end any run that takes longer, as that run's failure (default 0: no limit)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--executor", choices=("local", "slurm"), default="local")
    slurm = parser.add_argument_group("slurm (--executor slurm, through submitit)")
    slurm.add_argument("--slurm-partition", help="partition to submit to")
    slurm.add_argument("--slurm-time", type=int, default=24 * 60, help="minutes per task")
    slurm.add_argument("--slurm-gpus", type=int, default=1, help="GPUs per task (0: CPU)")
    slurm.add_argument("--slurm-cpus", type=int, default=8, help="CPUs per task")
    slurm.add_argument("--slurm-parallelism", type=int, default=64, help="array tasks at once")
    slurm.add_argument("--slurm-cluster", default=None, help=argparse.SUPPRESS)  # "local" in tests
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--force", action="store_true", help="redo every run")
    parser.add_argument("--retry-failed", action="store_true", help="redo only failed runs")
    parser.add_argument("--report-only", action="store_true", help="summarise existing results")
    parser.add_argument(
        "--seed-plan",
        action="store_true",
        help="print what the stored runs can detect and the seeds a 0.5-point difference needs",
    )
    gate = parser.add_mutually_exclusive_group()  # docs/regression.md
    gate.add_argument(
        "--check",
        type=Path,
        metavar="REFERENCE",
        help="regression check: redo every run, compare with this reference; exit 1 on regression",
    )
    gate.add_argument(
        "--update-reference",
        type=Path,
        metavar="REFERENCE",
        help="redo every run and rewrite this reference file from the measurement",
    )
    args = parser.parse_args(argv)
    args.report_only |= args.seed_plan
    args.force |= args.check is not None or args.update_reference is not None
    return args


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in args.set:
        try:
            key, value = parse_assignment(item)
        except ValueError:
            raise UserError(f"--set expects FIELD=VALUE, got {item!r}") from None
        overrides[key] = value
    if args.dataset:
        overrides["dataset"] = args.dataset
    return overrides


def plan(args: argparse.Namespace) -> tuple[Preset, list[RunConfig], RunStore]:
    preset = load_preset(args.preset)
    if args.recipe:
        preset = dataclasses.replace(preset, recipe=load_recipe(args.recipe))
    configs = expand(preset, seeds=args.seeds, overrides=overrides_from(args))
    root = Path("results") / preset.name if args.out is None else out_folder(args.out)
    return preset, configs, RunStore(root)


def data_now(configs: list[RunConfig], need: bool) -> dict[str, str]:
    """The fingerprint of every data set of the grid as it is now, by spec: a stored run
    that trained on other content under the same name is redone, not reused.

    Data a grid is about to train on must load now; a report of stored runs (`need`
    False) on data that is not here says it cannot check them, and uses them as stored.
    """
    found = {}
    for spec in sorted({c.dataset for c in configs}):
        try:
            found[spec] = fingerprint_of(spec, default_data_dir())
        except UserError as error:
            if need:
                raise
            print(
                f"warning: the stored runs on {spec} are not checked against it: {error}",
                file=sys.stderr,
            )
    return found


def select_todo(
    configs: list[RunConfig], statuses: dict[str, str], args: argparse.Namespace
) -> list[RunConfig]:
    if args.force:
        return list(configs)
    if args.retry_failed:
        return [c for c in configs if statuses[c.run_id()] in FAILED]
    return [c for c in configs if statuses[c.run_id()] != "completed"]


def execution_from(args: argparse.Namespace) -> Execution:
    return Execution(compile=args.compile, time_limit=60.0 * args.time_limit)


def slurm_options(args: argparse.Namespace) -> SlurmOptions:
    return SlurmOptions(
        partition=args.slurm_partition,
        time_min=args.slurm_time,
        gpus_per_task=args.slurm_gpus,
        cpus_per_task=args.slurm_cpus,
        parallelism=args.slurm_parallelism,
        cluster=args.slurm_cluster,
    )


def check_execution(args: argparse.Namespace, store: RunStore) -> None:
    """Refuse an executor that cannot run here before planning, not after the first run;
    for Slurm, first what would reach its batch script (the values are this call's)."""
    if args.report_only:  # --seed-plan implies it
        return
    execution_from(args)
    if args.executor == "slurm":
        slurm_options(args)
        check_script_folder(store.root)
        check_slurm(args.slurm_cluster)
    else:
        device_slots(args.device, args.workers, args.runs_per_gpu)


def space_for(todo: list[RunConfig], args: argparse.Namespace) -> int:
    """Disk the runs in flight need at once: the largest run's, once per worker."""
    sizes = {(c.arch, c.width): c for c in todo}
    largest = max(space_needed(c) for c in sizes.values())
    if args.executor == "slurm":
        at_once = len(todo)
    else:  # the workers the grid will start, its CPU default included
        at_once = len(device_slots(args.device, args.workers, args.runs_per_gpu))
    return largest * min(at_once, len(todo))


def execute(todo: list[RunConfig], store: RunStore, args: argparse.Namespace) -> int:
    """Run `todo`; how many runs failed or trained without their result being stored
    (a run can fail with no record to show for it: its lock could not be taken)."""
    if args.executor == "slurm":
        progress = Progress(len(todo))
        run_slurm(todo, store, slurm_options(args), progress, execution_from(args))
        return progress.failed
    slots = device_slots(args.device, args.workers, args.runs_per_gpu)
    print(f"running {len(todo)} runs on {len(slots)} worker(s): {', '.join(slots)}")
    progress = Progress(len(todo))
    run_local(todo, store, slots, progress, execution_from(args))
    return progress.failed


def analyse(
    preset: Preset,
    configs: list[RunConfig],
    records: dict[str, dict | None],
    store: RunStore,
    args: argparse.Namespace,
    stop_point: Callable[[], None],
) -> ReportFiles:
    """Rank statistics, tests and the claims check over every stored run, and the report."""
    stored = [record for record in records.values() if record is not None]
    summary = stats.analyse(stored, expected=[c.to_dict() for c in configs])
    stop_point()
    for claim in summary.claims:
        reading = claim.reading.status
        family = " (family-wise too)" if claim.family_wise else ""
        print(
            f"claim {claim.id}: {claim.verdict:<12} p = {claim.p:.3g}{family}"
            f" (on means: {reading}) {claim.text}"
        )
    for field, values in summary.version_mix().items():
        print(f"warning: the runs disagree on {field}: {', '.join(values)}", file=sys.stderr)
    runs = [
        Run(
            run_id=c.run_id(),
            config=c.to_dict(),
            status=store.status(c.run_id(), records[c.run_id()]),
            record=records[c.run_id()],
            log=str(store.log_path(c.run_id())),
        )
        for c in configs
    ]
    return build_report(
        store.root / "report",
        title=preset.name,
        description=preset.description,
        summary=summary,
        runs=runs,
        command=reproduce_command(args),
        stop_point=stop_point,
    )


def print_seed_plan(configs: list[RunConfig], records: dict[str, dict | None]) -> int:
    if not completed(records.values()):
        raise UserError("--seed-plan needs finished runs: this grid has none yet")
    stored = [record for record in records.values() if record is not None]
    print(stats.seed_plan(stats.analyse(stored, expected=[c.to_dict() for c in configs])))
    return 0


def reproduce_command(args: argparse.Namespace) -> str:
    """The command that rebuilds this grid and its report: what defines the grid, no more."""
    words = grid_command(args.preset, args.dataset, args.seeds, args.set, args.recipe)
    if args.out:
        words += ["--out", str(args.out)]
    return shlex.join(words)


def main(argv: list[str] | None = None, *, as_script: bool = False) -> int:
    """The grid command. Its signal handlers are this call's, restored on return for a
    caller that goes on (tests, `fggp-bench`); the script itself stays deaf to a late
    Ctrl-C until it has exited (`as_script`)."""
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    try:
        return _main(argv)
    finally:
        if not as_script:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    try:
        preset, configs, store = plan(args)
        check_execution(args, store)
        gate = regression.Gate.open(  # None without --check/--update-reference
            preset,
            configs,
            check=args.check,
            update=args.update_reference,
            report_only=args.report_only,
            grid_words=grid_command(args.preset, args.dataset, args.seeds, args.set, args.recipe),
        )
        if gate is not None and gate.selection_changed:  # the exact tier: nothing to train
            return EXIT_RUN_FAILED
        store = RunStore(store.root, data_now(configs, need=not (args.report_only or args.dry_run)))
        if not (args.dry_run or args.seed_plan):  # a report is written even with --report-only
            for folder in store.folders():
                ensure_writable(folder)
            store.refuse_links()
        records = store.read_all(configs)
        if not args.force:
            store.check_versions()
        statuses = {run_id: store.status(run_id, record) for run_id, record in records.items()}
        todo = [] if args.report_only else select_todo(configs, statuses, args)
        print_plan(configs, statuses, records, todo)
        not_done = 0
        if args.dry_run:
            return 0
        if args.seed_plan:
            return print_seed_plan(configs, records)
        if todo:
            ensure_free_space(store.root, space_for(todo, args))
            store.write_manifest(preset.name, configs, sys.argv)
            not_done = execute(todo, store, args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        ignore_interrupts()
        print(
            "interrupted: finished runs are kept and running ones resume from their "
            "checkpoints; run the same command again",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except BrokenProcessPool:
        print(
            "error: a worker process died; finished runs are kept, run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return EXIT_RUN_FAILED
    try:
        with deferred_interrupts() as pending:  # see benchmark/interrupts.py
            records = store.read_all(configs)  # once more: the runs just finished wrote theirs
            print_means(configs, records, store)
            report = analyse(preset, configs, records, store, args, pending.check)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        ignore_interrupts()
        print(
            "interrupted while writing the report: every finished run is kept and the "
            "previous report, if any, is still whole; --report-only rebuilds it",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    ignore_interrupts()  # the report is whole: what is left is printing and exiting
    print(f"\nresults: {store.root}/runs/\nstatistics: {report.summary}\nreport: {report.html}")
    failed = not_done or any(r is not None and r["status"] in FAILED for r in records.values())
    if gate is not None:
        return gate.close(records)
    return EXIT_RUN_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main(as_script=True))
