"""ResNet-50 in the CIFAR form of GraNet (VITA-Group/GraNet, CIFAR/sparselearning/
resnet_cifar100.py 39-108), which the FGGP experiments follow.

The released FGGP script builds its ResNet-50 with `resnet.resnet(depth=50, ...)`, which
its own archs/cifar10/resnet.py does not define, so that path does not run; GraNet's
CIFAR ResNet-50 is the one its grid was measured with. The CIFAR variant replaces
ImageNet's 7x7 stride-2 stem and max pool with one 3x3 stride-1 conv, so a 32x32 image
keeps full resolution through the first stage and ends as a 4x4 map; the stride sits on
the 3x3 conv ("ResNet v1.5"); the classifier has no bias; every layer keeps PyTorch's
default initialisation (GraNet applies none of its own to this model). 23.5M parameters
for 10 classes.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

EXPANSION = 4
RESNET50_STAGES: tuple[tuple[int, int, int], ...] = (
    # (planes, blocks, stride of the first block)
    (64, 3, 1),
    (128, 4, 2),
    (256, 6, 2),
    (512, 3, 2),
)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride), 1x1 expand; projection shortcut on shape change."""

    def __init__(self, in_channels: int, planes: int, stride: int) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """3x3 stem, bottleneck stages `layer1`..`layer4`, global average pool, `classifier`.

    The stem has as many channels as the first stage's planes (64 at full width), as in
    the reference implementations.
    """

    def __init__(
        self, stages: tuple[tuple[int, int, int], ...], num_classes: int, in_channels: int
    ) -> None:
        super().__init__()
        channels = stages[0][0]
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        for index, (planes, blocks, stride) in enumerate(stages, start=1):
            layer = []
            for block in range(blocks):
                layer.append(Bottleneck(channels, planes, stride if block == 0 else 1))
                channels = planes * EXPANSION
            self.add_module(f"layer{index}", nn.Sequential(*layer))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.classifier(self.pool(out).flatten(1))


def resnet50(num_classes: int, in_channels: int, scale: Callable[[int], int]) -> ResNet:
    """ResNet-50 with the planes (and so the stem and expanded widths) passed through `scale`."""
    stages = tuple((scale(planes), blocks, stride) for planes, blocks, stride in RESNET50_STAGES)
    return ResNet(stages, num_classes, in_channels)
