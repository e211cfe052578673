"""VGG-19 with batch norm, in the CIFAR form of the FGGP authors' released code.

The CIFAR variant drops ImageNet VGG's three wide fully connected layers: after the
fifth block a 32x32 image is a 2x2 map, which is averaged to 1x1 and read by a single
linear layer. That head is why the model has 20.0M parameters instead of 143M.

As released (archs/cifar10/vgg.py 21-65): every convolution has a bias (GraNet's VGG has
none), and the initialisation is conv weights normal with std sqrt(2 / (k*k*in_channels)),
linear weights normal with std 0.01, all biases 0, BatchNorm at identity.

The average pool is adaptive (to 1x1) rather than the papers' fixed 2x2 window: on
32x32 inputs the two are the same operation, and the adaptive one keeps the classifier
valid for any input side that is a multiple of 32 instead of failing on the flatten.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor, nn

# Output channels of each conv, grouped into the five blocks that a max pool ends.
VGG19_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256, 256),
    (512, 512, 512, 512),
    (512, 512, 512, 512),
)


class VGG(nn.Module):
    """Conv-BN-ReLU blocks, max pools between them, global average pool, one linear layer.

    `features` is a flat Sequential so conv names match the usual CIFAR VGG checkpoints
    (`features.0`, `features.3`, ...) and the classifier is `classifier`.
    """

    def __init__(
        self, blocks: tuple[tuple[int, ...], ...], num_classes: int, in_channels: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for index, block in enumerate(blocks):
            if index > 0:
                layers.append(nn.MaxPool2d(2))
            for out_channels in block:
                layers += [
                    nn.Conv2d(channels, out_channels, 3, padding=1),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                ]
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.kernel_size[0] * module.kernel_size[1] * module.in_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_in))
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def vgg19(num_classes: int, in_channels: int, scale: Callable[[int], int]) -> VGG:
    """VGG-19-BN with every conv's channel count passed through `scale` (the width rule)."""
    blocks = tuple(tuple(scale(c) for c in block) for block in VGG19_BLOCKS)
    return VGG(blocks, num_classes, in_channels)
