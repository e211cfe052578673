"""The regression check's exact tier: what each built-in method selects, fingerprinted.

Training noise hides a changed selection unless it is large; the selection itself has no
noise. Each method is driven by the harness's own controller (`GradualPruner`, which
calls `ask` and `ask_update` with its `StepContext` and the plan's `k`) over a few small
multi-layer models whose weights and gradients are fixed, seeded and free of ties, and
the SHA-256 of every mask it leaves behind is its fingerprint. Any change in what a
method selects (or regrows) changes it, and `--check` fails before anything is trained.

The inputs are float32 values from numpy's seeded generator, redrawn until |w|, |g| and
|w g| are distinct, so no result depends on how ties are broken; every score a method
computes from them (abs, products, kthvalue, comparisons) is exact IEEE arithmetic, and
the random methods draw from seeded CPU generators: the fingerprints are the same on any
CPU. What is hashed is the indices of the active weights, never a float. Fresh weights
and gradients at every pruning step or update stand in for training between them, so a
weight grown at 0.0 is not left to tie with others at the next step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

import baselines
from baselines import installed
from benchmark.pruning import GradualPruner
from benchmark.schedule import prune_plan
from benchmark.sparsity import GradientSource, SparsityEngine

INPUTS = "fggp-bench/selection-inputs/1"
"""Names the construction below; a reference fingerprinted on other inputs is re-measured."""
ALWAYS = ("granet", "rigl", "set")
"""Fingerprinted whatever the grid trains: their selection is exact and cheap to check."""


@dataclass(frozen=True)
class Case:
    """One fixed input: the layers' weight shapes, the starting mask and the run's clock."""

    shapes: tuple[tuple[int, ...], ...]
    init_density: float
    target_sparsity: float
    n_steps: int
    total_iterations: int
    seed: int


CASES = (
    # A dense start pruned in six steps; four layers of 216 to 2,048 weights.
    Case(((8, 3, 3, 3), (16, 8, 3, 3), (32, 64), (10, 32)), 1.0, 0.9, 6, 2400, 0),
    # A partly pruned start (ERK at 50% density), to 95%, over a longer clock.
    Case(((12, 4, 3, 3), (24, 12, 3, 3), (48, 96), (10, 48)), 0.5, 0.95, 4, 4000, 1),
    # Few steps on a short clock: GraNet updates once, RigL's window ends early.
    Case(((6, 3, 3, 3), (40, 30), (7, 40)), 1.0, 0.8, 3, 1200, 2),
)

MAGNITUDE_RANGE = (-12.0, 0.0)
"""log2 of |value|: twelve octaves, so a float32 tie between two draws is rare."""


def distinct_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` float32 values, signed, with distinct magnitudes, drawn log-uniformly."""
    while True:
        magnitude = np.exp2(rng.uniform(*MAGNITUDE_RANGE, size=n)).astype(np.float32)
        if len(np.unique(magnitude)) == n:
            sign = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(np.float32)
            return magnitude * sign


def untied_inputs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and gradients whose |w|, |g| and |w g| (float32) are each free of ties."""
    while True:
        weight, grad = distinct_values(rng, n), distinct_values(rng, n)
        if len(np.unique(np.abs(weight * grad))) == n:
            return weight, grad


def _model(shapes: Sequence[tuple[int, ...]]) -> nn.Module:
    """Layers with these weight shapes (never run: only their parameters are read)."""
    layers: list[nn.Module] = []
    for shape in shapes:
        if len(shape) == 4:
            layers.append(nn.Conv2d(shape[1], shape[0], shape[2:], bias=False))
        else:
            layers.append(nn.Linear(shape[1], shape[0], bias=False))
    return nn.Sequential(*layers)


def fingerprint(name: str, params: Mapping[str, Any], cases: Iterable[Case] = CASES) -> str:
    """SHA-256 of the active masks a method leaves after every step and update of `cases`."""
    digest = hashlib.sha256(INPUTS.encode())
    for case in cases:
        digest.update(f"case {case}\n".encode())
        for iteration, active in drive(name, params, case):
            indices = np.flatnonzero(active.numpy()).astype("<i8")
            digest.update(f"{iteration}:{len(indices)}:".encode() + indices.tobytes())
    return digest.hexdigest()


def drive(name: str, params: Mapping[str, Any], case: Case) -> list[tuple[int, torch.Tensor]]:
    """The method under the harness's controller on one case: the mask after each event.

    The starting mask (iteration 0), then, at every pruning step of the plan and every
    update of a regrowing method's clock, fresh untied weights (zero where pruned, as the
    engine keeps them) and dense gradients, the controller's call, and the mask it left.
    """
    method = baselines.build(name, dict(params))
    model = _model(case.shapes)
    engine = SparsityEngine(model)
    engine.init_random(case.init_density, torch.Generator().manual_seed(case.seed))
    plan = prune_plan(
        total_iterations=case.total_iterations,
        start=0.0,
        end=0.8,
        n_steps=case.n_steps,
        every=0,
        initial_active=engine.active_count(),
        n_prunable=engine.n_prunable,
        final_density=1.0 - case.target_sparsity,
    )
    pruner = GradualPruner(
        engine,
        method,
        name,
        GradientSource(engine.params, "batch", 0.9),
        plan,
        iterations_per_epoch=case.total_iterations // 4,
        total_iterations=case.total_iterations,
        seed=case.seed,
    )
    optimizer = torch.optim.SGD(engine.params, lr=0.1, momentum=0.9)
    rng = np.random.default_rng(case.seed)
    masks = [(0, engine.flat_active().clone())]
    for iteration in sorted({step.iteration for step in plan} | pruner.updates):
        weight, grad = untied_inputs(rng, engine.n_prunable)
        with torch.no_grad():
            for param, w, g in zip(
                engine.params,
                np.split(weight, np.cumsum(engine.numels)[:-1]),
                np.split(grad, np.cumsum(engine.numels)[:-1]),
                strict=True,
            ):
                param.copy_(torch.from_numpy(w).view(param.shape))
                param.grad = torch.from_numpy(g).view(param.shape).clone()
        engine.apply_to_weights()
        pruner.after_backward(iteration, optimizer)
        masks.append((iteration, engine.flat_active().clone()))
    return masks


def methods_of(
    cells: Iterable[tuple[str, Mapping[str, Any]]],
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The built-in pruning methods among (label, cell config) pairs, and ALWAYS, by label.

    A method from a file or an installed package is left to the accuracy tier: its code
    is the user's to change (docs/regression.md); a method that does not prune (the
    dense bound) selects nothing.
    """
    builtin = set(baselines.available()) - set(installed.names())
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for label, config in cells:
        name = str(config["method"])
        if name in builtin and baselines.prunes(baselines.build(name, {})):
            found[label] = (name, dict(config.get("method_params") or {}))
    for name in ALWAYS:
        found.setdefault(name, (name, baselines.resolve_params(name, {})))
    return dict(sorted(found.items()))


def fingerprints(methods: Mapping[str, tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Every method's fingerprint, by label."""
    return {label: fingerprint(name, params) for label, (name, params) in methods.items()}


def changed(expected: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The labels whose fingerprint differs (or that one side lacks), sorted."""
    return sorted(k for k in {*expected, *now} if expected.get(k) != now.get(k))
