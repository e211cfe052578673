"""The grid: preset expansion, the run store, skipping finished runs, isolating failures."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import run_all
from benchmark.config import RunConfig
from benchmark.data import fingerprint_of
from benchmark.data.synthetic import load_synthetic
from benchmark.errors import UserError
from benchmark.grid.execute import device_slots
from benchmark.grid.presets import available_presets, expand, load_preset
from benchmark.grid.store import RunStore
from benchmark.recipe import load_recipe
from tests.support import without_timings

EXPECTED_COUNTS = {
    # 2 archs x 3 sparsities x 2 inits x 5 methods (the paper's 4, granet) x 3 seeds
    # + 2 archs x 3 seeds dense
    "paper": 2 * 3 * 2 * 5 * 3 + 2 * 3,
    # 3 sparsities x (2 inits x 3 gradual methods + 2 fixed-sparsity ones) x 3 seeds + 3 dense
    "dst": 3 * (2 * 3 + 2) * 3 + 3,
    # 2 sparsities x 5 methods x 3 seeds + 3 dense
    "dst_fidelity": 2 * 5 * 3 + 3,
    # (2 orders x 3 pool rules x 2 schedules + the earlier linear one) x 3 seeds
    "ablation": (2 * 3 * 2 + 1) * 3,
    "smoke": 2 * 4 * 3 + 3,
    # 2 sparsities x 5 methods x 3 seeds + 3 dense
    "fidelity": 2 * 5 * 3 + 3,
    "tiny": 2 * 4 * 2 + 2,
    # 6 methods (the paper's 4, taylor, random) x 12 seeds + 12 dense
    "regression": 6 * 12 + 12,
}


def test_every_preset_expands_to_its_count():
    assert set(available_presets()) == set(EXPECTED_COUNTS)
    for name, count in EXPECTED_COUNTS.items():
        configs = expand(load_preset(name))
        assert len(configs) == count, name
        assert len({c.run_id() for c in configs}) == count


def test_paper_grid_matches_the_paper():
    configs = expand(load_preset("paper"))
    pruned = [c for c in configs if c.method != "dense"]
    assert {c.arch for c in configs} == {"vgg19", "resnet50"}
    assert {c.target_sparsity for c in pruned} == {0.90, 0.95, 0.98}
    assert {c.init_density for c in pruned} == {1.0, 0.5}
    assert {c.method for c in configs} == {
        "fggp",
        "magnitude",
        "gradient",
        "annealed_hybrid",
        "granet",
        "dense",
    }
    assert {(c.dataset, c.width, c.epochs) for c in configs} == {("cifar10", 1.0, 160)}
    dense = [c for c in configs if c.method == "dense"]
    assert {(c.target_sparsity, c.init_density) for c in dense} == {(0.0, 1.0)}


def test_the_paper_preset_trains_under_the_released_recipe():
    configs = expand(load_preset("paper"))
    recipe = {
        (c.batch_size, c.label_smoothing, c.prune_every, c.prune_end, c.keep_first_dense)
        for c in configs
    }
    assert recipe == {(64, 0.1, 2000, 0.8, True)}


def test_a_recipe_sits_under_the_presets_base_and_can_be_swapped(tmp_path):
    granet = expand(dataclasses.replace(load_preset("paper"), recipe=load_recipe("granet_style")))
    assert {
        (c.batch_size, c.label_smoothing, c.prune_every, c.prune_steps, c.prune_end) for c in granet
    } == {(128, 0.0, 0, 31, 0.5)}
    assert not any(c.keep_first_dense for c in granet)
    (tmp_path / "mine_recipe.toml").write_text('description = "mine"\nlabel_smoothing = 0.2\n')
    preset = tmp_path / "mine.toml"
    body = 'seeds = 1\n[base]\ndataset = "synthetic"\nbatch_size = 32\n[[method]]\nname = "fggp"\n'
    preset.write_text('recipe = "released"\n' + body)
    (config,) = expand(load_preset(str(preset)))
    assert (config.batch_size, config.label_smoothing) == (32, 0.1)  # [base] beats the recipe
    preset.write_text('recipe = "mine_recipe.toml"\n' + body)
    (config,) = expand(load_preset(str(preset)))  # a recipe path is read beside its preset
    assert (config.batch_size, config.label_smoothing) == (32, 0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sparsity = 0.9\n", "unknown run field(s) sparsity"),
        ("seed = 3\n", "seed name a run, not a recipe"),
        ("batch_size = \n", "not valid TOML"),
    ],
)
def test_bad_recipes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=re.escape(message)):
        load_recipe(str(path))
    with pytest.raises(UserError, match="unknown recipe 'nope'; choose from: granet_style"):
        load_recipe("nope")


def test_seeds_and_overrides():
    preset = load_preset("tiny")
    assert len(expand(preset, seeds=3)) == 2 * 4 * 3 + 3
    configs = expand(preset, overrides={"dataset": "npz:/x.npz", "epochs": 7, "init_density": 1.0})
    assert {(c.dataset, c.epochs) for c in configs} == {("npz:/x.npz", 7)}
    assert len(configs) == 4 * 2 + 2  # the init-density axis collapsed to the override
    with pytest.raises(UserError, match="unknown run field"):
        expand(preset, overrides={"sparsity": 0.5})


def test_run_ids_are_stable_across_expansions():
    first = [c.run_id() for c in expand(load_preset("paper"))]
    assert first == [c.run_id() for c in expand(load_preset("paper"))]


def test_method_parameter_lists_expand(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'seeds = 1\n[base]\ndataset = "synthetic"\n'
        '[[method]]\nname = "hybrid"\nparams = { order = ["gradient_first", "magnitude_first"],'
        " rate = [0.25, 0.5] }\n"
    )
    configs = expand(load_preset(str(path)))
    assert sorted((c.method_kwargs["order"], c.method_kwargs["rate"]) for c in configs) == [
        ("gradient_first", 0.25),
        ("gradient_first", 0.5),
        ("magnitude_first", 0.25),
        ("magnitude_first", 0.5),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[base]\nsparsity = 0.9\n[[method]]\nname = 'fggp'\n", "unknown run field"),
        ("[[method]]\nname = 'snip'\n", "unknown method"),
        ("seeds = 0\n[[method]]\nname = 'fggp'\n", "seeds"),
        ("[grid]\narch = 'vgg19'\n[[method]]\nname = 'fggp'\n", "non-empty list"),
        ("grid = [\n", "not valid TOML"),
        ("[base]\ndataset = 'synthetic'\n", "needs at least one"),
    ],
)
def test_bad_presets_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        expand(load_preset(str(path)))
    with pytest.raises(UserError, match="unknown preset"):
        load_preset("nonexistent")


def run_grid(tmp_path, *extra):
    return run_all.main(
        ["--preset", "tiny", "--out", str(tmp_path / "grid"), "--device", "cpu", *extra]
    )


def test_grid_runs_then_skips_finished_runs_and_redoes_a_corrupt_one(tmp_path, capsys):
    assert run_grid(tmp_path) == 0
    store = RunStore(tmp_path / "grid")
    configs = expand(load_preset("tiny"))
    assert len(store.completed(configs)) == len(configs)
    manifest = json.loads((tmp_path / "grid" / "manifest.json").read_text())
    assert [r["run_id"] for r in manifest["runs"]] == [c.run_id() for c in configs]
    first_bytes = {c.run_id(): store.result_path(c.run_id()).read_bytes() for c in configs}
    summary = json.loads((tmp_path / "grid" / "report" / "summary.json").read_text())
    assert len(summary["settings"]) == 2 and [c["id"] for c in summary["claims"]] == [1, 2, 3, 4, 5]
    out = capsys.readouterr().out
    assert "claim 1:" in out and f"report: {tmp_path}/grid/report/report.html" in out
    html = (tmp_path / "grid" / "report" / "report.html").read_text()
    assert all(c.run_id() in html for c in configs)  # the report of a real grid lists every run
    assert html.count("<figure>") >= 5 and "python run_all.py --preset tiny --out" in html

    assert run_grid(tmp_path) == 0  # nothing left to do
    out = capsys.readouterr().out
    assert "to run now: 0 runs" in out and "running" not in out

    assert run_grid(tmp_path, "--seed-plan") == 0  # the plan from the stored runs alone
    out = capsys.readouterr().out
    assert "seed plan (80% power" in out and "claim 2 (one-sided t-test over seeds" in out
    assert "running" not in out

    damaged = configs[3].run_id()
    store.result_path(damaged).write_text('{"schema": "fggp-bench/run/1", "run_id": "trunc')
    assert run_grid(tmp_path) == 0
    captured = capsys.readouterr()
    assert "unreadable" in captured.err and "to run now: 1 runs" in captured.out
    # the redone run is identical (deterministic on CPU); the others were not touched
    redone = json.loads(store.result_path(damaged).read_text())
    before = json.loads(first_bytes[damaged])
    assert redone["history"][0]["test_acc"] == before["history"][0]["test_acc"]
    for config in configs:
        if config.run_id() != damaged:
            assert store.result_path(config.run_id()).read_bytes() == first_bytes[config.run_id()]


def test_a_failing_run_is_recorded_and_does_not_stop_the_others(tmp_path, capsys, monkeypatch):
    # A dataset that only fails at load time inside the worker: an npz that vanishes
    # after the grid has read it (here: the grid is told nothing about its data).
    monkeypatch.setattr(run_all, "data_now", lambda configs, need: {})
    bad = tmp_path / "gone.npz"
    code = run_grid(tmp_path, "--dataset", f"npz:{bad}", "--set", "init_density=1.0")
    assert code == 1
    store = RunStore(tmp_path / "grid")
    configs = expand(load_preset("tiny"), overrides={"dataset": f"npz:{bad}", "init_density": 1.0})
    records = [store.read(c.run_id()) for c in configs]
    assert all(r["status"] == "failed" and "gone.npz" in r["error"] for r in records)
    assert all(store.log_path(c.run_id()).exists() for c in configs)
    out = capsys.readouterr().out
    assert out.count("FAILED") == len(configs)
    assert "failed 10" in out


def small_npz(path: Path, shift: int) -> Path:
    """200 training and 100 test images of the synthetic set; `shift` rolls the labels,
    so two files of the same shapes hold other data."""
    data = load_synthetic()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=data.x_train[:200],
        y_train=np.roll(data.y_train[:200], shift),
        x_test=data.x_test[:100],
        y_test=data.y_test[:100],
    )
    return path


def test_a_stored_run_on_other_data_under_the_same_name_is_redone(tmp_path, capsys, monkeypatch):
    """`npz:data.npz` from two folders into one store: one run id, two data sets. Each
    grid redoes the other's result (moved to rejected/, never overwritten), never uses it."""
    grid = ["--dataset", "npz:data.npz", "--seeds", "1", "--set", "init_density=1.0"]
    fingerprints = {}
    for folder, shift in (("a", 0), ("b", 1)):
        small_npz(tmp_path / folder / "data.npz", shift)
        fingerprints[folder] = fingerprint_of(f"npz:{tmp_path / folder / 'data.npz'}", tmp_path)
    assert fingerprints["a"] != fingerprints["b"]
    configs = expand(
        load_preset("tiny"), seeds=1, overrides={"dataset": "npz:data.npz", "init_density": 1.0}
    )
    store = RunStore(tmp_path / "grid")
    for turn, folder in enumerate(("a", "b", "b", "a")):
        monkeypatch.chdir(tmp_path / folder)
        assert run_grid(tmp_path, *grid) == 0
        captured = capsys.readouterr()
        again = turn == 2  # b after b: its own results, reused
        assert f"to run now: {0 if again else len(configs)} runs" in captured.out
        other = "was trained on other data than npz:data.npz holds now"
        assert captured.err.count(other) == (0 if turn in (0, 2) else len(configs))
        records = [store.read(c.run_id()) for c in configs]
        assert {r["data"]["fingerprint"] for r in records} == {fingerprints[folder]}
    assert len(list((tmp_path / "grid" / "rejected").iterdir())) == 2 * len(configs)


