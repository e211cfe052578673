"""Hostile and mistaken input (issue 12): each is a one-line error before work starts, never
a traceback, a hang, a silently dropped setting or a run that trains something else."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import baselines
from benchmark import config as run_config
from benchmark import train
from benchmark.cli import ensure_writable
from benchmark.config import RunConfig, validate
from benchmark.data import cifar, load_dataset
from benchmark.data.cifar import CIFAR10
from benchmark.errors import UserError
from benchmark.grid import execute, slurm
from benchmark.grid.execute import NO_OPTIONS
from benchmark.grid.presets import expand, load_preset
from benchmark.grid.store import RunStore
from benchmark.models import build_model
from benchmark.run import main
from benchmark.schedule import lr_milestone_epochs
from tests.test_cli import TINY_FLAGS

UNCHECKED_METHOD = """
class Scaled:
    def __init__(self, scale=1.0):
        self.scale = scale

    def select(self, weight, grad, active, k, progress):
        raise AssertionError("never trained in these tests")


def broken(level=1):
    raise RuntimeError("cannot build\\nand a second line")
"""


@pytest.fixture
def methods(tmp_path: Path) -> Path:
    """A method file whose factory checks nothing, so only the harness can refuse."""
    path = tmp_path / "mine.py"
    path.write_text(UNCHECKED_METHOD)
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the single-run CLI on `argv`; it must exit 2 with one `error:` line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# ---------------------------------------------------------------- method parameters (7)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [0.5, float("-inf")]])
def test_non_finite_method_parameters_are_refused(methods, value):
    config = RunConfig(method=f"{methods}:Scaled", method_params={"scale": value})
    with pytest.raises(UserError, match="method parameter scale must be finite"):
        validate(config)


def test_a_non_finite_parameter_in_a_preset_is_refused_at_planning(tmp_path, methods):
    preset = tmp_path / "inf.toml"
    preset.write_text(f'[[method]]\nname = "{methods}:Scaled"\nparams = {{ scale = inf }}\n')
    with pytest.raises(UserError, match="method parameter scale must be finite"):
        expand(load_preset(str(preset)))


def test_a_non_finite_method_param_flag_is_one_line(tmp_path, capsys, methods):
    flags = ["--method", f"{methods}:Scaled", "--method-param", "scale=nan"]
    err = one_line_error(capsys, [*TINY_FLAGS, *flags, "--out", str(tmp_path / "runs")])
    assert "must be finite" in err


def test_a_factory_raising_anything_is_one_line_naming_the_method(methods):
    with pytest.raises(UserError) as error:
        baselines.build(f"{methods}:broken", {})
    message = str(error.value)
    assert message == f"method '{methods}:broken' failed to build: RuntimeError: cannot build"


# ---------------------------------------------------------------- run fields and flags (8)


def test_seeds_are_non_negative_and_leave_room_for_their_offsets():
    assert train._MASK_SEED_OFFSET <= run_config.SEED_OFFSET_ROOM
    highest = run_config.SEED_MAX + train._MASK_SEED_OFFSET
    torch.Generator().manual_seed(highest)  # the largest derived seed is taken as it is
    assert highest < 2**63
    validate(RunConfig(seed=run_config.SEED_MAX))
    for seed in (-1, run_config.SEED_MAX + 1, 10**20):
        with pytest.raises(UserError, match="seed must be in"):
            validate(RunConfig(seed=seed))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", str(10**20)], "seed must be in [0, "),
        (["--threads", "-1"], "--threads must be between 1 and"),
        (["--threads", str((os.cpu_count() or 1) + 1)], "--threads must be between 1 and"),
        (["--device", "mps"], "device 'mps' is not supported"),
        (["--device", "meta"], "device 'meta' is not supported"),
        (["--width", "1e6"], "width must be in (0, 8]"),
    ],
)
def test_bad_run_flags_are_one_line(tmp_path, capsys, flags, message):
    err = one_line_error(capsys, [*TINY_FLAGS, *flags, "--out", str(tmp_path / "runs")])
    assert message in err


def test_the_widest_model_allowed_is_still_built_on_no_memory():
    """Width 8, the bound, is a model of the size the error message states."""
    validate(RunConfig(width=run_config.WIDTH_MAX))
    with torch.device("meta"):
        sizes = {a: build_model(a, 10, run_config.WIDTH_MAX) for a in ("vgg19", "resnet50")}
    counts = {a: sum(p.numel() for p in m.parameters()) for a, m in sizes.items()}
    assert round(counts["vgg19"] / 1e9, 1) == 1.3 and round(counts["resnet50"] / 1e9, 1) == 1.5


def test_an_output_folder_that_is_a_file_is_named_as_such(tmp_path):
    blocker = tmp_path / "passwd"
    blocker.write_text("root:x:0:0\n")
    with pytest.raises(UserError, match="is a file, not a folder"):
        ensure_writable(blocker)
    assert blocker.read_text() == "root:x:0:0\n"


# ---------------------------------------------------------------- presets (8)


def write_preset(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('arch = "vgg19"\n[[method]]\nname = "fggp"\n', r"arch must be \[arch.<name>\] tables"),
        ('dense = "false"\n[[method]]\nname = "fggp"\n', "dense must be true or false"),
        ("description = 3\n[[method]]\nname = 'fggp'\n", "description must be a string"),
        ("[arch.vgg11]\nwidth = 0.5\n[[method]]\nname = 'fggp'\n", r"\[arch.vgg11\] names no"),
        (
            '[[method]]\nname = "fggp"\n[[method]]\nname = "hybrid"\nparams = { rate = [] }\n',
            "'hybrid' params rate: an empty list plans no runs",
        ),
    ],
)
def test_preset_keys_are_type_checked_and_no_setting_is_dropped(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        expand(load_preset(write_preset(tmp_path, text)))


@pytest.mark.parametrize(
    ("override", "hint"),
    [({"seed": 5}, "--seeds N"), ({"method": "magnitude"}, r"\[\[method\]\]")],
)
def test_overriding_what_every_grid_point_sets_is_refused(override, hint):
    with pytest.raises(UserError, match=f"cannot be overridden .*{hint}"):
        expand(load_preset("tiny"), overrides=override)


# ---------------------------------------------------------------- grid execution (8)


@pytest.mark.parametrize(
    ("workers", "runs_per_gpu", "message"),
    [
        (1_000_000, 1, "1000000 workers asked for, but this machine has"),
        (4 * (os.cpu_count() or 1) + 1, 1, "every worker needs one"),
        (-1, 1, "--workers must be 0"),
        (0, 0, "--runs-per-gpu at least 1"),
    ],
)
def test_worker_counts_are_bounded_by_the_cores(workers, runs_per_gpu, message):
    with pytest.raises(UserError, match=message):
        execute.device_slots("cpu", workers, runs_per_gpu)
    assert len(execute.device_slots("cpu", 4 * (os.cpu_count() or 1), 1)) == 4 * os.cpu_count()


def test_slurm_without_slurm_is_refused_not_run_here(monkeypatch):
    monkeypatch.setattr(slurm.submitit.AutoExecutor, "which", staticmethod(lambda: "local"))
    with pytest.raises(UserError, match="Slurm is not available here"):
        slurm.check_slurm(None)
    slurm.check_slurm("local")  # the tests' explicit local executor stays allowed
    monkeypatch.setattr(slurm.submitit.AutoExecutor, "which", staticmethod(lambda: "slurm"))
    slurm.check_slurm(None)


# ---------------------------------------------------------------- data (8)


def save_npz(path: Path, **changes: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(20, 32, 32, 3), dtype=np.uint8),
        "y_train": np.arange(20) % 10,
        "x_test": rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8),
        "y_test": np.arange(5),
    }
    np.savez(path, **{**arrays, **changes})
    return path


def load_error(path: Path, tmp_path: Path) -> str:
    with pytest.raises(UserError) as error:
        load_dataset(f"npz:{path}", tmp_path)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_well_formed_npz_still_loads(tmp_path):
    data = load_dataset(f"npz:{save_npz(tmp_path / 'ok.npz')}", tmp_path)
    assert data.num_classes == 10 and data.x_train.shape == (20, 32, 32, 3)


@pytest.mark.parametrize("label", [2**62, 10**6])
def test_labels_must_number_the_classes(tmp_path, label):
    y_train = np.where(np.arange(20) == 3, label, np.arange(20) % 10)
    path = save_npz(tmp_path / "labels.npz", y_train=y_train)
    assert f"the largest label is {label}" in load_error(path, tmp_path)


def test_a_test_class_without_training_images_is_refused(tmp_path):
    path = save_npz(tmp_path / "unseen.npz", y_test=np.array([0, 1, 2, 3, 10]))
    assert "labels must number the classes 0..C-1" in load_error(path, tmp_path)


def test_images_smaller_than_the_downsampling_are_refused(tmp_path):
    small = np.zeros((20, 8, 8, 3), np.uint8)
    path = save_npz(tmp_path / "small.npz", x_train=small, x_test=small[:5])
    message = load_error(path, tmp_path)
    assert "H and W at least 16" in message and "(N, C, H, W)" not in message


def test_channels_first_images_are_recognised(tmp_path):
    nchw = np.zeros((20, 3, 32, 32), np.uint8)
    path = save_npz(tmp_path / "nchw.npz", x_train=nchw, x_test=nchw[:5])
    assert "it looks like (N, C, H, W)" in load_error(path, tmp_path)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_header_declaring_more_than_the_file_holds_allocates_nothing(tmp_path, method):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**12, 32, 32, 3)}
    )
    path = save_npz(tmp_path / "huge.npz")
    with zipfile.ZipFile(path) as original:
        members = {name: original.read(name) for name in original.namelist()}
    members["x_train.npy"] = header.getvalue() + bytes(1000)
    with zipfile.ZipFile(path, "w", method) as forged:
        for name, payload in members.items():
            forged.writestr(name, payload)
    message = load_error(path, tmp_path)
    assert "declares shape (1000000000000, 32, 32, 3)" in message


def test_a_symlink_loop_and_a_fifo_are_refused(tmp_path):
    loop = tmp_path / "loop.npz"
    loop.symlink_to(loop)
    assert "cannot read npz file" in load_error(loop, tmp_path)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    assert "is not a regular file" in load_error(fifo, tmp_path)


def test_a_cifar_archive_that_is_a_device_is_never_read(tmp_path):
    (tmp_path / CIFAR10.filename).symlink_to("/dev/zero")
    with pytest.raises(UserError, match="is not a regular file"):
        load_dataset("cifar10", tmp_path)


def test_a_cifar_archive_is_read_no_further_than_its_official_size(tmp_path):
    (tmp_path / CIFAR10.filename).write_bytes(bytes(100))
    smaller = dataclasses.replace(CIFAR10, size=99)
    with pytest.raises(UserError, match="larger than the official cifar10 archive"):
        cifar.load_cifar(smaller, tmp_path)


# ---------------------------------------------------------------- lr milestones (9)


def test_no_lr_milestone_falls_before_the_first_epoch():
    assert lr_milestone_epochs(1, (0.5, 0.75)) == [1]
    assert lr_milestone_epochs(4, (0.1,)) == [1]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    torch.optim.lr_scheduler.MultiStepLR(optimizer, lr_milestone_epochs(1, (0.5, 0.75)), 0.1)
    assert optimizer.param_groups[0]["lr"] == 0.1  # a 1-epoch run trains at its lr


def test_the_regression_presets_milestones_are_unchanged():
    """Its committed references (benchmark/reference/) stay valid: 2 epochs, decay at 1."""
    (schedule,) = {(c.epochs, c.lr_milestones) for c in expand(load_preset("regression"))}
    assert lr_milestone_epochs(*schedule) == [1, 2]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "slurm"], "Slurm is not available here"),
        (["--workers", "1000000"], "1000000 workers asked for"),
        (["--workers", "-1"], "--workers must be 0"),
    ],
)
def test_run_all_refuses_an_executor_it_cannot_use_before_running(tmp_path, capsys, extra, message):
    import run_all

    out = tmp_path / "grid"
    assert run_all.main(["--preset", "tiny", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (out / "runs").exists()  # refused at planning: nothing ran


def test_run_all_report_into_a_file_is_one_line(tmp_path, capsys):
    import run_all

    target = tmp_path / "not-a-folder"
    target.write_text("a colleague's file")
    assert run_all.main(["--preset", "tiny", "--out", str(target), "--report-only"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and err.count("\n") == 1
    assert target.read_text() == "a colleague's file"


def test_a_grid_too_large_for_a_store_is_refused_before_it_is_built():
    """`--seeds 10**12` once built configurations for hours before anything was said."""
    started = time.perf_counter()
    with pytest.raises(UserError, match=r"plans 9000000000000 runs .*; at most 100000 fit"):
        expand(load_preset("tiny"), seeds=10**12)
    assert time.perf_counter() - started < 1.0
    assert len(expand(load_preset("tiny"), seeds=3)) == 27  # the bound leaves real grids alone


def test_a_grid_worker_handed_a_gpu_it_does_not_have_fails_its_run_in_one_line(
    tmp_path, monkeypatch
):
    """A Slurm task on a node without a GPU once failed with torch's own message."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = expand(load_preset("tiny"), seeds=1)[0]
    outcome = execute.run_one(config.to_dict(), str(tmp_path), "cuda", 1)
    assert outcome.status == "failed"
    assert outcome.error.startswith("UserError: device 'cuda' asked for, but no CUDA GPU")
    assert "available on" in outcome.error


