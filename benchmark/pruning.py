"""The pruning controller: at the planned iterations, ask the method what to remove.

It sits between the training loop and the sparsity engine so that the loop only says
"a backward pass just finished" and never deals with plans, counts or gradient sources,
and so that the engine only ever receives a checked selection, never a method.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines import PruningMethod, StepContext, ask, wants_context
from benchmark.schedule import PruneStep
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
    ) -> None:
        self.engine = engine
        self.method = method
        self.method_name = method_name
        self.with_context = wants_context(method)
        self.gradients = gradients
        self.iterations_per_epoch = iterations_per_epoch
        self.total_iterations = total_iterations
        self.plan = plan
        self._index = 0  # the next step of the plan
        self.log: list[dict[str, Any]] = []  # the schedule as it actually happened

    def after_backward(self, iteration: int, optimizer: torch.optim.Optimizer) -> bool:
        """Prune if the step after `iteration` (1-based) is planned; True when masks changed."""
        self.gradients.observe()
        step = self.plan[self._index] if self._index < len(self.plan) else None
        if step is None or iteration != step.iteration:
            return False
        k = self.engine.active_count() - step.target_active
        if k > 0:
            context = StepContext(
                progress=step.progress,
                step=step.step,
                n_steps=len(self.plan),
                iteration=iteration,
                total_iterations=self.total_iterations,
            )
            selection = ask(
                self.method,
                self.method_name,
                self.engine.flat_weights().float(),
                self.gradients.flat().float(),
                self.engine.flat_active(),
                k,
                context,
                self.with_context,
            )
            self.engine.remove(selection, optimizer)
        self.log.append(
            {
                "step": step.step,
                "iteration": iteration,
                "epoch": iteration / self.iterations_per_epoch,
                "pruned": max(k, 0),
                "density": self.engine.active_count() / self.engine.n_prunable,
            }
        )
        self._index += 1
        return k > 0

    def state_dict(self) -> dict[str, Any]:
        return {"index": self._index, "log": self.log}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._index, self.log = state["index"], state["log"]