def test_data_a_grid_would_train_on_must_be_there_before_anything_runs(tmp_path, capsys):
    assert run_grid(tmp_path, "--dataset", f"npz:{tmp_path / 'absent.npz'}") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.npz" in err
    assert not (tmp_path / "grid" / "runs").exists()


def test_dry_run_and_retry_failed(tmp_path, capsys):
    assert run_grid(tmp_path, "--dry-run") == 0
    assert "grid: 18 runs (18 missing); to run now: 18 runs, 18 epochs" in capsys.readouterr().out
    assert not (tmp_path / "grid").exists()
    store = RunStore(tmp_path / "grid")
    config = expand(load_preset("tiny"))[0]
    store.write_failure(config, "RuntimeError: out of memory")
    assert run_grid(tmp_path, "--retry-failed", "--dry-run") == 0
    assert "to run now: 1 runs" in capsys.readouterr().out


def test_results_of_another_harness_version_are_not_mixed(tmp_path, capsys):
    store = RunStore(tmp_path / "grid")
    config = expand(load_preset("tiny"))[0]
    store.write_failure(config, "x")
    record = json.loads(store.result_path(config.run_id()).read_text())
    record["harness_version"] = 0
    store.result_path(config.run_id()).write_text(json.dumps(record))
    assert run_grid(tmp_path, "--dry-run") == 2
    err = capsys.readouterr().err
    assert "harness version 0" in err and err.count("\n") == 1


