from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.errors import UserError
from benchmark.models import ARCHS, build_model


def _prunable(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def test_archs() -> None:
    assert ARCHS == ("vgg19", "resnet50")


@pytest.mark.parametrize(
    ("arch", "paper_count", "exact_count", "convs", "projections"),
    [
        # Conv weights 20,018,880 + conv biases 5,504 + BN 2*5,504 + linear 512*10+10
        # (the released VGG-19-BN has conv biases).
        ("vgg19", 20.0e6, 20_040_522, 16, 0),
        # Conv weights 23,447,232 + BN 2*26,560 + linear 2048*10 (GraNet's has no bias).
        ("resnet50", 23.5e6, 23_520_832, 53, 4),
    ],
)
def test_full_width_matches_paper(
    arch: str, paper_count: float, exact_count: int, convs: int, projections: int
) -> None:
    model = build_model(arch, num_classes=10)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - paper_count) <= 0.01 * paper_count
    assert count == exact_count
    layers = _prunable(model)
    assert sum(isinstance(m, nn.Conv2d) for m in layers.values()) == convs
    assert sum(".shortcut." in n for n in layers) == projections
    assert [n for n, m in layers.items() if isinstance(m, nn.Linear)] == ["classifier"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("num_classes", [10, 100])
def test_output_shape(arch: str, num_classes: int) -> None:
    model = build_model(arch, num_classes, width=0.125)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, num_classes)


@pytest.mark.parametrize("arch", ARCHS)
def test_larger_inputs_and_other_channel_counts(arch: str) -> None:
    model = build_model(arch, 10, width=0.125, in_channels=1)
    assert model(torch.randn(2, 1, 64, 96)).shape == (2, 10)


def test_width_scales_vgg_channels() -> None:
    layers = _prunable(build_model("vgg19", 10, width=0.125))
    assert layers["features.0"].weight.shape == (8, 3, 3, 3)
    assert layers["features.3"].weight.shape == (8, 8, 3, 3)
    assert layers["classifier"].weight.shape == (10, 64)
    # round(64 * 0.3) = 19; tiny widths keep at least one channel.
    assert _prunable(build_model("vgg19", 10, width=0.3))["features.0"].weight.shape[0] == 19
    assert _prunable(build_model("vgg19", 10, width=1e-3))["classifier"].weight.shape == (10, 1)


def test_width_scales_resnet_planes_not_expansion() -> None:
    layers = _prunable(build_model("resnet50", 10, width=0.5))
    assert layers["conv1"].weight.shape == (32, 3, 3, 3)
    assert layers["layer1.0.conv1"].weight.shape == (32, 32, 1, 1)
    assert layers["layer1.0.conv3"].weight.shape == (128, 32, 1, 1)
    assert layers["layer2.0.conv2"].weight.shape == (64, 64, 3, 3)
    assert layers["layer2.0.conv2"].stride == (2, 2)
    assert layers["layer4.0.shortcut.0"].weight.shape == (1024, 512, 1, 1)
    assert layers["classifier"].weight.shape == (10, 1024)


@pytest.mark.parametrize("arch", ARCHS)
def test_seed_determines_weights(arch: str) -> None:
    def state(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        return build_model(arch, 10, width=0.125).state_dict()

    first, again, other = state(0), state(0), state(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    # Conv and linear weights are the random ones (BN starts at exactly 1 and 0).
    random = [k for k, v in first.items() if v.dim() > 1]
    assert random and all(not torch.equal(first[k], other[k]) for k in random)


def test_vgg_has_the_released_initialisation() -> None:
    """archs/cifar10/vgg.py 36-49: conv N(0, sqrt(2 / (k*k*in_channels))), linear N(0, 0.01),
    every bias 0, BatchNorm at identity."""
    torch.manual_seed(0)
    layers = dict(build_model("vgg19", 10).named_modules())
    conv = layers["features.40"]
    assert isinstance(conv, nn.Conv2d) and conv.bias is not None
    fan_in = conv.in_channels * 9
    assert conv.weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.02)
    assert torch.equal(conv.bias, torch.zeros(512))
    first = layers["features.0"]
    assert first.weight.std().item() == pytest.approx((2 / 27) ** 0.5, rel=0.1)
    assert layers["classifier"].weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.equal(layers["classifier"].bias, torch.zeros(10))
    assert torch.equal(layers["features.1"].weight, torch.ones(64))
    assert torch.equal(layers["features.1"].bias, torch.zeros(64))


def test_resnet_keeps_pytorchs_default_initialisation() -> None:
    """GraNet's CIFAR ResNet-50 applies no initialisation of its own: PyTorch's default for
    Conv2d/Linear is kaiming_uniform(a=sqrt(5)), uniform within 1/sqrt(fan_in)."""
    torch.manual_seed(0)
    layers = dict(build_model("resnet50", 10).named_modules())
    conv = layers["layer4.0.conv2"]
    bound = 1 / (conv.in_channels * 9) ** 0.5
    assert conv.weight.abs().max().item() <= bound
    assert conv.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.02)
    assert layers["classifier"].bias is None


def test_unknown_arch() -> None:
    with pytest.raises(UserError, match=r"unknown arch 'x'; choose from: vgg19, resnet50"):
        build_model("x", 10)


@pytest.mark.parametrize("width", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_width(width: float) -> None:
    with pytest.raises(UserError, match="width"):
        build_model("vgg19", 10, width=width)


@pytest.mark.parametrize("arch", ARCHS)
def test_channels_last_and_bf16_autocast_train_step(arch: str) -> None:
    model = build_model(arch, 10, width=0.125).to(memory_format=torch.channels_last)
    images = torch.randn(4, 3, 32, 32).to(memory_format=torch.channels_last)
    labels = torch.tensor([0, 1, 2, 3])
    nn.functional.cross_entropy(model(images), labels).backward()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_bad_class_or_channel_count() -> None:
    with pytest.raises(UserError, match="num_classes"):
        build_model("resnet50", 0)