# ---------------------------------------------------------------- the Slurm batch script


class Submitted(Exception):
    """Raised in place of sbatch: the batch script is rendered, nothing is submitted."""


@pytest.fixture
def sbatch_scripts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The batch scripts `run_slurm` hands sbatch, rendered by submitit itself but kept
    here instead of submitted (no cluster needed: submitit's srun check is bypassed)."""
    scripts: list[str] = []
    render = slurm.submitit.SlurmExecutor._make_submission_file_text

    def capture(self, command: str, uid: str) -> str:
        scripts.append(render(self, command, uid))
        raise Submitted

    monkeypatch.setattr(slurm.submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))
    monkeypatch.setattr(slurm.submitit.SlurmExecutor, "_make_submission_file_text", capture)
    return scripts


def submit(root: Path, **options: object) -> None:
    """`run_slurm` of two tiny runs into the store `root`, on a (pretend) Slurm cluster."""
    configs = expand(load_preset("tiny"), seeds=1)[:2]
    slurm_options = slurm.SlurmOptions(cluster="slurm", **options)
    with contextlib.suppress(Submitted):
        slurm.run_slurm(configs, RunStore(root), slurm_options, lambda *_: None, NO_OPTIONS)


def commands_of(script: str) -> list[str]:
    """The lines bash runs: neither comments (#SBATCH included) nor blank."""
    return [line for line in script.splitlines() if line.strip() and not line.startswith("#")]


