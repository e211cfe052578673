"""Inference FLOPs as pruning papers count them: multiply-accumulates of surviving weights.

RigL and GraNet report the cost of a sparse network as the MACs of its conv and linear
layers, where each non-zero weight is used once per output position per image. BN,
ReLU, pooling, biases and residual additions are not counted: they are a rounding error
next to the convolutions and do not shrink with sparsity, so counting them would only
blur the comparison between sparsity schedules.

Training cost per sample is taken as about 3x the forward MACs (forward, backward with
respect to activations, backward with respect to weights); callers apply that factor.

Geometry (output positions per layer) is measured once with a forward pass, so the count
stays right for any input size, stride or padding without re-deriving conv arithmetic.
"""

from __future__ import annotations

import torch
from torch import nn


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
