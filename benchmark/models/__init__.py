"""Architecture registry: the one place that turns a user's arch name and width into a model.

Width is applied here, once, so both architectures follow the same rule: every channel
count c becomes max(1, round(c * width)). Each architecture initialises itself as the
code it follows does (docs/methods.md), drawing only from torch's global RNG, so
`torch.manual_seed(s)` before `build_model` fixes the initial weights. Imported by
`planning`, `train`, the grid's presets and the CLI support (to check an arch name) and
`perf`; it imports only `errors`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from benchmark.errors import UserError
from benchmark.models.resnet import resnet50
from benchmark.models.vgg import vgg19

_BUILDERS: dict[str, Callable[[int, int, Callable[[int], int]], nn.Module]] = {
    "vgg19": vgg19,
    "resnet50": resnet50,
}
ARCHS: tuple[str, ...] = tuple(_BUILDERS)


def build_model(arch: str, num_classes: int, width: float = 1.0, in_channels: int = 3) -> nn.Module:
    """Build `arch` with freshly initialised weights; width 1.0 is the paper's model."""
    if arch not in _BUILDERS:
        raise UserError(f"unknown arch {arch!r}; choose from: {', '.join(ARCHS)}")
    if not (math.isfinite(width) and width > 0):
        raise UserError(f"width must be a positive number, got {width}")
    if num_classes < 1 or in_channels < 1:
        raise UserError(
            f"num_classes and in_channels must be at least 1, got {num_classes}, {in_channels}"
        )

    def scale(channels: int) -> int:
        return max(1, round(channels * width))

    return _BUILDERS[arch](num_classes, in_channels, scale)
