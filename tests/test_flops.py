from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import pytest
import torch
from torch import nn

from benchmark.flops import inference_macs, layer_geometry
from benchmark.models import build_model


def _tiny() -> nn.Module:
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(3, 4, 3, padding=1),  # 8x8 out, 108 weights
            relu=nn.ReLU(),
            conv2=nn.Conv2d(4, 6, 3, stride=2, padding=1),  # 4x4 out, 216 weights
            flatten=nn.Flatten(),
            fc=nn.Linear(6 * 4 * 4, 5),  # 480 weights
        )
    )


def _dense(model: nn.Module, names: dict[str, int]) -> dict[str, int]:
    return {n: m.weight.numel() for n, m in model.named_modules() if n in names}


def test_tiny_model_geometry_and_macs() -> None:
    model = _tiny()
    positions = layer_geometry(model, (3, 8, 8))
    assert positions == {"conv1": 64, "conv2": 16, "fc": 1}
    # 108*64 + 216*16 + 480*1
    assert inference_macs(positions, _dense(model, positions)) == 6912 + 3456 + 480
    # Only surviving weights count: 50*64 + 100*16 + 200*1.
    assert inference_macs(positions, {"conv1": 50, "conv2": 100, "fc": 200}) == 5000


def test_layer_called_twice_counts_twice() -> None:
    conv = nn.Conv2d(2, 2, 3, padding=1)
    model = nn.Sequential(OrderedDict(a=conv, b=nn.ReLU(), c=conv))
    assert layer_geometry(model, (2, 4, 4)) == {"a": 32}


def test_train_flags_and_bn_statistics_are_restored() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout())
    model.train()
    model[2].eval()
    before = model[1].running_mean.clone()
    layer_geometry(model, (3, 5, 5))
    assert [m.training for m in model] == [True, True, False]
    assert torch.equal(model[1].running_mean, before)


def test_grouped_conv_raises() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="grouped"):
        layer_geometry(model, (4, 8, 8))


def test_mismatched_layer_names_raise() -> None:
    with pytest.raises(ValueError, match="conv2"):
        inference_macs({"conv1": 64, "conv2": 16}, {"conv1": 108})


def _vgg19_cifar_macs(num_classes: int) -> int:
    """By hand: a 3x3 conv costs 9*c_in*c_out per output pixel; pools halve the side."""
    macs, c_in, side = 0, 3, 32
    for block in ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4):
        for c_out in block:
            macs += 9 * c_in * c_out * side * side
            c_in = c_out
        side //= 2
    return macs + 512 * num_classes


def _resnet50_cifar_macs(num_classes: int) -> int:
    """By hand: the 1x1 reduce runs at the block's input side, the rest at its output side."""
    side = 32
    macs = 9 * 3 * 64 * side * side
    c_in = 64
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for block in range(blocks):
            out_side = side // (stride if block == 0 else 1)
            macs += c_in * planes * side * side
            macs += 9 * planes * planes * out_side * out_side
            macs += planes * 4 * planes * out_side * out_side
            if c_in != 4 * planes or out_side != side:
                macs += c_in * 4 * planes * out_side * out_side
            c_in, side = 4 * planes, out_side
    return macs + 2048 * num_classes


@pytest.mark.parametrize(
    ("arch", "by_formula", "expected"),
    [
        # Per block: 1024*38,592 + 256*221,184 + 64*2,064,384 + 16*8,257,536
        # + 4*9,437,184 conv MACs, plus 5,120 for the classifier.
        ("vgg19", _vgg19_cifar_macs, 398_136_320),
        # Stem 1,769,472; stages 218,103,808 + 335,544,320 + 478,150,656
        # + 264,241,152; classifier 20,480.
        ("resnet50", _resnet50_cifar_macs, 1_297_829_888),
    ],
)
def test_dense_full_width_macs(arch: str, by_formula: Callable[[int], int], expected: int) -> None:
    assert by_formula(10) == expected
    model = build_model(arch, num_classes=10)
    positions = layer_geometry(model, (3, 32, 32))
    assert inference_macs(positions, _dense(model, positions)) == expected
