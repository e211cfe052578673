"""Training batches produced on the device itself, with no per-image Python work.

A CIFAR-sized training set fits in device memory as uint8, so it is copied there once and
each batch is a gather plus arithmetic on the device. Every random draw of an epoch comes
from a CPU generator seeded by (seed, epoch) alone, which makes the batch sequence the same
on CPU and GPU, the same for every pruning method run with one seed (paired comparisons),
and independent of how many epochs ran before (a resumed run sees the same batches).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from benchmark.errors import UserError

# torchvision RandomCrop(size, padding=4): zero padding, crop back to the original size.
PAD = 4


@dataclass(frozen=True)
class EpochPlan:
    """What one epoch draws: `order[k]` is the k-th image served; it is cropped at rows
    `dy[k]`.. and columns `dx[k]`.. of the zero-padded image and mirrored if `flip[k]`."""

    order: Tensor
    dy: Tensor
    dx: Tensor
    flip: Tensor


def epoch_plan(num_images: int, seed: int, epoch: int) -> EpochPlan:
    """The permutation and augmentation parameters of one training epoch (CPU tensors)."""
    generator = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
    order = torch.randperm(num_images, generator=generator)
    offsets = torch.randint(0, 2 * PAD + 1, (2, num_images), generator=generator)
    flip = torch.randint(0, 2, (num_images,), generator=generator).bool()
    return EpochPlan(order, offsets[0], offsets[1], flip)


def _epoch_seed(seed: int, epoch: int) -> int:
    # A hash rather than seed + epoch, so that runs with neighbouring seeds do not replay
    # each other's epochs shifted by one.
    digest = hashlib.sha256(f"device-loader:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class DeviceLoader:
    """Training data resident on the device as one uint8 tensor; batched augmentation there.

    `epoch(e)` serves the order and augmentation of `epoch_plan(seed, e)`;
    `eval_batches()` serves every image once, in stored order, unaugmented.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        mean: Sequence[float],
        std: Sequence[float],
        batch_size: int,
        device: torch.device,
        augment: bool,
        seed: int,
        drop_last: bool = False,
        shuffle: bool | None = None,
    ) -> None:
        """`shuffle` defaults to `augment`: evaluation wants neither, while training without
        augmentation still wants a fresh order each epoch (pass `shuffle=True`)."""
        if images.ndim != 4 or images.dtype != np.uint8 or len(labels) != len(images):
            raise ValueError("expected uint8 NHWC images and one label per image")
        if not len(mean) == len(std) == images.shape[-1]:
            raise ValueError(f"need one mean and std per channel, images have {images.shape[-1]}")
        if batch_size < 1:
            raise UserError(f"batch size must be at least 1, got {batch_size}")
        if drop_last and batch_size > len(images):
            raise UserError(
                f"batch size {batch_size} exceeds the {len(images)} training images, "
                f"so an epoch would have no full batch"
            )
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = augment if shuffle is None else shuffle
        self.seed = seed
        self.drop_last = drop_last
        # np.array copies: the dataset's arrays are read-only and torch wants writable memory.
        self.images = torch.from_numpy(np.array(images)).to(self.device)
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64)).to(self.device)
        std_255 = torch.tensor(std, dtype=torch.float32) * 255.0
        # x * scale + shift == (x / 255 - mean) / std, folded into one multiply-add.
        self._scale = (1.0 / std_255).to(self.device)
        self._shift = (-torch.tensor(mean, dtype=torch.float32) * 255.0 / std_255).to(self.device)
        height, width = images.shape[1:3]
        self._rows = torch.arange(height, device=self.device)
        self._cols = torch.arange(width, device=self.device)

    def __len__(self) -> int:
        """Batches per epoch."""
        count = len(self.images)
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)

    def epoch(self, epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        """Batches of epoch `epoch`: in `epoch_plan` order if shuffling, cropped and mirrored
        if augmenting, else in stored order."""
        if not (self.shuffle or self.augment):
            yield from self._in_order(self.batch_size, self.drop_last)
            return
        plan = epoch_plan(len(self.images), self.seed, epoch)
        # One host-to-device copy per epoch; batches then slice on the device. From pinned
        # memory the copy is asynchronous: the GPU need not drain its queue at an epoch start.
        order, dy, dx, flip = (
            self._pinned(t).to(self.device, non_blocking=True)
            for t in (plan.order, plan.dy, plan.dx, plan.flip)
        )
        if not self.shuffle:
            order = torch.arange(len(self.images), device=self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            part = slice(start, start + self.batch_size)
            index = order[part]
            batch = self.images[index]
            if self.augment:
                batch = self._crop_flip(batch, dy[part], dx[part], flip[part])
            yield self._normalise(batch), self.labels[index]

    def _pinned(self, tensor: Tensor) -> Tensor:
        return tensor.pin_memory() if self.device.type == "cuda" else tensor

    def eval_batches(self, batch_size: int | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        """All images in order, unaugmented, every image once (`batch_size` may be large)."""
        yield from self._in_order(batch_size or self.batch_size, drop_last=False)

    def _in_order(self, batch_size: int, drop_last: bool) -> Iterator[tuple[Tensor, Tensor]]:
        count = len(self.images)
        end = count - count % batch_size if drop_last else count
        for start in range(0, end, batch_size):
            part = slice(start, start + batch_size)
            yield self._normalise(self.images[part]), self.labels[part]

    def _crop_flip(self, batch: Tensor, dy: Tensor, dx: Tensor, flip: Tensor) -> Tensor:
        """Random crop with zero padding, then mirror, as a single advanced-indexing gather."""
        padded = torch.nn.functional.pad(batch, (0, 0, PAD, PAD, PAD, PAD))
        width = batch.shape[2]
        cols = torch.where(flip[:, None], width - 1 - self._cols, self._cols)
        rows = (dy[:, None] + self._rows)[:, :, None]
        cols = (dx[:, None] + cols)[:, None, :]
        images = torch.arange(len(batch), device=self.device)[:, None, None]
        return padded[images, rows, cols]

    def _normalise(self, batch: Tensor) -> Tensor:
        # NHWC -> NCHW view; its strides are channels_last, which convolutions accept.
        return (batch.float() * self._scale + self._shift).permute(0, 3, 1, 2)
