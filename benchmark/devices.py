"""Which device a run trains on: one check for every command and every grid worker.

A grid worker resolves its device too, not only the command that planned the grid: a
Slurm task can land on a node without a GPU, and torch's own error there says nothing
about which host or which setting.
"""

from __future__ import annotations

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
