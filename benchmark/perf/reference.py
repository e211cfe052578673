"""Timing a reference-style pipeline (GraNet / sparselearning style) on the same model and
images as the harness: a torchvision-style data set of PIL images, `DataLoader` worker
processes running the usual CIFAR transforms, fp32, NCHW, a float mask multiply per
layer after each step and a `loss.item()` per step.

Imported by the command (`benchmark.perf.cli`); imports nothing of `benchmark.perf` but
its clock (`benchmark.perf.timing`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from benchmark.config import RunConfig
from benchmark.data.dataset import Dataset
from benchmark.models import build_model
from benchmark.perf.timing import synchronize, throughput
from benchmark.sparsity import prunable_layers


def _forever(loader: torch.utils.data.DataLoader) -> Iterator[Any]:
    """The loader's batches, pass after pass, without end."""
    while True:
        yield from loader


class ArrayCIFAR(torch.utils.data.Dataset):
    """What `torchvision.datasets.CIFAR10` is after reading its archive: uint8 NHWC images
    and a list of int labels, each image turned into a PIL image and transformed on access."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Any) -> None:
        self.data = images
        self.targets = [int(label) for label in labels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def reference_loader(
    data: Dataset, batch_size: int, workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    """Shuffled, augmented batches of `data`'s training images, made by `workers` processes."""
    from torchvision import transforms

    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(data.mean, data.std),
        ]
    )
    return torch.utils.data.DataLoader(
        ArrayCIFAR(data.x_train, data.y_train, transform),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def time_reference_training(
    config: RunConfig, data: Dataset, device: torch.device, workers: int, steps: int, warmup: int
) -> dict[str, Any]:
    """Images/s of the reference-style loop: DataLoader + PIL transforms, fp32, NCHW."""
    torch.manual_seed(config.seed)
    model = build_model(config.arch, data.num_classes, config.width).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    # sparselearning keeps float masks and multiplies every masked weight after the step.
    layers = [
        param
        for _, param in prunable_layers(
            model,
            keep_first_dense=config.keep_first_dense,
            keep_first_last_dense=config.keep_first_last_dense,
        )
    ]
    masks = [torch.ones_like(param) for param in layers]
    loader = reference_loader(data, config.batch_size, workers, device)

    def step(images: Tensor, labels: Tensor) -> float:
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, label_smoothing=config.label_smoothing)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for param, mask in zip(layers, masks, strict=True):
                param.mul_(mask)
        return loss.item()  # the reference loops' running-loss bookkeeping

    model.train()
    stream = _forever(loader)
    for _ in range(warmup):
        step(*next(stream))
    synchronize(device)
    images = 0
    start = time.perf_counter()
    for _ in range(steps):
        batch, labels = next(stream)
        step(batch, labels)
        images += len(labels)
    synchronize(device)
    seconds = time.perf_counter() - start
    del stream, loader  # stops the worker processes
    return throughput(images, seconds, steps) | {"workers": workers}
