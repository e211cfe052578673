"""How the timing jobs of `benchmark.perf` read the clock: waiting for the device, and the
throughput record that the harness and the reference pipeline both report, computed one
way so that their ratio means something.

Imported by the harness and reference-pipeline timings; imports nothing of `benchmark.perf`.
"""

from __future__ import annotations

from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU, which does it at once)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(images: int, seconds: float, steps: int) -> dict[str, Any]:
    """What both pipelines' timings report, computed the same way for the ratio to mean much."""
    return {
        "images": images,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "step_ms": 1000.0 * seconds / steps,
    }
