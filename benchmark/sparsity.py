"""Masks over the prunable weights, and the guarantee that pruned weights stay zero.

Prunable tensors are the weights of every Conv2d and Linear layer; biases and norm
layers stay dense (GraNet and RigL convention). Selection is global: the weights of
all prunable tensors are concatenated into one flat vector and a pruning method picks
among the currently active entries of that vector. The engine knows nothing of methods:
the pruning controller (`benchmark.pruning`) asks the method and hands the engine the
checked sets to remove and, for a regrowing method, to grow.

A pruned weight must stay exactly 0.0 for the rest of the run. SGD can revive it in
three ways: through its gradient, through its momentum buffer, and through weight
decay. We zero the weight and its momentum buffer when it is pruned, zero its gradient
before every optimizer step (so neither the buffer nor decay, which is proportional to
the zero weight, can move it) and re-apply the mask after the step as a last guard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def prunable_layers(
    model: nn.Module, keep_first_dense: bool = False, keep_first_last_dense: bool = False
) -> list[tuple[str, nn.Parameter]]:
    """(name, weight) of each Conv2d/Linear in module order, minus the first (and last)
    layer if asked: the released FGGP code never prunes the first convolution."""
    layers = [
        (f"{name}.weight", module.weight)
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    ]
    if keep_first_dense or keep_first_last_dense:
        layers = layers[1:]
    if keep_first_last_dense:
        layers = layers[:-1]
    if not layers:
        raise ValueError("the model has no prunable Conv2d/Linear weights")
    return layers


def erk_densities(shapes: Sequence[tuple[int, ...]], density: float) -> list[float]:
    """Erdős–Rényi-Kernel layer densities (Evci et al., 2020) with the given overall density.

    A layer's density is proportional to sum(shape) / prod(shape), scaled so the total
    number of kept weights matches `density`. A layer whose density would exceed 1 is
    kept dense and the scale is recomputed for the rest, until every density fits.
    """
    sizes = [math.prod(shape) for shape in shapes]
    raw = [sum(shape) / size for shape, size in zip(shapes, sizes, strict=True)]
    dense: set[int] = set()
    while True:
        budget = density * sum(sizes) - sum(sizes[i] for i in dense)
        free = [i for i in range(len(sizes)) if i not in dense]
        scale = budget / sum(raw[i] * sizes[i] for i in free) if free else 0.0
        overflow = {i for i in free if scale * raw[i] > 1.0}
        if not overflow:
            return [1.0 if i in dense else scale * raw[i] for i in range(len(sizes))]
        dense |= overflow


def _momentum(optimizer: torch.optim.Optimizer | None, param: nn.Parameter) -> Tensor | None:
    if optimizer is None:
        return None
    return optimizer.state.get(param, {}).get("momentum_buffer")


class SparsityEngine:
    """Owns the boolean masks of one model and every operation that touches them."""

    def __init__(
        self,
        model: nn.Module,
        keep_first_dense: bool = False,
        keep_first_last_dense: bool = False,
    ) -> None:
        layers = prunable_layers(model, keep_first_dense, keep_first_last_dense)
        self.names = [name for name, _ in layers]
        self.params = [param for _, param in layers]
        self.masks = [torch.ones_like(p, dtype=torch.bool) for p in self.params]
        self.numels = [p.numel() for p in self.params]
        self.n_prunable = sum(self.numels)

    # --- initial condition -------------------------------------------------------------
    def init_random(self, density: float, generator: torch.Generator) -> None:
        """Sparse start: ERK layer densities, an exact number of random survivors per layer."""
        if density >= 1.0:
            return
        shapes = [tuple(p.shape) for p in self.params]
        for i, layer_density in enumerate(erk_densities(shapes, density)):
            keep = round(layer_density * self.numels[i])
            order = torch.randperm(self.numels[i], generator=generator)
            flat = torch.zeros(self.numels[i], dtype=torch.bool)
            flat[order[:keep]] = True
            # copy_ keeps the mask's memory layout, which is its weight's (channels_last).
            self.masks[i].copy_(flat.view(self.masks[i].shape))
        self.apply_to_weights()

    # --- keeping pruned weights at zero ------------------------------------------------
    @torch.no_grad()
    def apply_to_weights(self) -> None:
        for param, mask in zip(self.params, self.masks, strict=True):
            param.mul_(mask)

    @torch.no_grad()
    def apply_to_gradients(self) -> None:
        for param, mask in zip(self.params, self.masks, strict=True):
            if param.grad is not None:
                param.grad.mul_(mask)

    @torch.no_grad()
    def apply_to_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        for param, mask in zip(self.params, self.masks, strict=True):
            buffer = _momentum(optimizer, param)
            if buffer is not None:
                buffer.mul_(mask)

    # --- pruning ----------------------------------------------------------------------
    def active_count(self) -> int:
        # Summed on the device, read back once (one host synchronisation, not one per layer).
        return int(torch.stack([mask.sum() for mask in self.masks]).sum())

    def flat_weights(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def flat_active(self) -> Tensor:
        return torch.cat([mask.reshape(-1) for mask in self.masks])

    @torch.no_grad()
    def remove(self, selection: Tensor, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Prune the flat entries of `selection` (already checked to be active ones): from
        now on their weights, gradients and momentum are exactly zero."""
        self.update(selection, torch.zeros_like(selection), optimizer)

    @torch.no_grad()
    def update(
        self, remove: Tensor, grow: Tensor, optimizer: torch.optim.Optimizer | None = None
    ) -> int:
        """Switch off the flat entries of `remove` and switch on those of `grow` (both
        checked by the controller); returns how many weights were grown.

        A grown weight was inactive, so its value and momentum are already exactly zero;
        its gradient of this iteration is zeroed too, so the optimizer step that follows
        leaves it at 0.0 and it starts training at the next iteration, as in GraNet and
        RigL, whose updates follow the step. A weight in both sets stays as it was.
        """
        grown = 0
        for i, (off, on) in enumerate(
            zip(torch.split(remove, self.numels), torch.split(grow, self.numels), strict=True)
        ):
            mask = self.masks[i]
            new = on.view_as(mask) & ~mask
            mask &= ~off.view_as(mask)
            mask |= on.view_as(mask)
            grown += int(new.sum())
            param = self.params[i]
            param.masked_fill_(new, 0.0)
            if param.grad is not None:
                param.grad.masked_fill_(new, 0.0)
            buffer = _momentum(optimizer, param)
            if buffer is not None:
                buffer.masked_fill_(new, 0.0)
        self.apply_to_weights()
        self.apply_to_gradients()
        if optimizer is not None:
            self.apply_to_optimizer(optimizer)
        return grown

    # --- measurement ------------------------------------------------------------------
    @torch.no_grad()
    def measured_sparsity(self) -> float:
        """Fraction of prunable weights that are exactly zero, read from the weights."""
        zeros = int(torch.stack([(p == 0).sum() for p in self.params]).sum())
        return zeros / self.n_prunable

    def _active_by_layer(self) -> list[int]:
        return torch.stack([mask.sum() for mask in self.masks]).tolist()

    def layer_densities(self) -> list[dict[str, object]]:
        return [
            {"name": name, "numel": numel, "density": active / numel}
            for name, numel, active in zip(
                self.names, self.numels, self._active_by_layer(), strict=True
            )
        ]

    def nonzero_by_module(self) -> dict[str, int]:
        """Surviving weights per module name (for FLOP counting), dense layers included."""
        return {
            name.removesuffix(".weight"): active
            for name, active in zip(self.names, self._active_by_layer(), strict=True)
        }


class GradientSource:
    """The gradient that gradient-based criteria read at a pruning step.

    `batch` (default, the paper's choice) is the current minibatch's loss gradient,
    read after backward and before the optimizer step. `ema` is an exponential moving
    average of the per-iteration gradients, for ablations on gradient noise; it costs
    one extra pass over the weights per iteration and is only kept when asked for.
    """

    def __init__(self, params: Sequence[nn.Parameter], kind: str, decay: float) -> None:
        self.params = list(params)
        self.kind = kind
        self.decay = decay
        self.averages: list[Tensor] | None = None

    @torch.no_grad()
    def observe(self) -> None:
        if self.kind != "ema":
            return
        grads = [p.grad.detach().float() for p in self.params]
        if self.averages is None:
            self.averages = [g.clone() for g in grads]
            return
        for average, grad in zip(self.averages, grads, strict=True):
            average.lerp_(grad, 1.0 - self.decay)

    def flat(self) -> Tensor:
        if self.kind == "ema":
            assert self.averages is not None, "observe() must run before the first pruning step"
            return torch.cat([a.reshape(-1) for a in self.averages])
        return torch.cat([p.grad.detach().reshape(-1) for p in self.params])