def test_device_slots():
    assert device_slots("cpu", 1, 1) == ["cpu"]
    # the CPU default: one single-threaded worker per core, at most 8
    assert device_slots("cpu", 0, 1) == ["cpu"] * min(os.cpu_count(), 8)
    with pytest.raises(UserError, match="device"):
        device_slots("tpu", 1, 1)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            device_slots("cuda", 0, 2)


def test_config_round_trips_through_the_worker_boundary():
    config = expand(load_preset("ablation"))[0]
    from benchmark.config import config_from_dict

    assert config_from_dict(config.to_dict()) == config
    assert isinstance(config, RunConfig)


ROOT = Path(__file__).resolve().parents[1]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("how", ["kill -9 a worker", "SIGTERM the grid"])
def test_an_interrupted_grid_resumes_and_completes_every_run_exactly_once(tmp_path, how):
    command = [
        sys.executable,
        "run_all.py",
        "--preset",
        "tiny",
        "--device",
        "cpu",
        "--set",
        "epochs=2",
    ]
    reference = tmp_path / "reference"
    subprocess.run([*command, "--out", str(reference)], cwd=ROOT, check=True, capture_output=True)
    out = tmp_path / "interrupted"
    grid = subprocess.Popen(
        [*command, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: len(list((out / "runs").glob("*.json"))) >= 4, timeout=120)
    if how == "kill -9 a worker":
        workers = [
            p for p in children(grid.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()
        ]
        os.kill(workers[0], signal.SIGKILL)
    else:
        grid.send_signal(signal.SIGTERM)
    _, err = grid.communicate(timeout=60)
    assert grid.returncode != 0 and "run the same command again" in err
    assert "Traceback" not in err

    resumed = subprocess.run(
        [*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    configs = expand(load_preset("tiny"), overrides={"epochs": 2})
    store, expected = RunStore(out), RunStore(reference)
    for config in configs:
        run_id = config.run_id()
        assert store.log_path(run_id).read_text().count("--- finished: completed") == 1
        assert without_timings(store.read(run_id)) == without_timings(expected.read(run_id))
    assert not list(out.rglob("*.tmp"))


def test_the_slurm_path_through_submitits_local_executor(tmp_path, capsys):
    out = tmp_path / "slurm-grid"
    code = run_all.main(
        [
            "--preset",
            "tiny",
            "--out",
            str(out),
            "--seeds",
            "1",
            "--set",
            "init_density=1.0",
            "--executor",
            "slurm",
            "--slurm-cluster",
            "local",
            "--slurm-gpus",
            "0",
            "--slurm-cpus",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    configs = expand(load_preset("tiny"), seeds=1, overrides={"init_density": 1.0})
    assert len(RunStore(out).completed(configs)) == len(configs) == 5
    assert "submitted 5 tasks" in capsys.readouterr().out
    assert list((out / "slurm").iterdir())  # submitit's job folders live beside the runs


def test_seed_plan_without_finished_runs_is_a_one_line_error(tmp_path, capsys):
    assert run_grid(tmp_path, "--seed-plan") == 2
    assert "--seed-plan needs finished runs" in capsys.readouterr().err


def test_workers_die_with_a_killed_grid(tmp_path):
    """kill -9 of run_all.py once left its workers (and the resource tracker) training on."""
    command = [sys.executable, "run_all.py", "--preset", "tiny", "--device", "cpu"]
    command += ["--workers", "2", "--set", "epochs=3", "--out", str(tmp_path / "grid")]
    grid = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: len(list((tmp_path / "grid" / "logs").glob("*.log"))) >= 2, timeout=120)
    spawned = children(grid.pid)
    assert len(spawned) >= 2  # the workers (and multiprocessing's resource tracker)
    grid.kill()
    grid.wait(timeout=30)
    wait_for(lambda: not any(alive(p) for p in spawned), timeout=30)


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped) does not count."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _grid_process(out: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "run_all.py", "--preset", "tiny", "--seeds", "1", "--out", str(out)]
    return subprocess.Popen(
        [*command, "--device", "cpu", "--workers", "1", *extra],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(process: subprocess.Popen[str], text: str) -> None:
    for line in process.stdout:
        if text in line:
            return
    raise AssertionError(f"{text!r} never printed")


def test_ctrl_c_twice_stops_the_grid_without_a_traceback(tmp_path):
    """A second Ctrl-C 30 ms after the first once broke off the pool's clean-up."""
    process = _grid_process(tmp_path / "grid", "--set", "epochs=30")
    _wait_for(process, "running ")
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    time.sleep(0.03)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted: finished runs are kept" in err


def test_signals_after_the_report_is_written_end_nothing_twice(tmp_path):
    """SIGINT every 5 ms after the last line once gave a traceback and exit 0."""
    out = tmp_path / "grid"
    assert run_all.main(["--preset", "tiny", "--seeds", "1", "--out", str(out)]) == 0
    process = _grid_process(out)  # everything stored: straight to the report
    _wait_for(process, "report: ")
    while process.poll() is None:
        process.send_signal(signal.SIGINT)
        time.sleep(0.005)
    err = process.stderr.read()
    assert process.returncode == 0 and "Traceback" not in err, err
