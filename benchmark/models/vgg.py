"""VGG-19 with batch norm, in the CIFAR form used by the GraNet and FGGP experiments.

The CIFAR variant drops ImageNet VGG's three wide fully connected layers: after the
fifth block a 32x32 image is a 2x2 map, which is averaged to 1x1 and read by a single
linear layer. That head is why the model has 20.0M parameters instead of 143M.

The average pool is adaptive (to 1x1) rather than the papers' fixed 2x2 window: on
32x32 inputs the two are the same operation, and the adaptive one keeps the classifier
valid for any input side that is a multiple of 32 instead of failing on the flatten.
"""

from __future__ import annotations

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
                    # No bias: the BatchNorm that follows has its own shift.
                    nn.Conv2d(channels, out_channels, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                ]
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def vgg19(num_classes: int, in_channels: int, scale: Callable[[int], int]) -> VGG:
    """VGG-19-BN with every conv's channel count passed through `scale` (the width rule)."""
    blocks = tuple(tuple(scale(c) for c in block) for block in VGG19_BLOCKS)
    return VGG(blocks, num_classes, in_channels)
