"""A run's cost as pruning papers count it: multiply-accumulates (MACs) of surviving weights.

Everything that counts MACs lives here: the per-layer geometry, the forward count of a
set of surviving weights, and `CostMeter`, which keeps a training run's running totals
and yields its result record's `cost` fields. `benchmark.train` holds one meter per run;
anything else may import the functions (tests, the performance benchmark).

RigL and GraNet report the cost of a sparse network as the MACs of its conv and linear
layers, where each non-zero weight is used once per output position per image. BN,
ReLU, pooling, biases and residual additions are not counted: they are a rounding error
next to the convolutions and do not shrink with sparsity, so counting them would only
blur the comparison between sparsity schedules.

Training cost per sample is taken as about 3x the forward MACs (forward, backward with
respect to activations, backward with respect to weights); `CostMeter` applies that factor.

Geometry (output positions per layer) is measured once with a forward pass, so the count
stays right for any input size, stride or padding without re-deriving conv arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from benchmark.sparsity import prunable_layers

if TYPE_CHECKING:
    from benchmark.sparsity import SparsityEngine


def layer_geometry(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """Output positions per image of every Conv2d/Linear, by module name.

    `input_shape` is (channels, height, width). The pass runs on one zero image in eval
    mode (so BN running statistics are untouched) and every module's train/eval flag is
    restored afterwards. A layer called more than once per forward gets the sum of its
    calls' positions, since each call uses every weight again.
    """
    names = {m: n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    for module, name in names.items():
        if isinstance(module, nn.Conv2d) and module.groups != 1:
            # A grouped conv uses each weight on fewer inputs than its shape suggests;
            # refuse rather than return a count that would look plausible and be wrong.
            raise ValueError(f"grouped conv {name!r} (groups={module.groups}) is not supported")

    positions: dict[str, int] = {}

    def record(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        per_image = output[0].numel() // module.weight.shape[0]
        positions[names[module]] = positions.get(names[module], 0) + per_image

    first = next(model.parameters(), None)
    image = torch.zeros(
        1,
        *input_shape,
        device=first.device if first is not None else None,
        dtype=first.dtype if first is not None else None,
    )
    modes = {module: module.training for module in model.modules()}
    handles = [module.register_forward_hook(record) for module in names]
    try:
        model.eval()
        with torch.no_grad():
            model(image)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    return positions


def inference_macs(positions: dict[str, int], nonzero_weights: dict[str, int]) -> int:
    """Forward MACs per image: sum over layers of positions x non-zero weights.

    Both dicts must name the same layers: a layer missing from either would silently
    drop out of the total, so unpruned layers need their dense weight count too.
    """
    if positions.keys() != nonzero_weights.keys():
        missing = sorted(positions.keys() ^ nonzero_weights.keys())
        raise ValueError(f"positions and nonzero_weights name different layers: {missing}")
    return sum(positions[name] * nonzero_weights[name] for name in positions)


def _dense_weights(model: nn.Module) -> dict[str, int]:
    """Weights per Conv2d/Linear module: the dense model's MAC weights."""
    return {
        name.removesuffix(".weight"): param.numel()
        for name, param in prunable_layers(model, keep_first_last_dense=False)
    }


class CostMeter:
    """A training run's MAC counts, kept up to date as it trains.

    Told of every training iteration (`count_iteration`) and of every change of the masks
    (`masks_changed`), it holds the forward MACs per image of the dense model
    (`dense_macs`) and of the surviving weights (`current_macs`), and the run's totals so
    far: its training MACs (`train_macs`) and, of those, the extra MACs of dense weight
    gradients (`dense_gradient_macs`). Only the totals are state to checkpoint; the
    forward counts follow from the model and the masks.
    """

    def __init__(self, model: nn.Module, positions: dict[str, int], engine: SparsityEngine) -> None:
        """`positions` is the model's `layer_geometry`; `engine` holds its masks."""
        self._model = model
        self._positions = positions
        self._engine = engine
        self.dense_macs = inference_macs(positions, _dense_weights(model))
        self.current_macs = self._surviving_macs()
        self.train_macs = 0
        self.dense_gradient_macs = 0

    def _surviving_macs(self) -> int:
        # Layers outside the engine count dense.
        counts = _dense_weights(self._model)
        counts.update(self._engine.nonzero_by_module())
        return inference_macs(self._positions, counts)

    def masks_changed(self) -> None:
        """The masks changed: recount the forward MACs of the surviving weights."""
        self.current_macs = self._surviving_macs()

    def count_iteration(self, batch: int, dense_gradient: bool) -> None:
        """One training iteration on `batch` images at the current masks; `dense_gradient`
        when its backward pass computed the dense weight gradient."""
        self.train_macs += 3 * self.current_macs * batch
        if dense_gradient:
            # RigL's accounting: the weight gradient of that backward pass is dense.
            extra = (self.dense_macs - self.current_macs) * batch
            self.train_macs += extra
            self.dense_gradient_macs += extra

    def fields(self, epochs: int, n_train: int) -> dict[str, int]:
        """The result record's MAC fields, for a run of `epochs` over `n_train` images."""
        return {
            "train_flops": self.train_macs,
            "dense_gradient_flops": self.dense_gradient_macs,
            "dense_train_flops": 3 * self.dense_macs * epochs * n_train,
            "inference_flops": self.current_macs,
            "dense_inference_flops": self.dense_macs,
        }

    def state_dict(self) -> dict[str, int]:
        """The totals, under the checkpoint keys they have always had."""
        return {"train_macs": self.train_macs, "dense_gradient_macs": self.dense_gradient_macs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the totals (a checkpoint without `dense_gradient_macs` predates it: 0)
        and recount the forward MACs of the masks in force (load those first)."""
        self.train_macs = state["train_macs"]
        self.dense_gradient_macs = state.get("dense_gradient_macs", 0)
        self.masks_changed()
