"""The pruning controller: at the planned iterations, ask the method what to change.

It sits between the training loop and the sparsity engine so that the loop only says
"a backward pass just finished" and never deals with plans, counts or gradient sources,
and so that the engine only ever receives checked sets, never a method.

Two clocks meet here: the run's pruning plan (how many weights must be gone by when,
the same for every method of a grid) and, for a regrowing method, its own update clock.
At a pruning step a pruning method is asked for the `k` weights to remove; a regrowing
method is asked at pruning steps and at its updates alike, with `k` the net count the
plan removes there (0 at an update between pruning steps).
"""

from __future__ import annotations

from typing import Any

import torch

from baselines import PruningMethod, StepContext, ask, ask_update, regrows, wants_context
from benchmark.schedule import PruneStep, periodic_iterations
from benchmark.sparsity import GradientSource, SparsityEngine


class GradualPruner:
    def __init__(
        self,
        engine: SparsityEngine,
        method: PruningMethod,
        method_name: str,
        gradients: GradientSource,
        plan: list[PruneStep],
        iterations_per_epoch: int,
        total_iterations: int,
        seed: int = 0,
    ) -> None:
        self.engine = engine
        self.method = method
        self.method_name = method_name
        self.with_context = wants_context(method)
        self.regrowing = regrows(method)
        clock = getattr(method, "clock", None) if self.regrowing else None
        self.updates = (
            set(periodic_iterations(total_iterations, clock.start, clock.end, clock.every))
            if clock is not None
            else set()
        )
        # Growth by gradient reads the gradient of inactive weights too: a dense backward
        # pass at those iterations, which the cost accounting counts (RigL's FLOP rule).
        self.reads_dense_gradient = self.regrowing and bool(
            getattr(method, "dense_gradient", False)
        )
        self.gradients = gradients
        self.iterations_per_epoch = iterations_per_epoch
        self.total_iterations = total_iterations
        self.seed = seed
        self.plan = plan
        self._index = 0  # the next step of the plan
        self.log: list[dict[str, Any]] = []  # the mask changes as they actually happened
        self.dense_gradient_read = False  # at the last iteration asked about

    def after_backward(self, iteration: int, optimizer: torch.optim.Optimizer) -> bool:
        """Prune or update if iteration `iteration` (1-based) is due; True when masks changed."""
        self.gradients.observe()
        self.dense_gradient_read = False
        planned = self.plan[self._index] if self._index < len(self.plan) else None
        step = planned if planned is not None and iteration == planned.iteration else None
        update = iteration in self.updates
        if step is None and not update:
            return False
        k = max(self.engine.active_count() - step.target_active, 0) if step else 0
        if self.regrowing:
            removed, grown = self._update(iteration, k, step, optimizer)
            self.dense_gradient_read = self.reads_dense_gradient and update
        elif k > 0:
            selection = ask(
                self.method,
                self.method_name,
                self.engine.flat_weights().float(),
                self.gradients.flat().float(),
                self.engine.flat_active(),
                k,
                self._context(iteration, step),
                self.with_context,
            )
            self.engine.remove(selection, optimizer)
            removed, grown = k, 0
        else:
            removed, grown = 0, 0
        self.log.append(
            {
                "step": len(self.log) + 1,
                "iteration": iteration,
                "epoch": iteration / self.iterations_per_epoch,
                "pruned": k,
                "removed": removed,
                "grown": grown,
                "density": self.engine.active_count() / self.engine.n_prunable,
            }
        )
        if step is not None:
            self._index += 1
        return removed > 0 or grown > 0

    def _update(
        self, iteration: int, k: int, step: PruneStep | None, optimizer: torch.optim.Optimizer
    ) -> tuple[int, int]:
        """A regrowing method's checked update, applied: (weights switched off, grown)."""
        active = self.engine.flat_active()
        answer = ask_update(
            self.method,
            self.method_name,
            self.engine.flat_weights().float(),
            self.gradients.flat().float(),
            active,
            k,
            self._context(iteration, step),
        )
        if answer.prune is not None:
            self.engine.remove(answer.prune, optimizer)
        grown = self.engine.update(answer.remove, answer.grow, optimizer)
        return grown + k, grown

    def _context(self, iteration: int, step: PruneStep | None) -> StepContext:
        """Where the iteration sits; between pruning steps, `step` and `progress` are
        those of the last pruning step done (0 before the first)."""
        done = self.plan[self._index - 1] if self._index > 0 else None
        current = step or done
        return StepContext(
            progress=current.progress if current else 0.0,
            step=current.step if current else 0,
            n_steps=len(self.plan),
            iteration=iteration,
            total_iterations=self.total_iterations,
            layer_numels=tuple(self.engine.numels),
            seed=self.seed,
            update=iteration in self.updates,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"index": self._index, "log": self.log}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._index, self.log = state["index"], state["log"]
