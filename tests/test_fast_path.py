"""The fast path: resolved precision, no host synchronisation per step, torch.compile, and
the CUDA-only switches (checked on a GPU when there is one, by their logic otherwise)."""

from __future__ import annotations

import itertools
import os

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from benchmark.config import RunConfig
from benchmark.devices import compile_backend, resolve_precision
from benchmark.planning import prepare
from benchmark.train import DEFAULT_DATA_DIR, TrainingRun, make_optimizer, train
from tests.support import assert_exact_sparsity, without_timings

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Operators that make a GPU wait for the host to read a value back (`.item()`, `int()`,
# `bool()` and `float()` all reach `_local_scalar_dense`), or whose output size depends on
# data (so the host must read it before allocating).
READ_BACKS = {
    "aten::_local_scalar_dense",
    "aten::nonzero",
    "aten::masked_select",
    "aten::_unique2",
    "aten::unique_dim",
    "aten::unique_consecutive",
    "aten::repeat_interleave",
}


class ReadBackRecorder(TorchDispatchMode):
    """Records every operator in READ_BACKS, and boolean-mask indexing (a hidden nonzero)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        if name in READ_BACKS:
            self.seen.append(name)
        elif name.startswith(("aten::index", "aten::_index_put")):
            indices = args[1] if len(args) > 1 and isinstance(args[1], list | tuple) else ()
            if any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices):
                self.seen.append(f"{name} with a boolean mask")
        return func(*args, **(kwargs or {}))


def _run(config: RunConfig, **kwargs) -> TrainingRun:
    return TrainingRun(prepare(config), torch.device("cpu"), DEFAULT_DATA_DIR, **kwargs)


def test_auto_precision_is_fp32_on_the_cpu_and_the_result_says_so(tiny):
    assert RunConfig().precision == "auto"
    result = train(tiny)
    assert result["config"]["precision"] == "auto"
    assert result["execution"] == {
        "precision": "fp32",
        "compile": None,
        "channels_last": True,
        "cudnn_benchmark": False,
        "fused_optimizer": False,
    }
    small = tiny.replace(precision="bf16", epochs=1, train_limit=128, test_limit=64)
    assert train(small)["execution"]["precision"] == "bf16"
    # auto on a CPU is fp32 arithmetic: the same numbers as asking for fp32
    fp32 = train(tiny.replace(precision="fp32"))
    assert without_timings(fp32)["history"] == without_timings(result)["history"]
    assert fp32["run_id"] != result["run_id"]


def test_auto_precision_on_gpus(monkeypatch):
    """The CUDA branch of the resolution, by compute capability (no GPU needed)."""
    cuda = torch.device("cuda", 0)
    for capability, expected in [((9, 0), "bf16"), ((8, 0), "bf16"), ((7, 5), "fp32")]:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda _d, c=capability: c)
        assert resolve_precision("auto", cuda) == expected
    assert resolve_precision("fp32", cuda) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_a_resumed_run_keeps_the_precision_it_started_with(tiny):
    run = _run(tiny)
    state = run.state_dict(elapsed=0.0)
    assert state["precision"] == "fp32"
    resumed = _run(tiny)
    resumed.load_state_dict({**state, "precision": "bf16"})  # as if started on a GPU
    assert resumed.precision == "bf16"
    legacy = {k: v for k, v in state.items() if k != "precision"}  # older checkpoints
    again = _run(tiny)
    again.load_state_dict(legacy)
    assert again.precision == "fp32"


def test_a_training_step_reads_nothing_back_except_at_a_pruning_step(tiny):
    run = _run(tiny.replace(prune_start=0.5, prune_end=1.0))
    first_prune = run.pruner.plan[0].iteration
    assert first_prune >= 3
    batches = itertools.chain.from_iterable(run.train_loader.epoch(e) for e in range(100))
    run.model.train()
    run.train_step(*next(batches))  # first step: lazy optimizer state
    with ReadBackRecorder() as recorder:
        while run.iteration + 1 < first_prune:  # the plan counts iterations from 1
            loss = run.train_step(*next(batches))
    assert recorder.seen == [], recorder.seen
    assert loss.device.type == "cpu" and loss.dim() == 0
    # The recorder does see read-backs where they are needed: at the pruning step.
    with ReadBackRecorder() as recorder:
        run.train_step(*next(batches))
    assert run.pruner.log and "aten::_local_scalar_dense" in recorder.seen


def test_an_epoch_reads_back_a_bounded_number_of_values(tiny):
    """Per-epoch bookkeeping (loss, accuracy, sparsity) costs a few reads, not one per step
    or per layer: with 5 steps and 17 layers, a per-step or per-layer read would show."""
    config = tiny.replace(prune_start=0.9, prune_end=1.0, epochs=4, train_limit=320, test_limit=64)
    run = _run(config)
    assert len(run.train_loader) == 5
    with ReadBackRecorder() as recorder:
        run.train_epoch()
    assert len(recorder.seen) <= 4, recorder.seen


def test_compiled_forward_gives_the_same_run(tiny):
    """torch.compile's graph capture, run with the `eager` backend (the same kernels, so the
    same numbers bit for bit): the wrapping keeps masks, names and checkpoints intact."""
    plain = train(tiny)
    compiled = train(tiny, compile="eager")
    assert compiled["execution"]["compile"] == "eager"
    assert compiled["run_id"] == plain["run_id"]  # an execution option, not the identity
    expected = {**without_timings(plain), "execution": {**plain["execution"], "compile": "eager"}}
    assert without_timings(compiled) == expected
    assert_exact_sparsity(compiled, 0.9)
    run = _run(tiny, compile="eager")
    assert not any("_orig_mod" in key for key in run.state_dict(0.0)["model"])
    assert run.engine.names[0] == "features.0.weight"


def test_compile_option_names_a_backend():
    assert compile_backend(True) == "inductor"
    assert compile_backend(False) is None
    assert compile_backend("aot_eager") == "aot_eager"


@pytest.mark.skipif(
    os.environ.get("FGGP_SLOW_TESTS") != "1",
    reason="inductor compiles C++ kernels: about 2 minutes for one tiny VGG-19 run on a 2-core "
    "CPU; set FGGP_SLOW_TESTS=1 to run it (the eager-backend test covers the harness's side)",
)
def test_inductor_compiles_and_trains(tiny):
    config = tiny.replace(epochs=1, train_limit=128, test_limit=128)
    result = train(config, compile=True)
    assert result["status"] == "completed" and result["execution"]["compile"] == "inductor"
    assert_exact_sparsity(result, 0.9)
    plain = train(config)
    # Fused kernels round differently, so not bit for bit; but the same run, to float noise.
    assert result["final"]["test_acc"] == pytest.approx(plain["final"]["test_acc"], abs=2.0)


def test_fused_optimizer_makes_the_same_update(tiny):
    """The CUDA path's fused SGD (checked here on the CPU, where torch has it too)."""
    config = prepare(tiny)
    torch.manual_seed(0)

    def net() -> torch.nn.Module:  # a channels_last conv, as the harness's models are
        layers = [torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten()]
        return torch.nn.Sequential(*layers, torch.nn.Linear(64, 3)).to(
            memory_format=torch.channels_last
        )

    model, twin = net(), net()
    twin.load_state_dict(model.state_dict())
    optimizers = [make_optimizer(m, config, fused=f) for m, f in ((model, False), (twin, True))]
    for step in range(3):
        generator = torch.Generator().manual_seed(step)
        inputs = torch.randn(16, 3, 6, 6, generator=generator).to(memory_format=torch.channels_last)
        for net, optimizer in zip((model, twin), optimizers, strict=True):
            optimizer.zero_grad()
            net(inputs).square().mean().backward()
            optimizer.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert set(optimizers[1].state[next(twin.parameters())]) == {"momentum_buffer"}


