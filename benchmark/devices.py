"""Which device a run trains on, and how: one check for every command and every grid
worker, and the precision, process switches, compile backend and memory figure that go
with the device.

A grid worker resolves its device too, not only the command that planned the grid: a
Slurm task can land on a node without a GPU, and torch's own error there says nothing
about which host or which setting.
"""

from __future__ import annotations

import resource
import socket

import torch

from benchmark.errors import UserError

DEVICE_TYPES = ("cpu", "cuda")
"""What the harness trains on; torch names more (mps, meta, xpu...), which it has never run."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in DEVICE_TYPES:
        raise UserError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"device {name!r} asked for, but no CUDA GPU is available on {socket.gethostname()}"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UserError(
            f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA GPU(s) "
            "are visible (cuda:0 ...)"
        )
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """The arithmetic a run uses: `auto` is bf16 on a CUDA GPU with native bf16 (compute
    capability 8.0 or later), fp32 anywhere else; `fp32` and `bf16` are taken as given."""
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8:
        return "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast for `precision == "bf16"` (a resolved precision, not `auto`)."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"resolve the precision first: got {precision!r}")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def setup_device(device: torch.device) -> None:
    """Process-wide switches for fast training on `device` (they do not change what is
    computed, only how: see docs/performance.md)."""
    if device.type == "cpu":
        # Weight decay drives small weights into the denormal range, where CPU arithmetic
        # is 10-100x slower; flushing them to zero changes no result we could measure.
        torch.set_flush_denormal(True)
    if device.type == "cuda":
        # Autotuned convolution algorithms: faster, but the choice can differ between
        # processes, so GPU runs are not bitwise repeatable (they never were: several
        # cuDNN backward kernels are non-deterministic anyway).
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)


def compile_backend(compile: bool | str) -> str | None:
    """`--compile` as a torch.compile backend name: True is inductor, False is none."""
    if compile is True:
        return "inductor"
    if compile is False or compile is None:
        return None
    if not isinstance(compile, str) or not compile:
        raise UserError(f"compile must be true, false or a torch.compile backend, got {compile!r}")
    return compile


def peak_memory_bytes(device: torch.device) -> int:
    """Peak device memory on a GPU; on the CPU, the process's peak resident set size."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
