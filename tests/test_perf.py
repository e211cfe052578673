"""The performance benchmark's script at tiny size on the CPU: it runs, and its figures are
positive and consistent with each other and with the harness (not a timing test)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torchvision import transforms

from benchmark import flops
from benchmark.data.loader import DeviceLoader
from benchmark.models import build_model
from benchmark.perf.cli import SCHEMA, main
from benchmark.perf.figures import device_peak
from benchmark.perf.reference import ArrayCIFAR, reference_loader
from benchmark.perf.workload import stand_in_data
from benchmark.schedule import prune_plan
from benchmark.sparsity import SparsityEngine

TINY = ["--width", "0.0625", "--device", "cpu", "--images", "512", "--eval-images", "200"]


def _figures(tmp_path, capsys, *extra: str) -> tuple[dict, str]:
    out = tmp_path / "perf.json"
    code = main([*TINY, "--json", str(out), *extra])
    printed = capsys.readouterr().out
    assert code == 0, printed
    return json.loads(out.read_text()), printed


def test_tiny_benchmark_figures_are_consistent(tmp_path, capsys):
    figures, printed = _figures(
        tmp_path, capsys, "--arch", "vgg19", "--steps", "2", "--warmup", "1", "--ref-workers", "1"
    )
    assert figures["schema"] == SCHEMA and figures["device_type"] == "cpu"
    assert figures["command"][:3] == ["python", "-m", "benchmark.perf"]
    assert "not a GPU" in printed
    row = figures["archs"]["vgg19"]
    harness, reference, prune = row["harness"], row["reference"], row["prune_step"]
    assert row["precision"] == "fp32" and reference["workers"] == 1

    # dense forward MACs: the harness's own count of this model
    model = build_model("vgg19", 10, 0.0625)
    dense = {name.removesuffix(".weight"): p.numel() for name, p in model.named_parameters()}
    positions = flops.layer_geometry(model, (3, 32, 32))
    macs = flops.inference_macs(positions, {k: dense[k] for k in positions})
    assert row["dense_forward_macs"] == macs

    for side in (harness, reference):
        assert side["images_per_s"] > 0 and math.isfinite(side["images_per_s"])
        assert side["epoch_seconds"] == pytest.approx(50_000 / side["images_per_s"])
        assert side["model_flops_per_s"] == pytest.approx(6 * macs * side["images_per_s"])
        assert side["peak_flops_per_s"] is None and side["fraction_of_peak"] is None
    assert row["ratio"] == pytest.approx(harness["images_per_s"] / reference["images_per_s"])
    assert harness["eval_seconds"] == pytest.approx(10_000 / harness["eval_images_per_s"])
    assert harness["epoch_with_eval_seconds"] == pytest.approx(
        harness["epoch_seconds"] + harness["eval_seconds"]
    )

    # the pruning step removes exactly the first planned step's weights, globally: the
    # released recipe's 50 steps over its first 80%, here of 160 epochs x 8 batches of 64
    assert figures["settings"]["batch_size"] == 64
    engine = SparsityEngine(model, keep_first_dense=True)
    plan = prune_plan(
        total_iterations=160 * 8,
        start=0.0,
        end=0.8,
        n_steps=50,
        every=0,
        initial_active=engine.n_prunable,
        n_prunable=engine.n_prunable,
        final_density=0.05,
    )
    assert prune["prunable_weights"] == engine.n_prunable
    assert prune["pruned"] == engine.n_prunable - plan[0].target_active > 0
    assert prune["seconds"] > 0 and prune["steps_per_run"] == 50
    assert prune["fraction_of_epoch"] == pytest.approx(
        prune["seconds"] / harness["epoch_with_eval_seconds"]
    )
    assert prune["fraction_of_run"] == pytest.approx(
        50 * prune["seconds"] / (160 * harness["epoch_with_eval_seconds"])
    )

    # the paper grid: 186 runs, half per arch; only the measured arch is projected
    grid = figures["grid"]
    assert grid["runs"] == 186 and grid["missing_archs"] == ["resnet50"]
    assert grid["device_hours"] is None and not grid["paper_settings"]
    vgg = grid["per_arch"]["vgg19"]
    # every pruning run: 50 steps (2000, 4000, ... 100,000 at batch 64); GraNet's 18 runs
    # also update every 1000 iterations of 125,120: 125 updates, 50 of them on those steps
    assert (vgg["runs"], vgg["run_epochs"]) == (93, 93 * 160)
    assert vgg["pruning_steps"] == 72 * 50 + 18 * 125
    assert vgg["seconds"] == pytest.approx(
        vgg["run_epochs"] * harness["epoch_with_eval_seconds"]
        + vgg["pruning_steps"] * prune["seconds"]
    )
    assert "not projected, measure resnet50" in printed


def test_concurrent_runs_report_their_aggregate(tmp_path, capsys):
    figures, printed = _figures(
        tmp_path,
        capsys,
        *("--arch", "resnet50", "--steps", "1", "--warmup", "1"),
        *("--ref-workers", "0", "--runs-per-gpu", "2"),
    )
    row = figures["archs"]["resnet50"]
    shared = row["concurrent"]
    assert shared["runs"] == 2 and len(shared["per_run_images_per_s"]) == 2
    assert shared["train_images_per_s"] > 0 and shared["eval_images_per_s"] > 0
    assert shared["speedup_over_one_run"] == pytest.approx(
        shared["train_images_per_s"] / row["harness"]["images_per_s"]
    )
    # the aggregate spans both windows, so it is at most the sum of the runs' own rates
    assert shared["train_images_per_s"] <= sum(shared["per_run_images_per_s"]) * (1 + 1e-9)
    projected = figures["grid"]["per_arch"]["resnet50"]
    assert projected["runs_per_gpu"] == 2
    epoch = 50_000 / shared["train_images_per_s"] + 10_000 / shared["eval_images_per_s"]
    assert projected["epoch_with_eval_seconds"] == pytest.approx(epoch)
    assert "2 concurrent runs" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "--steps must be at least 1"),
        (["--runs-per-gpu", "0"], "--runs-per-gpu must be at least 1"),
        (["--width", "nan"], "--width must be a positive number"),
        (["--steps", "640"], "would reach the first pruning step"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main([*TINY, "--arch", "vgg19", "--ref-workers", "0", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_no_gpu_and_unwritable_output_are_clear_errors(tmp_path, capsys):
    if not torch.cuda.is_available():
        assert main([*TINY, "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([*TINY, "--json", str(blocker / "perf.json")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "precision", "label", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "bf16", "H100 SXM dense bf16", 989e12),
        ("NVIDIA H100 PCIe", "bf16", "H100 PCIe dense bf16", 756e12),
        ("NVIDIA H200", "bf16", "H200 SXM dense bf16", 989e12),
        ("NVIDIA H200 NVL", "fp32", "H200 NVL dense tf32", 418e12),
        ("NVIDIA A100-SXM4-80GB", "fp32", "A100 dense tf32", 156e12),
        ("Tesla V100-SXM2-16GB", "bf16", None, None),
    ],
)
def test_device_peaks_by_name(monkeypatch, name, precision, label, peak):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda _device=None: name)
    assert device_peak(torch.device("cuda"), precision) == (label, peak)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    if peak is not None and precision == "fp32":
        assert device_peak(torch.device("cuda"), "fp32")[0].endswith("dense fp32")
    assert device_peak(torch.device("cpu"), precision) == (None, None)


def test_reference_pipeline_normalises_like_the_harness():
    """Both pipelines feed the model the same numbers for the same image (augmentation
    aside): ToTensor + Normalize equals the device loader's folded multiply-add."""
    data = stand_in_data(64, 8)
    loader = DeviceLoader(
        data.x_train[:16],
        data.y_train[:16],
        data.mean,
        data.std,
        batch_size=16,
        device=torch.device("cpu"),
        augment=False,
        seed=0,
    )
    harness_batch, labels = next(loader.eval_batches())
    plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize(data.mean, data.std)])
    dataset = ArrayCIFAR(data.x_train[:16], data.y_train[:16], plain)
    reference_batch = torch.stack([dataset[i][0] for i in range(16)])
    torch.testing.assert_close(harness_batch, reference_batch, rtol=1e-5, atol=1e-5)
    assert labels.tolist() == [dataset[i][1] for i in range(16)]
    augmented = reference_loader(data, 8, 0, torch.device("cpu"))
    images, targets = next(iter(augmented))
    assert images.shape == (8, 3, 32, 32) and images.dtype == torch.float32
    assert targets.dtype == torch.int64 and np.isin(targets.numpy(), range(10)).all()