INJECTIONS = ["g\ntouch pwned #", "g\rtouch pwned", "g;touch pwned", "g$(touch pwned)", "g`id`"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_results_folder_name_never_reaches_the_batch_script_as_a_command(
    tmp_path, sbatch_scripts, name
):
    """A folder named 'g<newline>touch pwned #' put `touch pwned` into the sbatch script as a
    line of its own (the job name and the log paths come from the folder)."""
    try:
        submit(tmp_path / name)
    except UserError as error:
        message = str(error)
        assert "\n" not in message and "--out" in message and "batch script" in message
        assert not sbatch_scripts
        return
    (script,) = sbatch_scripts
    lines = commands_of(script)
    assert lines[0] == "export SUBMITIT_EXECUTOR=slurm" and len(lines) == 2, lines
    assert lines[1].startswith("srun --unbuffered")


def test_the_slurm_job_name_holds_only_safe_characters(tmp_path, sbatch_scripts):
    submit(tmp_path / "grid-é.v2+x")
    (script,) = sbatch_scripts
    (line,) = [line for line in script.splitlines() if line.startswith("#SBATCH --job-name=")]
    assert line == "#SBATCH --job-name=fggp-grid-_.v2_x"


@pytest.mark.parametrize("partition", ["gpu\ntouch pwned #", "gpu;reboot", "gpu $(id)", ""])
def test_a_partition_that_would_reach_the_batch_script_is_refused(
    tmp_path, sbatch_scripts, partition
):
    with pytest.raises(UserError, match="--slurm-partition") as error:
        submit(tmp_path / "g", partition=partition)
    assert "\n" not in str(error.value) and not sbatch_scripts


@pytest.mark.parametrize(
    ("out", "partition", "says"),
    [
        ("g", "gpu\ntouch pwned #", "--slurm-partition"),
        ("g\ntouch pwned #", "gpu", "--out"),
        ("g;touch pwned", "gpu", "batch script"),
    ],
)
def test_run_all_refuses_slurm_values_that_would_reach_the_script(
    tmp_path, capsys, out, partition, says
):
    import run_all

    argv = ["--preset", "tiny", "--executor", "slurm", "--slurm-partition", partition]
    assert run_all.main([*argv, "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert says in err


# ---------------------------------------------------------------- results folders


@pytest.mark.parametrize("file_name", ["...toml", "..toml", "a\nb.toml", "a\tb.toml"])
def test_a_preset_name_cannot_put_its_store_outside_results(tmp_path, file_name):
    """A preset file `...toml` is the preset `..`: its store was results/.., the cwd."""
    path = tmp_path / file_name
    path.write_text('[[method]]\nname = "fggp"\n')
    with pytest.raises(UserError, match="cannot name a results folder") as error:
        load_preset(str(path))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("out", ["", " ", "g\nh", "g\x1b[2Jh", "g\x7fh"])
def test_an_empty_or_odd_out_folder_is_one_line(tmp_path, monkeypatch, capsys, out):
    """`--out ''` once wrote the store (or the result) into the working directory."""
    import run_all

    monkeypatch.chdir(tmp_path)
    assert run_all.main(["--preset", "tiny", "--out", out, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and err.count("\n") == 1, err
    err = one_line_error(capsys, [*TINY_FLAGS, "--out", out])
    assert err.startswith("error: --out ")
    assert list(tmp_path.iterdir()) == []
