"""From a configuration to what its run will do, before anything is trained: the checked
configuration with its method's defaults filled in (`prepare`) and its pruning steps
(`pruning_plan`).

Kept out of `benchmark.train` so that what plans runs without training them (a preset's
grid expansion, the `benchmark.run` command, the performance benchmark) loads neither the
training loop nor any data; kept out of `benchmark.config`, which must stay light,
because it needs the method registry and the model list. Anything that plans or trains
runs may import it; what it imports (`baselines`, `benchmark.config`, `benchmark.models`,
`benchmark.schedule`) must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import baselines
from benchmark.config import RunConfig, validate
from benchmark.errors import UserError
from benchmark.models import ARCHS
from benchmark.schedule import PruneStep, prune_plan

if TYPE_CHECKING:
    from benchmark.sparsity import SparsityEngine


def prepare(config: RunConfig) -> RunConfig:
    """Validate a configuration and fill in the method's default parameters."""
    validate(config)
    if config.arch not in ARCHS:
        raise UserError(f"unknown arch {config.arch!r}; choose from: {', '.join(ARCHS)}")
    params = baselines.resolve_params(config.method, config.method_kwargs)
    method = baselines.build(config.method, params)
    if not baselines.prunes(method) and (config.target_sparsity, config.init_density) != (0, 1):
        raise UserError(
            f"method {config.method!r} trains the dense network: "
            "use target sparsity 0 and init density 1"
        )
    return config.replace(method_params=params)


def pruning_plan(
    config: RunConfig, iterations_per_epoch: int, engine: SparsityEngine
) -> list[PruneStep]:
    """The run's pruning steps from its schedule fields and the engine's real counts.

    Needs no data: the number of iterations per epoch is all it asks of the data set, so
    a preset's schedule can be checked before anything is loaded.
    """
    total = config.epochs * iterations_per_epoch
    plan = prune_plan(
        total_iterations=total,
        start=config.prune_start,
        end=config.prune_end,
        n_steps=config.prune_steps,
        every=config.prune_every,
        initial_active=engine.active_count(),
        n_prunable=engine.n_prunable,
        final_density=1.0 - config.target_sparsity,
    )
    must_prune = round((1.0 - config.target_sparsity) * engine.n_prunable) < engine.active_count()
    if must_prune and not plan:
        raise UserError(
            f"pruning every {config.prune_every} iterations leaves no pruning step in the "
            f"window of this run ({total} training iterations in all): lower prune_every, "
            "or set prune_every = 0 to spread prune_steps steps over the window"
        )
    return plan
