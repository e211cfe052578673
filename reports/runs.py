"""The grid's runs as the report reads them, and their completed records grouped by model,
setting and method.

The tables (`reports.tables`) and the figures (`reports.plots`) both read runs; this
module holds what they share, so neither imports the other and both group records the
same way. A run is placed in the grid by `benchmark.stats.RunKeys`, the keys the
statistics use, so a figure's setting is the statistics' setting. Imported by
`reports.tables`, `reports.plots` and `reports.build`; `Run` is public through
`reports` (run_all.py builds them), nothing outside the package needs the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.stats import Model, RunKeys, Setting
from benchmark.stats.table import DENSE
from reports.styles import method_order

Record = Mapping[str, Any]
"""A stored run result (docs/results.md)."""


@dataclass(frozen=True)
class Run:
    """One run of the grid as the report sees it: its configuration, status and result."""

    run_id: str
    config: Mapping[str, Any]
    status: str
    record: Record | None
    log: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed" and self.record is not None


def run_keys(runs: Sequence[Run]) -> RunKeys:
    """The keys of the whole grid: from every run's configuration and every stored record's."""
    return RunKeys.of(
        [run.config for run in runs] + [run.record["config"] for run in runs if run.record]
    )


@dataclass(frozen=True)
class ModelRuns:
    """The completed records of one model: its dense runs and its pruned settings' runs."""

    model: Model
    dense: list[Record]
    settings: dict[Setting, dict[str, list[Record]]]
    """Pruned settings, densest start first, then by target sparsity; records by label."""

    def at(self, init_density: float, target_sparsity: float) -> Mapping[str, list[Record]]:
        """The records by method label of one setting; empty where it has none."""
        return self.settings.get(Setting(self.model, init_density, target_sparsity), {})

    def cells(self) -> Iterator[tuple[Setting, str, list[Record]]]:
        """(setting, label, records) of every pruned setting, methods in report order."""
        for setting, labels in self.settings.items():
            for label in method_order(labels):
                yield setting, label, labels[label]


def group_runs(runs: Sequence[Run], keys: RunKeys) -> list[ModelRuns]:
    """The completed runs grouped by model, ordered by model name.

    Dense runs have no pruning conditions: they are the model's `dense`, whatever init
    density and target their configurations carry. The cost and regrowth tables and the
    per-run figures all read this one grouping.
    """
    grouped: dict[Model, tuple[list[Record], dict[Setting, dict[str, list[Record]]]]] = {}
    for run in runs:
        if not run.completed:
            continue
        setting, label, _ = keys.of_config(run.config)
        dense, settings = grouped.setdefault(setting.model, ([], {}))
        if label == DENSE:
            dense.append(run.record)
        else:
            settings.setdefault(setting, {}).setdefault(label, []).append(run.record)
    return [
        ModelRuns(model, dense, {s: settings[s] for s in sorted(settings, key=_place)})
        for model, (dense, settings) in sorted(grouped.items(), key=lambda item: item[0].name)
    ]


def _place(setting: Setting) -> tuple[float, float]:
    return -setting.init_density, setting.target_sparsity