@needs_cuda
def test_cuda_step_has_no_host_synchronisation(tiny):
    run = TrainingRun(prepare(tiny), torch.device("cuda"), DEFAULT_DATA_DIR)
    first_prune = run.pruner.plan[0].iteration
    batches = run.train_loader.epoch(0)
    for _ in range(2):  # warm-up: cuDNN autotuning synchronises
        run.train_step(*next(batches))
    assert run.iteration + 2 < first_prune
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            run.train_step(*next(batches))
    finally:
        torch.cuda.set_sync_debug_mode("default")


@needs_cuda
def test_cuda_run_uses_the_fast_path_and_stays_exact(tiny):
    result = train(tiny, device="cuda")
    execution = result["execution"]
    assert execution["channels_last"] and execution["cudnn_benchmark"]
    assert execution["fused_optimizer"]
    bf16 = torch.cuda.get_device_capability()[0] >= 8
    assert execution["precision"] == ("bf16" if bf16 else "fp32")
    assert_exact_sparsity(result, 0.9)
    fp32 = train(tiny.replace(precision="fp32"), device="cuda")
    assert fp32["execution"]["precision"] == "fp32"
    assert_exact_sparsity(fp32, 0.9)


def test_compile_flag_reaches_training_but_not_the_identity(tmp_path, monkeypatch, capsys):
    """`--compile` (run) and `compile=` (grid worker) reach `train`; the run id ignores it."""
    import benchmark.grid.execute as execute
    import benchmark.run as cli

    asked = []

    def recording_train(config, **kwargs):
        asked.append(kwargs["compile"])
        return train(config, **{**kwargs, "compile": False})  # inductor is minutes on a CPU

    monkeypatch.setattr(cli, "train", recording_train)
    monkeypatch.setattr(execute, "train", recording_train)
    flags = ["--width", "0.0625", "--dataset", "synthetic", "--epochs", "1", "--device", "cpu"]
    flags += ["--train-limit", "128", "--test-limit", "64", "--prune-steps", "2", "--quiet"]
    assert cli.main([*flags, "--compile", "--out", str(tmp_path / "a")]) == 0
    assert cli.main([*flags, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert asked == [True, False]
    assert [p.name for p in (tmp_path / "a").glob("*.json")] == [
        p.name for p in (tmp_path / "b").glob("*.json")
    ]
    config = RunConfig(
        width=0.0625, dataset="synthetic", epochs=1, train_limit=128, test_limit=64, prune_steps=2
    )
    outcome = execute.run_one(
        config.to_dict(), str(tmp_path / "grid"), "cpu", 1, execute.Execution(compile=True)
    )
    assert outcome.status == "completed" and asked[-1] is True
