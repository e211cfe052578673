"""Issue 12's attack list, re-run from the outside against the real command lines.

Issue 12 collected the ways a hostile or careless user broke the benchmark's two command
lines, `python -m benchmark.run` and `python run_all.py`: flags and presets that were
taken for something else, forged or damaged result files, data files that hang or
exhaust the machine, user methods that misbehave, signals, two grids on one folder. The
fixes came with unit tests (tests/test_hostile_input.py, test_store.py,
test_write_failures.py, test_external_methods.py), but the issue's 284 attempts were not
kept, so this script is a transcription of the issue's cases (and a few more a careless
user would try). Each attack runs the real CLI in a subprocess, in a fresh temporary
folder, under a timeout, and checks what the user sees: by default that bad input is
refused with exit code 2 and exactly one stderr line starting with `error: `, with no
traceback and no hang. The attacks named "10 review: ..." are the causes a later
hostile-input review found: names that reach the Slurm batch script, links planted in a
shared store or in $TMPDIR, stores outside results/, labels that reach the report's files.

    .venv/bin/python tools/attack.py                  # every attack, two at a time
    .venv/bin/python tools/attack.py --only "10 review"  # the review's attacks (about 3 min)
    .venv/bin/python tools/attack.py --only npz       # the attacks whose name has "npz"
    .venv/bin/python tools/attack.py --jobs 1 --keep  # one at a time; keep their folders
    .venv/bin/python tools/attack.py --list           # the attacks' names

It prints one line per attack, HELD or FAILED with its name and the reason (SKIPPED for
an attack that means nothing here, e.g. a read-only folder against root, who writes
anyway), then `attempts N, held H, failed F, skipped S`, and exits 0 when none failed.
A benchmark-style script, run by hand (a few minutes), not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

TINY = [
    *("--dataset", "synthetic", "--width", "0.0625", "--epochs", "1"),
    *("--train-limit", "256", "--test-limit", "128"),
]
"""The smallest real run for `python -m benchmark.run` (a few seconds on a CPU)."""

GRID_ONE_SEED = ["--preset", "tiny", "--seeds", "1", "--device", "cpu"]
"""The tiny preset at one seed: 9 runs (4 methods x 2 initial densities, and dense)."""

BASE_GRID = [*GRID_ONE_SEED, "--set", "init_density=1.0", "--workers", "1"]
"""The finished grid that the record attacks damage: 5 runs, built once per invocation."""

COMMAND_TIMEOUT = 60.0  # seconds; any bad input is refused long before
MEMORY_CAP_GIB = 8  # virtual memory of a command that may read an endless file


# ---------------------------------------------------------------- outcomes


class Broken(Exception):
    """An expectation that did not hold; the message says how (the attack FAILED)."""


class Skipped(Exception):
    """An attack that cannot mean anything on this machine; the message says why."""


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise Broken(reason)


@dataclass(frozen=True)
class Proc:
    """A finished (or killed) command and what it printed."""

    argv: list[str]
    returncode: int | None  # None: killed at its timeout
    stdout: str
    stderr: str
    seconds: float
    timeout: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()

    def error_line(self) -> str:
        lines = self.stderr_lines()
        return short(lines[-1] if lines else f"(no stderr; exit {self.returncode})")


def short(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sane(proc: Proc) -> None:
    """What no attack may ever see: a hang or a traceback."""
    require(proc.returncode is not None, f"hung: still running after {proc.timeout:.0f} s")
    if "Traceback" in proc.output:
        raise Broken(f"traceback: {short(_traceback_tail(proc.output))}")
    require("Exception ignored" not in proc.output, "an 'Exception ignored' report")


def _traceback_tail(text: str) -> str:
    """The exception line of the first traceback in `text` (`KeyboardInterrupt: ...`)."""
    lines = text[text.index("Traceback") :].splitlines()
    ends = [line for line in lines[1:] if re.match(r"[A-Za-z_][\w.]*(:|$)", line)]
    return ends[0] if ends else lines[-1]


# ---------------------------------------------------------------- running the CLIs


class Running:
    """A command started in its own session (so a timeout can end it and its workers)."""

    def __init__(self, ctx: Ctx, argv: list[str], umask: int = -1) -> None:
        self.argv = argv
        ctx.counter += 1
        stem = ctx.work / f".cmd{ctx.counter}"
        self.out_path, self.err_path = stem.with_suffix(".out"), stem.with_suffix(".err")
        self.started = time.monotonic()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                argv,
                cwd=ctx.work,
                env=ctx.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                umask=umask,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `predicate` (every 2 ms: a signal's moment matters) while the command runs;
        Broken if it exits or time runs out first."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.popen.poll() is not None:
                proc = self.wait(0)
                raise Broken(f"exited {proc.returncode} before {what}: {proc.error_line()}")
            if time.monotonic() > deadline:
                raise Broken(f"no {what} within {timeout:.0f} s")
            time.sleep(0.002)

    def send(self, signum: int, group: bool = False) -> None:
        if group:
            os.killpg(self.popen.pid, signum)
        else:
            self.popen.send_signal(signum)

    def wait(self, timeout: float) -> Proc:
        try:
            returncode: int | None = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        self.kill()
        return Proc(
            argv=self.argv,
            returncode=returncode,
            stdout=self.out_path.read_text(errors="replace"),
            stderr=self.err_path.read_text(errors="replace"),
            seconds=time.monotonic() - self.started,
            timeout=timeout,
        )

    def kill(self) -> None:
        """End whatever is left of this command: its process group while its leader is
        unreaped (so the group id is still this command's), then any process left in
        its session (workers that outlived it), each by its pid."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        for pid in session_members(self.popen.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def session_members(session: int) -> list[int]:
    """The live processes of the session `session` (what start_new_session gave a command)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


@dataclass
class Ctx:
    """One attack's fresh folder (the cwd of its commands) and the repository under attack."""

    root: Path
    work: Path
    base: BaseGrid
    counter: int = 0
    running: list[Running] = field(default_factory=list)
    new_results: list[Path] = field(default_factory=list)
    """Result files the attack's command wrote (a refused command must write none)."""

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"  # progress lines reach the output files as they happen
        env["TMPDIR"] = str(self.work / "tmp")  # the store's fallback for unsaved results
        return env

    def single(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "benchmark.run", *args]

    def grid(self, *args: str) -> list[str]:
        return [sys.executable, str(self.root / "run_all.py"), *args]

    def start(self, argv: list[str], umask: int = -1) -> Running:
        running = Running(self, argv, umask)
        self.running.append(running)
        return running

    def run(self, argv: list[str], timeout: float = COMMAND_TIMEOUT, umask: int = -1) -> Proc:
        return self.start(argv, umask).wait(timeout)

    def path(self, relative: str) -> Path:
        return self.work / relative

    def results(self) -> list[Path]:
        """Every result file under this attack's folder (`out/`, any store's `runs/`)."""
        return sorted({*self.work.glob("out/*.json"), *self.work.glob("**/runs/*.json")})


def memory_capped(argv: list[str], gib: int = MEMORY_CAP_GIB) -> list[str]:
    """`argv` under `ulimit -v`: a command that reads /dev/zero into memory must not take
    the machine's memory (other work shares it) before it fails."""
    return ["bash", "-c", f'ulimit -v {gib * 2**20} && exec "$@"', "bash", *argv]


class BaseGrid:
    """A finished tiny grid (BASE_GRID), trained once and copied into each attack using it."""

    def __init__(self, root: Path, scratch: Path) -> None:
        self.root, self.folder = root, scratch / "base-grid"
        self.lock = threading.Lock()
        self.problem: str | None = None
        self.built = False

    def ensure(self, ctx: Ctx) -> None:
        """Train it (through `ctx`) unless that is done or being done elsewhere."""
        with self.lock:
            if not self.built:
                self._build(ctx)
            self.built = True

    def copy_to(self, ctx: Ctx, name: str = "g") -> Store:
        self.ensure(ctx)
        if self.problem is not None:
            raise Broken(f"the base grid could not be built: {self.problem}")
        shutil.copytree(self.folder, ctx.path(name), symlinks=True)
        return Store(ctx.path(name))

    def _build(self, ctx: Ctx) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        proc = ctx.run(ctx.grid(*BASE_GRID, "--out", str(self.folder)), timeout=300)
        if proc.returncode != 0:
            self.problem = f"exit {proc.returncode}: {proc.error_line()}"


class Store:
    """A results folder, read from outside, the way a user would look at it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def run_ids(self) -> list[str]:
        manifest = json.loads((self.folder / "manifest.json").read_text())
        return [run["run_id"] for run in manifest["runs"]]

    def result(self, run_id: str) -> Path:
        return self.folder / "runs" / f"{run_id}.json"

    def record(self, run_id: str) -> dict[str, Any]:
        return json.loads(self.result(run_id).read_text())

    def log(self, run_id: str) -> str:
        path = self.folder / "logs" / f"{run_id}.log"
        return path.read_text() if path.exists() else ""

    def summary(self) -> dict[str, Any]:
        return json.loads((self.folder / "report" / "summary.json").read_text())

    def csv_status(self, run_id: str) -> str | None:
        lines = (self.folder / "report" / "results.csv").read_text().splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            cells = dict(zip(header, line.split(","), strict=False))
            if cells["run_id"] == run_id:
                return cells["status"]
        return None

    def every_run_completed_once(self) -> str:
        """Every planned run has its own completed record, and its log one training start."""
        ids = self.run_ids()
        for run_id in ids:
            require(self.result(run_id).exists(), f"runs/ lacks {run_id}")
            record = self.record(run_id)
            require(record["run_id"] == run_id, f"runs/{run_id}.json holds {record['run_id']}")
            require(record["status"] == "completed", f"{run_id} is {record['status']}")
            starts = len(re.findall(rf"^--- .* run {run_id} on ", self.log(run_id), re.M))
            require(starts == 1, f"run {run_id} was trained {starts} times (its log)")
        return f"all {len(ids)} runs stored, each trained exactly once"


# ---------------------------------------------------------------- the attack table

Setup = Callable[[Ctx], list[str]]
"""Prepares the attack's files in ctx.work and returns its command line."""
Expect = Callable[[Ctx, Proc], str]
"""Checks a finished command; returns why it held, raises Broken when it did not."""
Scenario = Callable[[Ctx], str]
"""An attack of several commands, files and signals; returns why it held, or raises."""


def as_root() -> str | None:
    return "running as root, whom file modes do not stop" if os.geteuid() == 0 else None


def with_gpu() -> str | None:
    return "a CUDA GPU is here (/dev/nvidia0)" if Path("/dev/nvidia0").exists() else None


@dataclass(frozen=True)
class Attack:
    """An attack: its command (`command`, checked by `expect`, by default `refused()`), or
    a `scenario` of several; SKIPPED when `skip_when` gives a reason."""

    name: str
    command: Setup | None = None
    expect: Expect | None = None
    scenario: Scenario | None = None
    timeout: float = COMMAND_TIMEOUT
    skip_when: Callable[[], str | None] | None = None

    @property
    def uses_base(self) -> bool:
        return self.scenario in ON_BASE_GRID

    def play(self, ctx: Ctx) -> str:
        skip = self.skip_when() if self.skip_when else None
        if skip is not None:
            raise Skipped(skip)
        if self.scenario is not None:
            return self.scenario(ctx)
        assert self.command is not None
        argv = self.command(ctx)
        before = ctx.results()
        proc = ctx.run(argv, self.timeout)
        ctx.new_results = [p for p in ctx.results() if p not in before]
        return (self.expect or refused())(ctx, proc)


ON_BASE_GRID: set[Scenario] = set()
"""The scenarios that copy the base grid: with any of them chosen, it is trained first."""


def on_base_grid(scenario: Scenario) -> Scenario:
    ON_BASE_GRID.add(scenario)
    return scenario


def single(*args: str) -> Setup:
    """`python -m benchmark.run` on the tiny run with `args` added, writing to out/."""
    return lambda ctx: ctx.single(*TINY, "--quiet", "--out", "out", *args)


def single_bare(*args: str) -> Setup:
    return lambda ctx: ctx.single(*args)


def grid(*args: str) -> Setup:
    """`run_all.py` with `args`, writing to g/ unless they say otherwise."""
    out = [] if "--out" in args else ["--out", "g"]
    return lambda ctx: ctx.grid(*args, *out)


def with_files(files: Callable[[Ctx], None], command: Setup) -> Setup:
    def setup(ctx: Ctx) -> list[str]:
        files(ctx)
        return command(ctx)

    return setup


# ---------------------------------------------------------------- expectations


def refused(*mentions: str, wrote_nothing: bool = True) -> Expect:
    """Exit 2, stderr exactly one `error: ` line mentioning each of `mentions`."""

    def expect(ctx: Ctx, proc: Proc) -> str:
        sane(proc)
        lines = proc.stderr_lines()
        require(proc.returncode == 2, f"exit {proc.returncode}, not 2: {proc.error_line()}")
        require(len(lines) == 1, f"{len(lines)} stderr lines, not 1: {short(proc.stderr)}")
        require(lines[0].startswith("error: "), f"not an error line: {short(lines[0])}")
        for mention in mentions:
            require(mention in lines[0], f"does not say {mention!r}: {short(lines[0])}")
        if wrote_nothing and ctx.new_results:
            raise Broken(f"refused, yet wrote {ctx.new_results[0].relative_to(ctx.work)}")
        return lines[0]

    return expect


def argparse_refused(*mentions: str) -> Expect:
    """Exit 2 with argparse's usage and its `prog: error: ...` line (a malformed flag)."""

    def expect(ctx: Ctx, proc: Proc) -> str:
        sane(proc)
        lines = proc.stderr_lines()
        require(proc.returncode == 2, f"exit {proc.returncode}, not 2: {proc.error_line()}")
        require(bool(lines) and ": error: " in lines[-1], f"no error line: {short(proc.stderr)}")
        for mention in mentions:
            require(mention in lines[-1], f"does not say {mention!r}: {short(lines[-1])}")
        return lines[-1][lines[-1].index("error: ") :]

    return expect


def single_result(ctx: Ctx, proc: Proc) -> dict[str, Any]:
    """The one result a successful `benchmark.run` wrote into out/."""
    sane(proc)
    require(proc.returncode == 0, f"exit {proc.returncode}: {proc.error_line()}")
    files = list(ctx.path("out").glob("*.json"))
    require(len(files) == 1, f"{len(files)} result files in out/, not 1")
    return json.loads(files[0].read_text())


# ---------------------------------------------------------------- 1: two grids, one folder


def two_grids(apart: float) -> Scenario:
    def scenario(ctx: Ctx) -> str:
        command = ctx.grid(*BASE_GRID, "--out", "g")
        first = ctx.start(command)
        time.sleep(apart)
        second = ctx.start(command)
        procs = [first.wait(240), second.wait(240)]
        for which, proc in zip(("first", "second"), procs, strict=True):
            try:
                sane(proc)
            except Broken as broken:
                raise Broken(f"{which} grid {broken}") from None
            require(proc.returncode == 0, f"{which} grid exit {proc.returncode}")
        overlapped = any("elsewhere" in proc.stdout for proc in procs)
        held = Store(ctx.path("g")).every_run_completed_once()
        skipped = sum(proc.stdout.count("elsewhere") for proc in procs)
        note = f"{skipped} runs skipped as held/done elsewhere" if overlapped else "NO OVERLAP"
        return f"both exit 0; {held}; {note}"

    return scenario


# ---------------------------------------------------------------- 2: records that do not check


def damaged_record(damage: Callable[[dict, dict], Any], says: str) -> Scenario:
    """Damage the base grid's second record (`damage(own, other)`, from the first one);
    --report-only must warn in one line, leave it out and count the run as missing."""

    def scenario(ctx: Ctx) -> str:
        store = ctx.base.copy_to(ctx)
        other, victim = store.run_ids()[:2]
        content = damage(store.record(victim), store.record(other))
        text = content if isinstance(content, str) else json.dumps(content)
        store.result(victim).write_text(text)
        proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g", "--report-only"))
        sane(proc)
        require(proc.returncode == 0, f"--report-only exit {proc.returncode}: {proc.error_line()}")
        lines = proc.stderr_lines()
        require(
            len(lines) == 1, f"{len(lines)} stderr lines, not one warning: {short(proc.stderr)}"
        )
        require(lines[0].startswith("warning: "), f"not a warning: {short(lines[0])}")
        require(f"{victim}.json" in lines[0], f"the warning names no file: {short(lines[0])}")
        require(says in lines[0], f"the warning does not say {says!r}: {short(lines[0])}")
        require("(4 completed, 1 missing)" in proc.stdout, "the plan does not count it missing")
        files = store.summary()["provenance"]["result_files"]
        require(files == 4, f"summary.json counts {files} result files, not 4")
        status = store.csv_status(victim)
        require(status == "missing", f"results.csv has it as {status!r}, not missing")
        require(store.result(victim).read_text() == text, "the damaged file was changed")
        return f"left out (summary 4 of 5, csv missing): {short(lines[0][9:], 80)}"

    return on_base_grid(scenario)


def _edited_run_id(own: dict, other: dict) -> dict:
    return {**other, "run_id": own["run_id"]}


def _set(path: str, value: Any) -> Callable[[dict, dict], dict]:
    """The record with the field at dotted `path` set to `value` (deleted if `...`)."""

    def damage(own: dict, other: dict) -> dict:
        record = json.loads(json.dumps(own))
        *parents, name = path.split(".")
        target = record
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[name]
        else:
            target[name] = value
        return record

    return damage


@on_base_grid
def foreign_version(ctx: Ctx) -> str:
    """A genuine record of another harness version stops the grid in one line."""
    store = ctx.base.copy_to(ctx)
    victim = store.run_ids()[1]
    store.result(victim).write_text(json.dumps({**store.record(victim), "harness_version": 0}))
    proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"))
    return refused("harness version 0", "--force")(ctx, proc)


@on_base_grid
def record_set_aside_on_redo(ctx: Ctx) -> str:
    """A record copied in under another run id is redone, and kept in rejected/."""
    store = ctx.base.copy_to(ctx)
    other, victim = store.run_ids()[:2]
    forged = json.dumps(_edited_run_id(store.record(victim), store.record(other)))
    store.result(victim).write_text(forged)
    proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"), timeout=120)
    sane(proc)
    require(proc.returncode == 0, f"exit {proc.returncode}: {proc.error_line()}")
    require("1 runs, 1 epochs" in proc.stdout, "the plan does not redo exactly the forged run")
    rejected = list((store.folder / "rejected").glob(f"{victim}.*.json"))
    require(len(rejected) == 1, f"{len(rejected)} files in rejected/, not 1")
    require(rejected[0].read_text() == forged, "rejected/ does not hold the forged file")
    record = store.record(victim)
    require(record["run_id"] == victim and record["status"] == "completed", "not redone")
    require(record["config"] != store.record(other)["config"], "the forged config survived")
    return "redone; the forged file moved to rejected/ unchanged"


# ---------------------------------------------------------------- 3: writes that cannot happen


def read_only(folder: str) -> Scenario:
    def scenario(ctx: Ctx) -> str:
        target = ctx.path(folder)
        target.mkdir(parents=True)
        target.chmod(0o555)
        try:
            before = ctx.results()
            proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"))
            ctx.new_results = [p for p in ctx.results() if p not in before]
            return refused("cannot write", target.name)(ctx, proc)
        finally:
            target.chmod(0o755)

    return scenario


@on_base_grid
def result_path_is_a_folder(ctx: Ctx) -> str:
    """runs/<id>.json is a folder: the grid says so and goes on; no traceback."""
    store = ctx.base.copy_to(ctx)
    victim = store.run_ids()[1]
    store.result(victim).unlink()
    store.result(victim).mkdir()
    (store.result(victim) / "something.txt").write_text("a user's file\n")
    proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"), timeout=120)
    sane(proc)
    require(proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.error_line()}")
    mentions = [line for line in proc.output.splitlines() if f"{victim}.json" in line]
    require(bool(mentions), "nothing names the folder in the way")
    others = [i for i in store.run_ids() if i != victim]
    require(all(store.record(i)["status"] == "completed" for i in others), "another run lost")
    if proc.returncode == 0:
        require(store.result(victim).is_file(), "exit 0, but the run has no result file")
        require(store.record(victim)["status"] == "completed", "exit 0, run not completed")
        moved = list((store.folder / "rejected").glob(f"{victim}.*"))
        require(len(moved) == 1 and (moved[0] / "something.txt").exists(), "the folder is lost")
        return f"exit 0: folder moved to rejected/ intact, run redone ({short(mentions[0], 70)})"
    return f"exit 1, reported: {short(mentions[-1], 90)}"


# ---------------------------------------------------------------- 4: file modes


def umask_grid(ctx: Ctx) -> str:
    ctx.path("short.toml").write_text(one_run_preset(epochs=1))
    grid = ctx.grid("--preset", "short.toml", "--device", "cpu", "--workers", "1", "--out", "g")
    proc = ctx.run(grid, timeout=120, umask=0o002)
    sane(proc)
    require(proc.returncode == 0, f"exit {proc.returncode}: {proc.error_line()}")
    files = [ctx.path("g/manifest.json"), *ctx.path("g/report").iterdir()]
    files += [f for folder in ("runs", "logs", "locks") for f in ctx.path(f"g/{folder}").iterdir()]
    modes = {f.relative_to(ctx.work): f.stat().st_mode & 0o777 for f in files}
    wrong = {str(f): oct(m) for f, m in modes.items() if m != 0o664}
    require(not wrong, f"not 0o664: {short(str(wrong))}")
    return f"all {len(modes)} result, log, lock, report and manifest files are 0o664"


def umask_single(ctx: Ctx) -> str:
    proc = ctx.run(ctx.single(*TINY, "--quiet", "--out", "out"), umask=0o002)
    single_result(ctx, proc)
    (path,) = ctx.path("out").glob("*.json")
    mode = path.stat().st_mode & 0o777
    require(mode == 0o664, f"the result is {oct(mode)}, not 0o664")
    return "the result file is 0o664"


# ---------------------------------------------------------------- 5, 6: kills and signals


def one_run_preset(epochs: int) -> str:
    """A preset of one tiny magnitude run (checkpointed every 5 epochs in a grid)."""
    return (
        f'description = "attack.py: one magnitude run of {epochs} tiny epochs"\n'
        "seeds = 1\ndense = false\n"
        '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\n'
        f"epochs = {epochs}\nbatch_size = 64\ntrain_limit = 256\ntest_limit = 128\n"
        'prune_steps = 3\ntarget_sparsity = 0.9\n[[method]]\nname = "magnitude"\n'
    )


def long_grid(ctx: Ctx) -> list[str]:
    """The grid of one 8-epoch run: a checkpoint after epoch 5, and 3 epochs to signal in."""
    ctx.path("long.toml").write_text(one_run_preset(epochs=8))
    return ctx.grid("--preset", "long.toml", "--device", "cpu", "--workers", "1", "--out", "g")


def epochs_logged(ctx: Ctx) -> int:
    logs = list(ctx.path("g/logs").glob("*.log"))
    done = [int(n) for log in logs for n in re.findall(r"^epoch\s+(\d+)/", log.read_text(), re.M)]
    return max(done, default=0)


def checkpointed(ctx: Ctx) -> bool:
    """Training is past a checkpoint (written after epoch 5), and the file is there."""
    return epochs_logged(ctx) >= 6 and any(ctx.path("g/checkpoints").glob("*.pt"))


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid` (by /proc/*/stat ppid), with its start time."""
    table: dict[int, tuple[int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[19])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def alive(pid: int, started: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[19] == started and fields[0] not in ("Z", "X")


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:60]
    except OSError:
        return f"pid {pid}"


def resumes(ctx: Ctx) -> str:
    """The same command again finishes the run from its checkpoint."""
    proc = ctx.run(long_grid(ctx), timeout=180)
    sane(proc)
    require(proc.returncode == 0, f"the rerun exit {proc.returncode}: {proc.error_line()}")
    (run_id,) = Store(ctx.path("g")).run_ids()
    log = Store(ctx.path("g")).log(run_id)
    found = re.findall(r"resumed from .* after epoch (\d+)", log)
    require(bool(found), "the rerun did not resume from the checkpoint (its log)")
    require(Store(ctx.path("g")).record(run_id)["status"] == "completed", "rerun not completed")
    return f"rerun resumed after epoch {found[-1]} and completed"


def sigkill_grid(ctx: Ctx) -> str:
    running = ctx.start(long_grid(ctx))
    running.wait_for(lambda: epochs_logged(ctx) >= 2, 120, "training in the worker")
    children = descendants(running.pid)
    require(bool(children), "the grid has no child processes to check")
    running.popen.send_signal(signal.SIGKILL)
    running.popen.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p, s) for p, s in children.items()):
        time.sleep(0.1)
    left = [command_of(pid) for pid, started in children.items() if alive(pid, started)]
    running.kill()  # tidy up this attack's own session, after the check
    require(not left, f"{len(left)} of {len(children)} children alive 5 s later: {left}")
    proc = ctx.run(long_grid(ctx), timeout=180)
    sane(proc)
    require(proc.returncode == 0, f"the rerun exit {proc.returncode}: {proc.error_line()}")
    (run_id,) = Store(ctx.path("g")).run_ids()
    require("taking over from" in Store(ctx.path("g")).log(run_id), "no takeover in the log")
    return f"all {len(children)} children gone within 5 s; the rerun took the run over"


def interrupt_training(signum: int, group: bool = False, rerun: bool = False) -> Scenario:
    """Signal a grid whose worker is past a checkpoint: exit 130 in one line, no worker
    left behind, and (`rerun`) the same command resumes the run from the checkpoint."""

    def scenario(ctx: Ctx) -> str:
        running = ctx.start(long_grid(ctx))
        if rerun:  # something to resume from
            running.wait_for(lambda: checkpointed(ctx), 120, "a checkpoint")
        else:
            running.wait_for(lambda: epochs_logged(ctx) >= 1, 120, "training in the worker")
        children = descendants(running.pid)
        running.send(signum, group)
        proc = running.wait(60)
        sane(proc)
        require(proc.returncode == 130, f"exit {proc.returncode}, not 130: {proc.error_line()}")
        lines = proc.stderr_lines()
        require(len(lines) == 1, f"{len(lines)} stderr lines, not 1: {short(proc.stderr)}")
        require(lines[0].startswith("interrupted"), f"not an interruption: {short(lines[0])}")
        left = [pid for pid, started in children.items() if alive(pid, started)]
        require(not left, f"{len(left)} worker processes outlived the grid")
        return f"exit 130, one line, no worker left; {resumes(ctx) if rerun else 'not rerun'}"

    return scenario


def interrupt_twice(ctx: Ctx) -> str:
    """Ctrl-C, and Ctrl-C again 30 ms later, as an impatient user does."""
    running = ctx.start(long_grid(ctx))
    running.wait_for(lambda: epochs_logged(ctx) >= 1, 120, "training in the worker")
    running.send(signal.SIGINT, group=True)
    time.sleep(0.03)
    running.send(signal.SIGINT, group=True)
    proc = running.wait(60)
    sane(proc)
    lines = proc.stderr_lines()
    require(proc.returncode in (130, -signal.SIGINT), f"exit {proc.returncode}")
    require(len(lines) == 1, f"{len(lines)} stderr lines, not 1: {short(proc.stderr)}")
    require(lines[0].startswith("interrupted"), f"not an interruption: {short(lines[0])}")
    return f"exit {proc.returncode}, one line"


def interrupt_report(
    signum: int, after: str, delays: Sequence[float], every: float = 0.0
) -> Scenario:
    """Signal --report-only `delays` seconds after the line starting with `after` (and,
    with `every`, again every `every` seconds until it exits: a key held down).

    After the plan line (`grid: `) the signal lands while the statistics and the report
    are computed and written; after the last line (`report: `) it lands while the
    interpreter shuts down. Either way: a clean exit 0, the one-line interruption (exit
    130), or death by the signal itself (no handler left that late), never a traceback,
    and the report on disk stays whole.
    """

    def scenario(ctx: Ctx) -> str:
        ctx.base.copy_to(ctx)
        seen = []
        for delay in delays:
            running = ctx.start(ctx.grid(*BASE_GRID, "--out", "g", "--report-only"))
            running.wait_for(lambda r=running: after in r.stdout(), 60, f"the {after!r} line")
            time.sleep(delay)
            late = after != "report: " and "report: " in running.stdout()
            running.send(signum)
            while every and running.popen.poll() is None:
                time.sleep(every)
                with contextlib.suppress(ProcessLookupError):
                    running.send(signum)
            proc = running.wait(60)
            if late:  # it landed in the shutdown: the "last line" attacks judge that
                seen.append(f"{delay:g}s:late")
                continue
            try:
                sane(proc)
            except Broken as broken:
                raise Broken(f"signal {delay:g} s after {after!r}: {broken}") from None
            lines = proc.stderr_lines()
            if proc.returncode == 0:
                require("report: " in proc.stdout and not lines, f"{delay:g} s: exit 0, unclean")
            elif proc.returncode == 130:
                require(len(lines) == 1, f"{delay:g} s: {len(lines)} stderr lines, not 1")
                require(lines[0].startswith("interrupted"), f"{delay:g} s: {short(lines[0])}")
            else:
                require(proc.returncode == -signum, f"{delay:g} s: exit {proc.returncode}")
                if lines:
                    raise Broken(f"{delay:g} s: killed by the signal, said {short(lines[0])}")
            json.loads(ctx.path("g/report/summary.json").read_text())  # still whole
            seen.append(f"{delay:g}s:{proc.returncode}")
        return f"exits {' '.join(seen)}; summary.json whole every time"

    return on_base_grid(scenario)


def interrupt_single(ctx: Ctx) -> str:
    running = ctx.start(ctx.single(*TINY, "--epochs", "40", "--out", "out"))
    running.wait_for(lambda: "epoch    2/" in running.stdout(), 120, "an epoch line")
    running.send(signal.SIGINT)
    proc = running.wait(60)
    sane(proc)
    require(proc.returncode == 130, f"exit {proc.returncode}, not 130: {proc.error_line()}")
    require(len(proc.stderr_lines()) == 1, f"stderr: {short(proc.stderr)}")
    require(not list(ctx.path("out").glob("*.json")), "a result was written")
    return f"exit 130: {short(proc.stderr)}"


# ---------------------------------------------------------------- 7: user methods

TAMPERS = """\
from baselines.criteria import smallest_k


class Tampers:
    \"\"\"Magnitude pruning that also wipes its inputs in place, hoping to reach the engine.\"\"\"

    def select(self, weight, grad, active, k, progress):
        selection = smallest_k(weight.abs(), active.clone(), k)
        active.fill_(False)
        weight.zero_()
        grad.fill_(float("nan"))
        return selection
"""

REVIVES = """\
import torch


class Revives:
    def select(self, weight, grad, active, k, progress):
        active.fill_(True)  # "everything is active", so the first k look valid
        return torch.arange(active.numel()) < k
"""

QUITS = """\
class Quits:
    def select(self, weight, grad, active, k, progress):
        raise SystemExit(0)
"""

DIES = """\
import os


class Dies:
    def select(self, weight, grad, active, k, progress):
        os._exit(0)
"""

STUCK = """\
class Stuck:
    def select(self, weight, grad, active, k, progress):
        while True:
            pass
"""

FACTORIES = """\
class Scaled:
    def __init__(self, scale=1.0):
        self.scale = scale

    def select(self, weight, grad, active, k, progress):
        raise AssertionError("never trained by these attacks")


def broken(level=1):
    raise RuntimeError("cannot build\\nand a second line")
"""


def method_file(name: str, body: str) -> Callable[[Ctx], None]:
    return lambda ctx: ctx.path(name).write_text(body)


def beside_magnitude(ctx: Ctx, spec: str) -> Path:
    """A one-seed tiny preset of the method `spec` and magnitude."""
    preset = ctx.path("beside.toml")
    preset.write_text(
        "seeds = 1\ndense = false\n"
        '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 1\n'
        "batch_size = 64\ntrain_limit = 256\ntest_limit = 128\nprune_steps = 3\n"
        "target_sparsity = 0.9\n"
        f'[[method]]\nname = "{spec}"\n[[method]]\nname = "magnitude"\n'
    )
    return preset


def grid_records(ctx: Ctx) -> dict[str, dict[str, Any]]:
    records = (json.loads(p.read_text()) for p in ctx.path("g/runs").glob("*.json"))
    return {r["config"]["method"].rsplit(":", 1)[-1]: r for r in records}


def method_tampers_in_place(ctx: Ctx) -> str:
    """Wiping `active`, `weight` and `grad` in place changes nothing: the run equals magnitude."""
    method_file("tampers.py", TAMPERS)(ctx)
    specs = {"tampers": f"{ctx.path('tampers.py')}:Tampers", "magnitude": "magnitude"}
    runs = {}
    for name, spec in specs.items():
        flags = ["--quiet", "--batch-size", "64", "--prune-steps", "3"]  # steps after the first
        flags += ["--target-sparsity", "0.9", "--method", spec, "--out", f"out-{name}"]
        proc = ctx.run(ctx.single(*TINY, *flags))
        sane(proc)
        require(proc.returncode == 0, f"{name}: exit {proc.returncode}: {proc.error_line()}")
        (path,) = ctx.path(f"out-{name}").glob("*.json")
        runs[name] = json.loads(path.read_text())
    mine, builtin = runs["tampers"], runs["magnitude"]
    final = mine["final"]
    require(final["sparsity"] == final["mask_sparsity"], "weights and masks disagree")
    require(abs(final["sparsity"] - 0.9) < 1e-3, f"sparsity {final['sparsity']}, not 0.9")
    same = [
        (m["train_loss"], m["test_acc"]) == (b["train_loss"], b["test_acc"])
        for m, b in zip(mine["history"], builtin["history"], strict=True)
    ]
    require(all(same), "the run differs from magnitude's: the tampering reached the engine")
    require(mine["layers"] == builtin["layers"], "its layer densities differ from magnitude's")
    return f"completed at sparsity {final['sparsity']:.4f}, identical to magnitude"


def beside_grid(ctx: Ctx, name: str, body: str, *extra: str) -> Proc:
    """The grid of the method `name` (its file `body`) and magnitude, on one worker."""
    method_file(f"{name.lower()}.py", body)(ctx)
    preset = beside_magnitude(ctx, f"{ctx.path(name.lower() + '.py')}:{name}")
    command = ctx.grid("--preset", str(preset), "--device", "cpu", "--workers", "1", *extra)
    return ctx.run([*command, "--out", "g"], timeout=120)


def method_quits(ctx: Ctx) -> str:
    proc = beside_grid(ctx, "Quits", QUITS)
    sane(proc)
    require(proc.returncode == 1, f"exit {proc.returncode}, not 1: {proc.error_line()}")
    records = grid_records(ctx)
    require(records.get("magnitude", {}).get("status") == "completed", "magnitude not completed")
    quits = records.get("Quits", {})
    require(quits.get("status") == "failed", f"the quitting run is {quits.get('status')}")
    require("SystemExit" in quits.get("error", ""), f"its error: {quits.get('error')}")
    return f"its run failed ({short(quits['error'], 60)}), magnitude completed, exit 1"


def method_dies(ctx: Ctx) -> str:
    proc = beside_grid(ctx, "Dies", DIES)
    sane(proc)
    require(proc.returncode == 1, f"exit {proc.returncode}, not 1: {proc.error_line()}")
    lines = proc.stderr_lines()
    require(len(lines) == 1 and lines[0].startswith("error: "), f"stderr: {short(proc.stderr)}")
    require("worker process died" in lines[0], f"stderr: {short(lines[0])}")
    return f"exit 1: {short(lines[0])}"


def method_stuck(ctx: Ctx) -> str:
    """Stopped by the limit as its run's failure; the worker goes on to the next run."""
    proc = beside_grid(ctx, "Stuck", STUCK, "--time-limit", "0.1")
    sane(proc)
    require(proc.seconds < 60, f"took {proc.seconds:.0f} s")
    require(proc.returncode == 1, f"exit {proc.returncode}, not 1: {proc.error_line()}")
    records = grid_records(ctx)
    stuck = records.get("Stuck", {})
    require(stuck.get("status") == "failed", f"the stuck run is {stuck.get('status')}")
    require("time limit" in stuck.get("error", ""), f"its error: {stuck.get('error')}")
    magnitude = records.get("magnitude", {})
    require("status" in magnitude, "the worker did not go on to the magnitude run")
    if magnitude["status"] != "completed":  # 6 s is tight for a worker's first training
        require("time limit" in magnitude.get("error", ""), f"magnitude: {magnitude.get('error')}")
    return (
        f"stopped, exit 1 in {proc.seconds:.0f} s: {short(stuck['error'], 60)}; "
        f"the next run (magnitude) {magnitude['status']}"
    )


def user_method(spec: str, *args: str) -> Setup:
    return with_files(
        method_file("mine.py", FACTORIES),
        lambda ctx: single("--method", f"{ctx.path('mine.py')}:{spec}", *args)(ctx),
    )


def preset_with_inf_param(ctx: Ctx) -> list[str]:
    method_file("mine.py", FACTORIES)(ctx)
    preset = ctx.path("inf.toml")
    preset.write_text(
        f'[[method]]\nname = "{ctx.path("mine.py")}:Scaled"\nparams = {{ scale = inf }}\n'
    )
    return ctx.grid("--preset", str(preset), "--out", "g")


def preset_with_broken_factory(ctx: Ctx) -> list[str]:
    method_file("mine.py", FACTORIES)(ctx)
    preset = beside_magnitude(ctx, f"{ctx.path('mine.py')}:broken")
    return ctx.grid("--preset", str(preset), "--device", "cpu", "--out", "g")


# ---------------------------------------------------------------- 8: presets


def preset_file(text: str | bytes) -> Setup:
    def setup(ctx: Ctx) -> list[str]:
        path = ctx.path("mine.toml")
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return ctx.grid("--preset", "mine.toml", "--device", "cpu", "--out", "g")

    return setup


# ---------------------------------------------------------------- 8: data files


def npz_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, size=(20, 32, 32, 3), dtype=np.uint8),
        "y_train": np.arange(20) % 10,
        "x_test": rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8),
        "y_test": np.arange(5),
    }


def npz(make: Callable[[Path], None]) -> Setup:
    """The tiny run on `--dataset npz:data.npz`, the file made by `make(path)`."""

    def setup(ctx: Ctx) -> list[str]:
        make(ctx.path("data.npz"))
        return single("--dataset", "npz:data.npz")(ctx)

    return setup


def npz_with(**changes: Any) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as handle:  # np.savez would append .npz to a str path
            np.savez(handle, **{**npz_arrays(), **changes}, allow_pickle=True)

    return make


def npz_one_label(label: int) -> Callable[[Path], None]:
    y_train = np.where(np.arange(20) == 3, label, np.arange(20) % 10).astype(np.int64)
    return npz_with(y_train=y_train)


def npz_huge_header(path: Path) -> None:
    """x_train.npy's header declares 10^12 images; the member holds 1000 bytes."""
    npz_with()(path)
    header = _npy_header({"descr": "|u1", "fortran_order": False, "shape": (10**12, 32, 32, 3)})
    with zipfile.ZipFile(path) as original:
        members = {name: original.read(name) for name in original.namelist()}
    members["x_train.npy"] = header + bytes(1000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as forged:
        for name, payload in members.items():
            forged.writestr(name, payload)


def _npy_header(header: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def npz_pickled(path: Path) -> None:
    objects = np.empty(20, dtype=object)
    objects[:] = [Payload(path.with_name("npz-unpickled")) for _ in range(20)]
    npz_with(y_train=objects)(path)


def npz_symlink_loop(path: Path) -> None:
    path.symlink_to(path)


def npz_fifo(path: Path) -> None:
    os.mkfifo(path)


def npz_single_array(path: Path) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((20, 32, 32, 3), np.uint8))


def npz_lacking_arrays(path: Path) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, x_train=np.zeros((20, 32, 32, 3), np.uint8))


def npz_garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + os.urandom(4000))


def npz_not_checked(marker: str) -> Expect:
    """Refused, and the pickled payload beside the file never ran."""
    inner = refused("object array")

    def expect(ctx: Ctx, proc: Proc) -> str:
        require(not ctx.path(marker).exists(), "the pickled payload RAN (marker created)")
        return inner(ctx, proc)

    return expect


class Payload:
    """Unpickled, it creates a folder: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.marker,))


def cifar_archive(make: Callable[[Path], None]) -> Setup:
    def setup(ctx: Ctx) -> list[str]:
        folder = ctx.path("data")
        folder.mkdir()
        make(folder / "cifar-10-python.tar.gz")
        return single("--dataset", "cifar10", "--data-dir", "data")(ctx)

    return setup


def sparse_file(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)

    return make


# ---------------------------------------------------------------- 2, 3, 8: files that never end

STORE_FILES = {
    "runs": "runs/{}.json",
    "logs": "logs/{}.log",
    "locks": "locks/{}.lock",
    "checkpoints": "checkpoints/{}.pt",
}


def planted(folder: str, make: Callable[[Path], None]) -> Scenario:
    """Replace one run's file in `folder` of a finished store by `make(path)` (a FIFO, a
    symlink to /dev/zero), the run's result removed unless that is the file: the grid
    must neither hang nor read forever, and must say what it did with the file."""

    def scenario(ctx: Ctx) -> str:
        store = ctx.base.copy_to(ctx)
        victim = store.run_ids()[1]
        path = store.folder / STORE_FILES[folder].format(victim)
        path.unlink(missing_ok=True)
        if folder != "runs":
            store.result(victim).unlink()
        make(path)
        proc = ctx.run(memory_capped(ctx.grid(*BASE_GRID, "--out", "g")), timeout=30)
        sane(proc)
        require(proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.error_line()}")
        said = [line for line in proc.output.splitlines() if victim in line]
        require(bool(said), f"nothing names the run's {path.name}")
        others = [i for i in store.run_ids() if i != victim]
        require(all(store.record(i)["status"] == "completed" for i in others), "another run lost")
        return f"exit {proc.returncode}: {short(said[0].split('failed: ')[-1], 90)}"

    return on_base_grid(scenario)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


# ---------------------------------------------------------------- 8: checkpoints


def forged_checkpoint(make: Callable[[Path, Path], None]) -> Scenario:
    """A checkpoint in the store that is a pickle payload: never unpickled, the run fails
    or restarts with a message, and the other runs are untouched."""

    def scenario(ctx: Ctx) -> str:
        store = ctx.base.copy_to(ctx)
        victim = store.run_ids()[1]
        store.result(victim).unlink()
        marker = ctx.path("checkpoint-unpickled")
        make(store.folder / "checkpoints" / f"{victim}.pt", marker)
        proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"), timeout=120)
        require(not marker.exists(), "the checkpoint's pickle payload RAN (marker created)")
        sane(proc)
        require(proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.error_line()}")
        said = [line for line in proc.output.splitlines() if "checkpoint" in line]
        require(bool(said), "nothing says what happened to the checkpoint")
        if proc.returncode == 1:
            require(store.record(victim)["status"] == "failed", "exit 1, but the run is not failed")
        return (
            f"exit {proc.returncode}, payload not run: {short(said[0].split('failed: ')[-1], 90)}"
        )

    return on_base_grid(scenario)


def raw_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps({"state": Payload(marker)}, protocol=2))


def torch_zip_pickle(path: Path, marker: Path) -> None:
    import torch  # only here: its import takes seconds

    torch.save({"model": Payload(marker), "epochs_done": 3}, path)


def garbage_checkpoint(path: Path, marker: Path) -> None:
    path.write_bytes(os.urandom(5000))


# ---------------------------------------------------------------- 9: learning rate


def lr_history(expected: list[float]) -> Expect:
    def expect(ctx: Ctx, proc: Proc) -> str:
        result = single_result(ctx, proc)
        lrs = [entry["lr"] for entry in result["history"]]
        require(
            all(abs(a - b) < 1e-12 for a, b in zip(lrs, expected, strict=True)),
            f"lr per epoch {lrs}, not {expected}",
        )
        return f"lr per epoch {lrs}"

    return expect


# ---------------------------------------------------------------- extra: sanity checks


def completes(ctx: Ctx, proc: Proc) -> str:
    result = single_result(ctx, proc)
    return f"{result['status']}: test accuracy {result['final']['test_acc']:.2f}%"


def grid_dataset_refused(mention: str) -> Expect:
    """Refused at planning (exit 2), or every run failed naming the problem (exit 1)."""

    def expect(ctx: Ctx, proc: Proc) -> str:
        sane(proc)
        if proc.returncode == 2:
            return refused(mention)(ctx, proc)
        require(proc.returncode == 1, f"exit {proc.returncode}: {proc.error_line()}")
        records = [json.loads(p.read_text()) for p in ctx.path("g/runs").glob("*.json")]
        require(bool(records), "exit 1 and no failure records")
        require(all(r["status"] == "failed" for r in records), "a run completed on it")
        require(all(mention in r["error"] for r in records), "a failure does not name it")
        return f"not refused at planning: all {len(records)} runs failed one by one (exit 1)"

    return expect


def out_is_a_file(*extra: str) -> Setup:
    def setup(ctx: Ctx) -> list[str]:
        ctx.path("passwd").write_text("a colleague's file\n")
        return ctx.grid(*BASE_GRID, "--out", "passwd", *extra)

    return setup


def file_unchanged(inner: Expect) -> Expect:
    def expect(ctx: Ctx, proc: Proc) -> str:
        require(ctx.path("passwd").read_text() == "a colleague's file\n", "the file was changed")
        return inner(ctx, proc)

    return expect


def store_folder_is(kind: str) -> Setup:
    def setup(ctx: Ctx) -> list[str]:
        ctx.path("g").mkdir()
        if kind == "file":
            ctx.path("g/runs").write_text("not a folder\n")
        else:
            ctx.path("g/logs").symlink_to("/dev/null")
        return ctx.grid(*BASE_GRID, "--out", "g")

    return setup


# ---------------------------------------------------------------- 10: the hostile-input review


INJECTED = "g\ntouch pwned #"
"""A results folder whose name, written into a batch script, is a command of its own line."""


def nothing_ran(inner: Expect) -> Expect:
    """`inner`, and the injected `touch pwned` created nothing anywhere in the attack's folder."""

    def expect(ctx: Ctx, proc: Proc) -> str:
        require(not list(ctx.work.rglob("pwned")), "the injected command RAN (pwned created)")
        return inner(ctx, proc)

    return expect


def preset_named(file_name: str) -> Setup:
    """A valid one-run preset in a file called `file_name` (its stem names its store)."""

    def setup(ctx: Ctx) -> list[str]:
        ctx.path("results").mkdir()
        ctx.path(file_name).write_text(one_run_preset(epochs=1))
        return ctx.grid("--preset", file_name, "--device", "cpu", "--workers", "1")

    return setup


def stays_in_results(inner: Expect) -> Expect:
    """`inner`, and no store appeared outside results/ (results/.. is the attack's folder)."""

    def expect(ctx: Ctx, proc: Proc) -> str:
        strays = ("runs", "logs", "locks", "manifest.json", "report")
        require(not any(ctx.path(s).exists() for s in strays), "a store was written in the cwd")
        return inner(ctx, proc)

    return expect


THEIRS = "someone else's file\n"


def linked_entry(entry: str) -> Scenario:
    """The base grid's second run redone with its `entry` ('lock', 'log') a symlink to a
    file of someone else's: the file must stay as it was, the grid say what it did."""

    def scenario(ctx: Ctx) -> str:
        store = ctx.base.copy_to(ctx)
        victim = store.run_ids()[1]
        theirs = ctx.path("theirs.txt")
        theirs.write_text(THEIRS)
        path = store.folder / STORE_FILES[f"{entry}s"].format(victim)
        path.unlink(missing_ok=True)
        path.symlink_to(theirs)
        store.result(victim).unlink()
        proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"), timeout=120)
        sane(proc)
        require(theirs.read_text() == THEIRS, f"the {entry} link's target was written")
        require(proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.error_line()}")
        said = [line for line in proc.output.splitlines() if "symbolic link" in line]
        require(bool(said), f"nothing says the {entry} is a symbolic link")
        return f"target untouched, exit {proc.returncode}: {short(said[0], 90)}"

    return on_base_grid(scenario)


@on_base_grid
def linked_logs_folder(ctx: Ctx) -> str:
    """logs/ linked to another folder: refused before planning, its files untouched."""
    store = ctx.base.copy_to(ctx)
    victim = store.run_ids()[1]
    theirs = ctx.path("theirs")
    theirs.mkdir()
    (theirs / f"{victim}.log").write_text(THEIRS)
    shutil.rmtree(store.folder / "logs")
    (store.folder / "logs").symlink_to(theirs)
    store.result(victim).unlink()
    proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g"))
    line = refused("logs is a symbolic link")(ctx, proc)
    require((theirs / f"{victim}.log").read_text() == THEIRS, "their log was written")
    return line


@on_base_grid
def linked_report(ctx: Ctx) -> str:
    """report linked to a hidden sibling folder (`.git` where the store is the cwd)."""
    store = ctx.base.copy_to(ctx)
    hidden = store.folder / ".git"
    hidden.mkdir()
    (hidden / "HEAD").write_text(THEIRS)
    report = store.folder / "report"
    if report.is_symlink():
        report.unlink()
    else:
        shutil.rmtree(report)
    report.symlink_to(".git")
    proc = ctx.run(ctx.grid(*BASE_GRID, "--out", "g", "--report-only"))
    sane(proc)
    require(proc.returncode == 0, f"exit {proc.returncode}: {proc.error_line()}")
    require((hidden / "HEAD").exists(), "the folder the report link pointed to was REMOVED")
    require(report.resolve() != hidden.resolve(), "the report was written into .git")
    return "the hidden folder stays whole; the report is published beside it"


@on_base_grid
def unsaved_into_a_planted_link(ctx: Ctx) -> str:
    """$TMPDIR's fallback names planted as links to another user's folder, then a result
    the store cannot write (runs/ swapped for a file mid-run): kept privately, not there."""
    store = ctx.base.copy_to(ctx)
    victim = store.run_ids()[1]
    theirs = ctx.path("theirs")
    theirs.mkdir()
    for name in ("fggp-bench-unsaved", f"fggp-bench-unsaved-{os.getuid()}"):
        ctx.path(f"tmp/{name}").symlink_to(theirs)
    store.result(victim).unlink()
    started = store.log(victim).count(f"run {victim} on")  # the base grid's own start
    running = ctx.start(ctx.grid(*BASE_GRID, "--out", "g"))
    deadline = time.monotonic() + 60
    while store.log(victim).count(f"run {victim} on") == started:
        require(time.monotonic() < deadline, "the run did not start within 60 s")
        time.sleep(0.05)
    (store.folder / "runs").rename(store.folder / "runs-aside")
    (store.folder / "runs").write_text("not a folder\n")
    proc = running.wait(120)
    sane(proc)
    require(not list(theirs.iterdir()), "the unsaved result was written into their folder")
    kept = re.search(r"kept in (\S+\.json)", proc.output)
    require(kept is not None, f"no 'kept in' line: {proc.error_line()}")
    folder = os.lstat(Path(kept.group(1)).parent)
    mode = folder.st_mode & 0o170777  # its type and permissions
    require(folder.st_uid == os.getuid(), "its folder is not the user's own")
    require(mode == 0o040700, f"its folder is {oct(mode)}, not a folder of mode 0o700")
    return f"exit {proc.returncode}: kept privately in {Path(kept.group(1)).parent.name}/"


HOSTILE_METHOD = "=a&b#c{d}e~f^g_h%i $x^$.py"
"""A method file name that is a spreadsheet formula, LaTeX specials and broken mathtext."""
HOSTILE_TEX = r"=a\&b\#c\{d\}e\textasciitilde{}f\textasciicircum{}g\_h\%i \$x\textasciicircum{}\$"
SELECTS = """\
from baselines.criteria import smallest_k


def select(weight, grad, active, k, progress):
    return smallest_k(weight.abs(), active, k)
"""


def hostile_label(ctx: Ctx) -> str:
    """A grid of a method whose label holds every special: the report is written, each
    file escaping it its own way."""
    ctx.path(HOSTILE_METHOD).write_text(SELECTS)
    preset = beside_magnitude(ctx, f"{HOSTILE_METHOD}:select")
    command = ctx.grid("--preset", str(preset), "--device", "cpu", "--workers", "1")
    proc = ctx.run([*command, "--out", "g"], timeout=120)
    sane(proc)
    require(proc.returncode == 0, f"exit {proc.returncode}: {proc.error_line()}")
    tex = ctx.path("g/report/table.tex").read_text()
    require(HOSTILE_TEX in tex, "table.tex does not hold the label escaped")
    with ctx.path("g/report/results.csv").open(newline="") as handle:
        methods = {row["method"] for row in csv.DictReader(handle)}
    require(f"'{HOSTILE_METHOD}:select" in methods, f"results.csv methods: {short(str(methods))}")
    return "report written: label escaped in table.tex, quoted in results.csv, plain in figures"


SEED_2_63_MINUS_1 = str(2**63 - 1)
PRESET_BASE = (
    '[base]\ndataset = "synthetic"\narch = "vgg19"\nwidth = 0.0625\nepochs = 1\n'
    "train_limit = 256\ntest_limit = 128\n"
)

ATTACKS: list[Attack] = [
    # The long scenarios first, so that the pool finishes them early.
    Attack("1 two grids started together on one folder", scenario=two_grids(0.0)),
    Attack("1 two grids started 6 s apart on one folder", scenario=two_grids(6.0)),
    Attack("5 SIGKILL of run_all.py while a worker trains", scenario=sigkill_grid),
    Attack(
        "6 SIGINT during the run phase, and a rerun",
        scenario=interrupt_training(signal.SIGINT, rerun=True),
    ),
    Attack("6 SIGTERM during the run phase", scenario=interrupt_training(signal.SIGTERM)),
    Attack(
        "6 Ctrl-C (SIGINT to the process group) during the run phase",
        scenario=interrupt_training(signal.SIGINT, group=True),
    ),
    Attack(
        "6 SIGINT during the report phase",
        scenario=interrupt_report(signal.SIGINT, "grid: ", (0.0, 0.2, 0.5)),
    ),
    Attack(
        "6 SIGTERM during the report phase",
        scenario=interrupt_report(signal.SIGTERM, "grid: ", (0.0, 0.2, 0.5)),
    ),
    Attack(
        "6 SIGINT every 5 ms from the report's last line to the exit",
        scenario=interrupt_report(signal.SIGINT, "report: ", (0.0,), every=0.005),
    ),
    Attack(
        "6 SIGTERM every 5 ms from the report's last line to the exit",
        scenario=interrupt_report(signal.SIGTERM, "report: ", (0.0,), every=0.005),
    ),
    Attack("6 SIGINT of a single run", scenario=interrupt_single),
    Attack("6 Ctrl-C twice in quick succession during the run phase", scenario=interrupt_twice),
    Attack("7 method loops forever, --time-limit 0.1", scenario=method_stuck),
    Attack("7 method raises SystemExit in select", scenario=method_quits),
    Attack("7 method calls os._exit in select", scenario=method_dies),
    Attack("7 method writes into its inputs in place", scenario=method_tampers_in_place),
    Attack(
        "7 method revives active in place, picks pruned weights",
        with_files(
            method_file("revives.py", REVIVES),
            lambda ctx: single(
                *("--batch-size", "64", "--prune-steps", "3"),  # pruning steps after the first
                *("--method", f"{ctx.path('revives.py')}:Revives"),
            )(ctx),
        ),
        refused("already-pruned"),
    ),
    Attack(
        "7 method factory raises (single run)",
        user_method("broken"),
        refused("failed to build: RuntimeError: cannot build"),
    ),
    Attack(
        "7 method factory raises (grid preset)",
        preset_with_broken_factory,
        refused("failed to build: RuntimeError: cannot build"),
    ),
    Attack("7 method param nan", single("--method-param", "select_ratio=nan"), refused("finite")),
    Attack("7 method param inf", single("--method-param", "select_ratio=inf"), refused("finite")),
    Attack(
        "7 user method param nan",
        user_method("Scaled", "--method-param", "scale=nan"),
        refused("must be finite"),
    ),
    Attack("7 preset method params inf", preset_with_inf_param, refused("must be finite")),
    Attack(
        "7 method file does not exist",
        single("--method", "nowhere.py:Mine"),
        refused("method file not found"),
    ),
    # 2: records that do not check
    Attack(
        "2 record copied in with its run_id edited",
        scenario=damaged_record(_edited_run_id, "config hashes to"),
    ),
    Attack(
        "2 record with final.test_acc null",
        scenario=damaged_record(_set("final.test_acc", None), "final.test_acc is null"),
    ),
    Attack(
        "2 record missing a field (cost.wall_seconds)",
        scenario=damaged_record(_set("cost.wall_seconds", ...), "lacks cost.wall_seconds"),
    ),
    Attack(
        "2 record missing its final section",
        scenario=damaged_record(_set("final", ...), "final"),
    ),
    Attack(
        "2 record cut short mid-file",
        scenario=damaged_record(lambda own, other: json.dumps(own)[:300], "unreadable"),
    ),
    Attack(
        "2 record that is not a JSON object",
        scenario=damaged_record(lambda own, other: [1, 2], "not a JSON object"),
    ),
    Attack("2 record of another harness version", scenario=foreign_version),
    Attack(
        "2 forged record is set aside when its run is redone", scenario=record_set_aside_on_redo
    ),
    Attack("2 record that is a FIFO", scenario=planted("runs", fifo)),
    Attack("2 record that is a symlink to /dev/zero", scenario=planted("runs", dev_zero)),
    # 3: writes that cannot happen
    Attack("3 log file that is a FIFO", scenario=planted("logs", fifo)),
    Attack("3 lock file that is a FIFO", scenario=planted("locks", fifo)),
    Attack("3 read-only runs/ folder", scenario=read_only("g/runs"), skip_when=as_root),
    Attack("3 read-only results folder", scenario=read_only("g"), skip_when=as_root),
    Attack(
        "3 --out is a file", out_is_a_file(), file_unchanged(refused("is a file, not a folder"))
    ),
    Attack(
        "3 --report-only --out a file",
        out_is_a_file("--report-only"),
        file_unchanged(refused("is a file, not a folder")),
    ),
    Attack(
        "3 store's runs/ is a file", store_folder_is("file"), refused("is a file, not a folder")
    ),
    Attack(
        "3 store's logs/ is a symlink to /dev/null",
        store_folder_is("symlink"),
        refused("logs is a file, not a folder"),
    ),
    Attack(
        "3 --out under /proc (unwritable, even for root)",
        grid(*BASE_GRID, "--out", "/proc/x"),
        refused("cannot write to output folder"),
    ),
    Attack(
        "3 single run --out under /proc",
        single_bare(*TINY, "--out", "/proc/x"),
        refused("cannot write to output folder"),
    ),
    Attack(
        "3 single run --out /etc/passwd",
        single_bare(*TINY, "--out", "/etc/passwd"),
        refused("is a file, not a folder"),
    ),
    Attack("3 result path that is a folder", scenario=result_path_is_a_folder),
    # 4: modes
    Attack("4 umask 002: grid files are group-readable", scenario=umask_grid),
    Attack("4 umask 002: single-run result is group-readable", scenario=umask_single),
    # 8: flags of a single run
    Attack("8 --seed 2^63-1", single("--seed", SEED_2_63_MINUS_1), refused("seed must be in")),
    Attack("8 --seed -1", single("--seed", "-1"), refused("seed must be in")),
    Attack("8 --seed 10^20", single("--seed", str(10**20)), refused("seed must be in")),
    Attack("8 --threads -1", single("--threads", "-1"), refused("--threads must be between")),
    Attack("8 --threads 0", single("--threads", "0"), refused("--threads must be between")),
    Attack("8 --threads 1000", single("--threads", "1000"), refused("--threads must be between")),
    Attack("8 --device mps", single("--device", "mps"), refused("not supported")),
    Attack("8 --device meta", single("--device", "meta"), refused("not supported")),
    Attack(
        "8 --device cuda", single("--device", "cuda"), refused("no CUDA GPU"), skip_when=with_gpu
    ),
    Attack("8 --device cuda:7", single("--device", "cuda:7"), refused("'cuda:7' asked for")),
    Attack("8 --device nonsense", single("--device", "gpu0"), refused("device")),
    Attack("8 --width 1e6", single("--width", "1e6"), refused("width must be in (0, 8]")),
    Attack("8 --width nan", single("--width", "nan"), refused("width must be in (0, 8]")),
    Attack("8 --width 0", single("--width", "0"), refused("width must be in (0, 8]")),
    Attack("8 --lr nan", single("--lr", "nan"), refused("lr")),
    Attack("8 --epochs 0", single("--epochs", "0"), refused("epochs")),
    Attack("8 --epochs abc", single("--epochs", "abc"), argparse_refused("--epochs")),
    Attack("8 --target-sparsity 1", single("--target-sparsity", "1"), refused("sparsity")),
    Attack("8 --lr-milestones 2,3", single("--lr-milestones", "2,3"), refused("milestones")),
    Attack(
        "8 --val-size larger than the data",
        single("--val-size", "100000"),
        refused("validation size"),
    ),
    Attack("8 --method nosuch", single("--method", "nosuch"), refused("unknown method 'nosuch'")),
    Attack("8 --dataset bogus", single("--dataset", "bogus"), refused("unknown dataset")),
    Attack("8 --recipe nosuch", single("--recipe", "nosuch"), refused("unknown recipe")),
    Attack(
        "8 --config that does not exist", single("--config", "nowhere.toml"), refused("not found")
    ),
    Attack(
        "8 --config that is not TOML",
        with_files(
            lambda ctx: ctx.path("c.toml").write_text("epochs = = 3\n"),
            single("--config", "c.toml"),
        ),
        refused("not valid TOML"),
    ),
    Attack(
        "8 --config with an unknown field",
        with_files(
            lambda ctx: ctx.path("c.toml").write_text("epochz = 3\n"), single("--config", "c.toml")
        ),
        refused("epochz"),
    ),
    # 8: presets and grid flags
    Attack(
        '8 preset arch = "vgg19"',
        preset_file('arch = "vgg19"\n[[method]]\nname = "fggp"\n'),
        refused("arch must be [arch.<name>] tables"),
    ),
    Attack(
        '8 preset dense = "false"',
        preset_file('dense = "false"\n[[method]]\nname = "fggp"\n'),
        refused("dense must be true or false"),
    ),
    Attack(
        "8 preset params = { rate = [] }",
        preset_file(
            '[[method]]\nname = "fggp"\n[[method]]\nname = "hybrid"\nparams = { rate = [] }\n'
        ),
        refused("an empty list plans no runs"),
    ),
    Attack(
        "8 preset seeds = 0",
        preset_file("seeds = 0\n" + PRESET_BASE + '[[method]]\nname = "fggp"\n'),
        refused(),
    ),
    Attack("8 preset that is empty", preset_file(""), refused("needs at least one [[method]]")),
    Attack(
        "8 preset that is not TOML", preset_file("this is [ not toml\n"), refused("not valid TOML")
    ),
    Attack("8 preset that is binary", preset_file(b"\xff\xfe\x00garbage"), refused("not UTF-8")),
    Attack(
        "8 preset with an unknown key",
        preset_file('seedz = 3\n[[method]]\nname = "fggp"\n'),
        refused("unknown key"),
    ),
    Attack(
        "8 preset with an unknown method",
        preset_file(PRESET_BASE + '[[method]]\nname = "nosuch"\n'),
        refused("nosuch"),
    ),
    Attack("8 unknown preset name", grid("--preset", "nosuch"), refused("unknown preset 'nosuch'")),
    Attack("8 preset that is a folder", grid("--preset", "/etc"), refused()),
    Attack(
        "8 --set seed=5", grid(*GRID_ONE_SEED, "--set", "seed=5"), refused("cannot be overridden")
    ),
    Attack(
        "8 --set method=x",
        grid(*GRID_ONE_SEED, "--set", "method=x"),
        refused("cannot be overridden"),
    ),
    Attack(
        "8 --set nosuchfield=1",
        grid(*GRID_ONE_SEED, "--set", "nosuchfield=1"),
        refused("nosuchfield"),
    ),
    Attack("8 --set epochs=abc", grid(*GRID_ONE_SEED, "--set", "epochs=abc"), refused("epochs")),
    Attack(
        "8 --set epochs (no value)", grid(*GRID_ONE_SEED, "--set", "epochs"), refused("FIELD=VALUE")
    ),
    Attack("8 --set width=nan", grid(*GRID_ONE_SEED, "--set", "width=nan"), refused("width")),
    Attack(
        "8 --executor slurm without Slurm",
        grid(*GRID_ONE_SEED, "--executor", "slurm"),
        refused("Slurm is not available"),
    ),
    Attack(
        "8 --workers 1000000",
        grid(*GRID_ONE_SEED, "--workers", "1000000"),
        refused("1000000 workers asked for"),
    ),
    Attack("8 --workers -1", grid(*GRID_ONE_SEED, "--workers", "-1"), refused("--workers must be")),
    Attack(
        "8 --runs-per-gpu 0", grid(*GRID_ONE_SEED, "--runs-per-gpu", "0"), refused("--runs-per-gpu")
    ),
    Attack(
        "8 --seeds 10^12",
        grid("--preset", "tiny", "--seeds", "1000000000000"),
        refused("at most 100000"),
    ),
    Attack("8 --seeds 0", grid("--preset", "tiny", "--seeds", "0"), refused("--seeds")),
    Attack(
        "8 --time-limit nan", grid(*GRID_ONE_SEED, "--time-limit", "nan"), refused("time limit")
    ),
    Attack("8 --time-limit -1", grid(*GRID_ONE_SEED, "--time-limit", "-1"), refused("time limit")),
    Attack("8 grid --device mps", grid("--preset", "tiny", "--device", "mps"), refused("mps")),
    Attack(
        "8 grid --device cuda",
        grid("--preset", "tiny", "--device", "cuda"),
        refused("no CUDA GPU"),
        skip_when=with_gpu,
    ),
    Attack(
        "8 grid --recipe nosuch",
        grid(*GRID_ONE_SEED, "--recipe", "nosuch"),
        refused("unknown recipe"),
    ),
    Attack(
        "8 --report-only --out /etc/passwd",
        grid("--preset", "tiny", "--report-only", "--out", "/etc/passwd"),
        refused("is a file, not a folder"),
    ),
    Attack(
        "8 --seed-plan on an empty grid",
        grid(*GRID_ONE_SEED, "--seed-plan"),
        refused("needs finished runs"),
    ),
    Attack(
        "8 --check a reference that does not exist",
        grid(*GRID_ONE_SEED, "--check", "no.json"),
        refused("not found"),
    ),
    Attack(
        "8 grid --dataset bogus",
        grid(*GRID_ONE_SEED, "--dataset", "bogus"),
        grid_dataset_refused("unknown dataset"),
        timeout=120,
    ),
    Attack(
        "8 grid --dataset npz:missing.npz",
        grid(*GRID_ONE_SEED, "--dataset", "npz:missing.npz"),
        grid_dataset_refused("not found"),
        timeout=120,
    ),
    # 8: data files
    Attack("8 npz well formed (control)", npz(npz_with()), completes),
    Attack(
        "8 npz label 2^62",
        npz(npz_one_label(2**62)),
        refused("the largest label is 4611686018427387904"),
    ),
    Attack(
        "8 npz single label 10^6",
        npz(npz_one_label(10**6)),
        refused("the largest label is 1000000"),
    ),
    Attack(
        "8 npz images 4x4",
        npz(
            npz_with(
                x_train=np.zeros((20, 4, 4, 3), np.uint8), x_test=np.zeros((5, 4, 4, 3), np.uint8)
            )
        ),
        refused("at least 16"),
    ),
    Attack(
        "8 npz images stored NCHW",
        npz(
            npz_with(
                x_train=np.zeros((20, 3, 32, 32), np.uint8),
                x_test=np.zeros((5, 3, 32, 32), np.uint8),
            )
        ),
        refused("(N, C, H, W)"),
    ),
    Attack(
        "8 npz header declaring 10^12 images",
        npz(npz_huge_header),
        refused("declares shape (1000000000000"),
    ),
    Attack("8 npz with a pickled object array", npz(npz_pickled), npz_not_checked("npz-unpickled")),
    Attack(
        "8 npz float images",
        npz(npz_with(x_train=np.zeros((20, 32, 32, 3), np.float32))),
        refused("uint8"),
    ),
    Attack("8 npz lacking an array", npz(npz_lacking_arrays), refused("lacks")),
    Attack("8 npz that is a single .npy array", npz(npz_single_array), refused()),
    Attack("8 npz that is garbage", npz(npz_garbage), refused("not a valid .npz")),
    Attack("8 npz symlink loop", npz(npz_symlink_loop), refused("cannot read npz file")),
    Attack("8 npz that is a FIFO (never opened)", npz(npz_fifo), refused("not a regular file")),
    Attack(
        "8 npz path that does not exist",
        single("--dataset", "npz:nowhere.npz"),
        refused("not found"),
    ),
    Attack("8 npz path empty", single("--dataset", "npz:"), refused("needs a path")),
    Attack(
        "8 npz path that is a folder",
        single("--dataset", "npz:/etc"),
        refused("not a regular file"),
    ),
    Attack(
        "8 cifar archive symlinked to /dev/zero",
        cifar_archive(lambda p: p.symlink_to("/dev/zero")),
        refused("not a regular file"),
        timeout=30,
    ),
    Attack(
        "8 cifar archive truncated (garbage bytes)",
        cifar_archive(lambda p: p.write_bytes(os.urandom(1000))),
        refused("checksum mismatch"),
    ),
    Attack(
        "8 cifar archive larger than the official one (sparse 1 GB)",
        cifar_archive(sparse_file(2**30)),
        refused("larger than the official"),
        timeout=30,
    ),
    Attack(
        "8 --data-dir that is a file",
        single("--dataset", "cifar10", "--data-dir", "/etc/passwd"),
        refused("Not a directory"),
    ),
    Attack("8 checkpoint that is a raw pickle payload", scenario=forged_checkpoint(raw_pickle)),
    Attack(
        "8 checkpoint that is a torch.save pickle payload",
        scenario=forged_checkpoint(torch_zip_pickle),
    ),
    Attack("8 checkpoint that is garbage", scenario=forged_checkpoint(garbage_checkpoint)),
    Attack("8 checkpoint that is a FIFO", scenario=planted("checkpoints", fifo)),
    Attack(
        "8 checkpoint that is a symlink to /dev/zero", scenario=planted("checkpoints", dev_zero)
    ),
    # 10: the hostile-input review (names into batch scripts, links, escaping folders)
    Attack(
        "10 review: --out holding a newline and a command, Slurm",
        grid(*GRID_ONE_SEED, "--executor", "slurm", "--out", INJECTED),
        nothing_ran(refused("--out", "control character")),
    ),
    Attack(
        "10 review: --out holding shell metacharacters, Slurm",
        grid(*GRID_ONE_SEED, "--executor", "slurm", "--out", "g;touch pwned"),
        nothing_ran(refused("--out", "batch script")),
    ),
    Attack(
        "10 review: --slurm-partition holding a newline and a command",
        grid(*GRID_ONE_SEED, "--executor", "slurm", "--slurm-partition", "gpu\ntouch pwned #"),
        nothing_ran(refused("--slurm-partition")),
    ),
    Attack(
        "10 review: --slurm-partition holding $(...)",
        grid(*GRID_ONE_SEED, "--executor", "slurm", "--slurm-partition", "gpu$(touch pwned)"),
        nothing_ran(refused("--slurm-partition")),
    ),
    Attack(
        "10 review: preset file ...toml (its store at results/..)",
        preset_named("...toml"),
        stays_in_results(refused("cannot name a results folder")),
    ),
    Attack(
        "10 review: preset file ..toml (its store at results/.)",
        preset_named("..toml"),
        stays_in_results(refused("cannot name a results folder")),
    ),
    Attack(
        "10 review: grid --out '' (the working directory)",
        grid(*GRID_ONE_SEED, "--out", ""),
        stays_in_results(refused("--out is empty")),
    ),
    Attack(
        "10 review: single run --out ''",
        single_bare(*TINY, "--out", ""),
        refused("--out is empty"),
    ),
    Attack("10 review: lock file linked to someone's file", scenario=linked_entry("lock")),
    Attack("10 review: log file linked to someone's file", scenario=linked_entry("log")),
    Attack("10 review: store's logs/ linked to another folder", scenario=linked_logs_folder),
    Attack("10 review: report linked to a hidden sibling (.git)", scenario=linked_report),
    Attack(
        "10 review: unsaved fallback in $TMPDIR planted as a link",
        scenario=unsaved_into_a_planted_link,
    ),
    Attack(
        "10 review: method label with LaTeX, formula and mathtext specials",
        scenario=hostile_label,
    ),
    # 9: the learning rate of short runs
    Attack("9 lr of a 1-epoch run is 0.1", single(), lr_history([0.1])),
    Attack(
        "9 lr of a 4-epoch run decays at epochs 2 and 3",
        single("--epochs", "4"),
        lr_history([0.1, 0.1, 0.01, 0.001]),
    ),
]


# ---------------------------------------------------------------- running the table


@dataclass(frozen=True)
class Verdict:
    attack: str
    status: str  # HELD, FAILED or SKIPPED
    reason: str
    seconds: float

    def line(self) -> str:
        return f"{self.status:<7} {self.attack}: {self.reason} ({self.seconds:.0f}s)"


def play(attack: Attack, root: Path, scratch: Path, base: BaseGrid, keep: bool) -> Verdict:
    """Run one attack in its own folder; the folder of a FAILED attack is kept, to look at."""
    work = Path(tempfile.mkdtemp(prefix=re.sub(r"\W+", "-", attack.name)[:60] + ".", dir=scratch))
    (work / "tmp").mkdir()
    ctx = Ctx(root=root, work=work, base=base)
    started = time.monotonic()
    try:
        status, reason = "HELD", attack.play(ctx)
    except Broken as broken:
        status, reason = "FAILED", str(broken)
    except Skipped as skipped:
        status, reason = "SKIPPED", str(skipped)
    except Exception as error:  # the attack itself broke: say so, count it as not held
        status, reason = "FAILED", f"attack script error: {type(error).__name__}: {error}"
    finally:
        for running in ctx.running:
            running.kill()
        if not (keep or status == "FAILED"):
            _remove(work)
    reason = reason.replace(f"{work}/", "").replace(str(scratch), "$SCRATCH")
    return Verdict(attack.name, status, short(reason, 160), time.monotonic() - started)


def _remove(folder: Path) -> None:
    for path in folder.rglob("*"):  # a read-only folder left by an attack
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the attacks whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="attacks at once (default 2)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to attack")
    parser.add_argument("--keep", action="store_true", help="keep each attack's folder")
    parser.add_argument("--list", action="store_true", help="print the attacks' names")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [a for a in ATTACKS if args.only is None or args.only.lower() in a.name.lower()]
    if args.list:
        print("\n".join(a.name for a in chosen))
        return 0
    if not chosen:
        print(f"no attack's name contains {args.only!r}", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="fggp-attack-"))
    base = BaseGrid(args.root.resolve(), scratch)
    started = time.monotonic()
    if any(attack.uses_base for attack in chosen):  # trained beside the first attacks
        builder = Ctx(root=args.root.resolve(), work=scratch / "base-build", base=base)
        (builder.work / "tmp").mkdir(parents=True)
        threading.Thread(target=base.ensure, args=(builder,), daemon=True).start()
    verdicts = []
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [
                pool.submit(play, attack, args.root.resolve(), scratch, base, args.keep)
                for attack in chosen
            ]
            for future in as_completed(futures):
                verdicts.append(future.result())
                print(verdicts[-1].line(), flush=True)
    finally:
        failed = [v for v in verdicts if v.status == "FAILED"]
        if args.keep or failed:
            print(f"folders kept in {scratch} ({'all' if args.keep else 'the failed attacks'})")
        else:
            _remove(scratch)
    counts = {s: sum(v.status == s for v in verdicts) for s in ("HELD", "FAILED", "SKIPPED")}
    print(
        f"attempts {len(verdicts)}, held {counts['HELD']}, failed {counts['FAILED']}, "
        f"skipped {counts['SKIPPED']} ({(time.monotonic() - started) / 60:.1f} min)"
    )
    return 1 if counts["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())
