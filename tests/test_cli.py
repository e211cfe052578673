"""The command line: flags, TOML config, the result file, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.run import main
from tests.support import TINY_RUN

ROOT = Path(__file__).resolve().parents[1]
TINY_FLAGS = [
    "--arch",
    "vgg19",
    "--width",
    "0.0625",
    "--dataset",
    "synthetic",
    "--epochs",
    "1",
    "--batch-size",
    "64",
    "--train-limit",
    "256",
    "--test-limit",
    "128",
    "--prune-steps",
    "3",
    "--device",
    "cpu",
]


def test_run_writes_its_result_under_its_hash(tmp_path, capsys):
    out = tmp_path / "runs"
    code = main(
        [
            *TINY_FLAGS,
            "--method",
            "fggp",
            "--method-param",
            "select_ratio=0.25",
            "--target-sparsity",
            "0.8",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    files = list(out.glob("*.json"))
    assert len(files) == 1
    result = json.loads(files[0].read_text())
    assert files[0].stem == result["run_id"]
    expected = TINY_RUN.replace(method_params={"select_ratio": 0.25}, target_sparsity=0.8)
    assert result["run_id"] == expected.run_id()
    printed = capsys.readouterr().out
    assert "epoch    1/1" in printed and files[0].name in printed
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind


def test_quiet_and_toml_config_with_flag_override(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        'method = "annealed_hybrid"\ntarget_sparsity = 0.7\n[method_params]\nfinal_rate = 0.5\n'
    )
    out = tmp_path / "runs"
    assert (
        main(
            [
                *TINY_FLAGS,
                "--config",
                str(config),
                "--target-sparsity",
                "0.6",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    result = json.loads(next(out.glob("*.json")).read_text())
    assert result["config"]["method"] == "annealed_hybrid"
    assert result["config"]["target_sparsity"] == 0.6
    assert result["config"]["method_params"] == {"rate": 0.5, "final_rate": 0.5}
    assert "epoch" not in capsys.readouterr().out


def test_a_recipe_is_the_base_that_flags_override(tmp_path):
    out = tmp_path / "runs"
    code = main([*TINY_FLAGS, "--recipe", "released", "--prune-every", "0", "--out", str(out)])
    assert code == 0
    config = json.loads(next(out.glob("*.json")).read_text())["config"]
    # from the recipe
    assert config["label_smoothing"] == 0.1 and config["keep_first_dense"] is True
    assert config["prune_end"] == 0.8 and config["lr_milestones"] == [0.5, 0.75]
    # from the flags, over the recipe's batch 64, 160 epochs and pruning every 2000
    assert (config["batch_size"], config["epochs"], config["prune_every"]) == (64, 1, 0)
    assert config["prune_steps"] == 3


def bad_npz(tmp_path: Path) -> Path:
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((4, 8, 8, 3), np.uint8), y_train=np.zeros(4, np.int64))
    return path


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--target-sparsity", "1.0"], "target sparsity must be in [0, 1)"),
        (["--target-sparsity", "0.9", "--init-density", "0.05"], "below the target density"),
        (["--method", "snip"], "unknown method 'snip'"),
        (["--arch", "vgg11"], "unknown arch 'vgg11'"),
        (["--dataset", "imagenet"], "imagenet"),
        (["--dataset", "npz:/nonexistent/file.npz"], "/nonexistent/file.npz"),
        (["--method-param", "ratio=0.3"], "has no parameter(s) ratio"),
        (["--config", "/nonexistent/run.toml"], "config file not found"),
        (["--recipe", "paper"], "unknown recipe 'paper'; choose from: granet_style, released"),
        (["--recipe", "released"], "leaves no pruning step"),
        (
            ["--device", "cuda:0"]
            if not __import__("torch").cuda.is_available()
            else ["--device", "tpu"],
            "device",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, flags, message):
    code = main([*TINY_FLAGS, "--out", str(tmp_path / "runs"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err


def test_corrupt_npz_and_unwritable_output(tmp_path, capsys):
    assert (
        main(
            [*TINY_FLAGS, "--dataset", f"npz:{bad_npz(tmp_path)}", "--out", str(tmp_path / "runs")]
        )
        == 2
    )
    assert "bad.npz" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([*TINY_FLAGS, "--out", str(blocker / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write to output folder") and err.count("\n") == 1


def test_subprocess_help_and_error_have_no_traceback(tmp_path):
    command = [sys.executable, "-m", "benchmark.run"]
    shown = subprocess.run([*command, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert shown.returncode == 0 and "--target-sparsity" in shown.stdout
    assert "annealed_hybrid" in shown.stdout
    failed = subprocess.run(
        [*command, "--target-sparsity", "1.5", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1


def test_cifar10_without_archive_or_network_names_the_path(tmp_path, capsys, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert (
        main(
            [
                *TINY_FLAGS,
                "--dataset",
                "cifar10",
                "--data-dir",
                str(tmp_path / "cache"),
                "--out",
                str(tmp_path / "runs"),
            ]
        )
        == 2
    )
    *progress, error = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in progress] == ["downloading"]
    assert error.startswith("error: ")
    assert str(tmp_path / "cache" / "cifar-10-python.tar.gz") in error
    assert "npz:" in error and "synthetic" in error
