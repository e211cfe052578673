"""Run results grouped into settings × methods, with the per-cell summary statistics.

Accuracies are only comparable between runs that differ in nothing but the method and
the seed, so a setting's key holds the paper's four conditions (dataset, architecture,
initial density, target sparsity), the size of the experiment (width, epochs) and any
other configuration field that is not the same in every run given: a narrowed or
shortened run is never pooled with a paper-size one, whatever field narrowed it.

A diverged run (non-finite training loss) is an outcome, not missing data: it enters its
cell at chance accuracy, 100 / classes, which is what a network of non-finite weights
scores (every prediction the same class), and the cell says which seeds diverged. Left
out, it would make a method that diverges more often look better for it, and could
drop it from every test that needs all seeds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from benchmark.errors import UserError

DENSE = "dense"
DIVERGED = "diverged"
MODEL_FIELDS = ("dataset", "arch", "width", "epochs")
CONDITION_FIELDS = ("init_density", "target_sparsity")
_NOT_OTHER = {"seed", "method", "method_params", *MODEL_FIELDS, *CONDITION_FIELDS}
TIE_DECIMALS = 9
"""Accuracies are percentages with a few decimals: values equal to 1e-9 are equal, and
rounding there keeps floating-point noise from breaking ties or faking a spread."""


@dataclass(frozen=True)
class Model:
    """What a dense upper bound is trained on: a setting without its pruning conditions."""

    dataset: str
    arch: str
    width: float
    epochs: int
    other: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in MODEL_FIELDS}
        return fields | ({"other": {k: _jsonable(v) for k, v in self.other}} if self.other else {})

    @property
    def name(self) -> str:
        extra = "".join(f" {k}={_jsonable(v)}" for k, v in self.other)
        return f"{self.dataset} {self.arch} width={self.width:g} epochs={self.epochs}{extra}"


@dataclass(frozen=True)
class Setting:
    model: Model
    init_density: float
    target_sparsity: float

    def as_dict(self) -> dict[str, Any]:
        conditions = {"init_density": self.init_density, "target_sparsity": self.target_sparsity}
        model = self.model.as_dict()
        other = model.pop("other", None)
        return model | conditions | ({"other": other} if other else {})

    @property
    def name(self) -> str:
        return f"{self.model.name} init={self.init_density:g} sparsity={self.target_sparsity:g}"


@dataclass(frozen=True)
class Cell:
    """One method in one setting: its final test accuracies by seed and their summary."""

    accuracy: Mapping[int, float]
    mean: float
    std: float | None
    ci95: tuple[float, float] | None
    ci_note: str | None
    diverged: tuple[int, ...] = ()
    """Seeds whose run diverged: counted in `accuracy` at chance."""

    @property
    def n(self) -> int:
        return len(self.accuracy)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.accuracy)

    def as_dict(self) -> dict[str, Any]:
        values = list(self.accuracy.values())
        return {
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
            "ci95": list(self.ci95) if self.ci95 else None,
            "ci95_note": self.ci_note,
            "seeds": self.seeds,
            "min": min(values),
            "max": max(values),
            "diverged": list(self.diverged),
        }


@dataclass(frozen=True)
class Failure:
    run_id: str | None
    method: str
    setting: Setting
    seed: int
    status: str


@dataclass(frozen=True)
class Missing:
    setting: Setting
    method: str
    seed: int
    status: str
    """'no result', or the status of the run that did not complete."""


@dataclass(frozen=True)
class Table:
    cells: Mapping[Setting, Mapping[str, Cell]]
    """Pruned settings in display order; dense runs are not a treatment and live in `dense`."""
    dense: Mapping[Model, Cell]
    failures: tuple[Failure, ...]
    missing: tuple[Missing, ...] | None
    """None when no expected grid was given: then nothing can be called missing."""
    provenance: Mapping[str, Any]


def collect(
    results: Sequence[Mapping[str, Any]],
    expected: Iterable[Mapping[str, Any]] | None = None,
    methods: Iterable[str] | None = None,
) -> Table:
    """Group results by setting and method label and summarise every cell.

    `expected` is the grid as configuration dicts (`RunConfig.to_dict()` of prepared
    configs, the form of `result["config"]`); `methods` keeps only those pruning-method
    labels in the cells (failures and missing runs are listed for every method).
    """
    grid = list(expected) if expected is not None else None
    keys = RunKeys.of([r["config"] for r in results] + (grid or []))
    accuracy: dict[tuple[Setting | Model, str], dict[int, float]] = {}
    diverged: set[tuple[Setting | Model, str, int]] = set()
    failures: list[Failure] = []
    for result in results:
        setting, label, seed = keys.of_config(result["config"])
        value, status = _outcome(result)
        if value is None:
            failures.append(Failure(result.get("run_id"), label, setting, seed, str(status)))
            continue
        group = _group(setting, label)
        runs = accuracy.setdefault((group, label), {})
        if seed in runs:
            raise UserError(f"two finished results for {label}, seed {seed}, {group.name}")
        runs[seed] = value
        if status == DIVERGED:
            diverged.add((group, label, seed))

    def cell(group: Setting | Model, label: str) -> Cell:
        seeds = tuple(sorted(s for g, m, s in diverged if g == group and m == label))
        return _cell(accuracy[group, label], seeds)

    keep = set(methods) if methods is not None else None
    return Table(
        cells=_pruned_cells(accuracy, keep, cell),
        dense={model: cell(model, label) for model, label in accuracy if label == DENSE},
        failures=tuple(failures),
        missing=None if grid is None else _missing(grid, keys, accuracy, failures),
        provenance=_provenance(results),
    )


def mean_ci(values: Sequence[float]) -> tuple[tuple[float, float] | None, str | None]:
    """95% t-interval of the mean, and a note where none can be given.

    The t-interval covers the mean 95% of the time at every n >= 2 for normal runs; a
    bootstrap of 2-4 runs is no interval at all ([min, max] at n = 2 covers about half
    the time). Equal values have no spread to scale an interval by: that is said, and no
    zero-width interval is passed off as a CI.
    """
    n = len(values)
    if n < 2:
        return None, f"n={n}: a confidence interval needs at least 2 runs"
    if _all_equal(values):
        return None, f"all {n} values equal ({values[0]:g}): no spread, no interval"
    mean = float(np.mean(values))
    half = float(special.stdtrit(n - 1, 0.975) * np.std(values, ddof=1) / math.sqrt(n))
    return (mean - half, mean + half), None


def _cell(accuracy: Mapping[int, float], diverged: tuple[int, ...] = ()) -> Cell:
    ordered = {seed: accuracy[seed] for seed in sorted(accuracy)}
    values = list(ordered.values())
    std = float(np.std(values, ddof=1)) if len(values) >= 2 else None
    ci95, note = mean_ci(values)
    return Cell(ordered, float(np.mean(values)), std, ci95, note, diverged)


def _pruned_cells(
    accuracy: Mapping[tuple[Setting | Model, str], Mapping[int, float]],
    keep: set[str] | None,
    cell: Callable[[Setting, str], Cell],
) -> dict[Setting, dict[str, Cell]]:
    cells: dict[Setting, dict[str, Cell]] = {}
    pruned = [(s, label) for s, label in accuracy if isinstance(s, Setting)]
    for setting, label in sorted(pruned, key=lambda key: (_setting_order(key[0]), key[1])):
        if keep is None or label in keep:
            cells.setdefault(setting, {})[label] = cell(setting, label)
    return cells


def _group(setting: Setting, label: str) -> Setting | Model:
    """Dense runs bound every setting of their model, whatever its pruning conditions."""
    return setting.model if label == DENSE else setting


def _setting_order(setting: Setting) -> tuple[Any, ...]:
    m = setting.model
    order = (m.dataset, m.arch, m.width, m.epochs, repr(m.other))
    return (*order, -setting.init_density, setting.target_sparsity)


def _outcome(result: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The accuracy a result enters the statistics with, and its status; no accuracy
    (None) when it cannot enter them, the status then saying why."""
    status = str(result.get("status"))
    if status == DIVERGED:
        classes = (result.get("data") or {}).get("num_classes")
        if isinstance(classes, int) and not isinstance(classes, bool) and classes >= 2:
            return 100.0 / classes, DIVERGED
        return None, "diverged, with no class count to score it at chance"
    if status != "completed":
        return None, status
    accuracy = (result.get("final") or {}).get("test_acc")
    if not isinstance(accuracy, int | float) or not math.isfinite(accuracy):
        return None, "completed without a finite final test accuracy"
    return float(accuracy), status


def _missing(
    expected: Iterable[Mapping[str, Any]],
    keys: RunKeys,
    accuracy: Mapping[tuple[Setting | Model, str], Mapping[int, float]],
    failures: Sequence[Failure],
) -> tuple[Missing, ...]:
    failed = {(f.setting, f.method, f.seed): f.status for f in failures}
    missing = []
    for config in expected:
        setting, label, seed = keys.of_config(config)
        if seed not in accuracy.get((_group(setting, label), label), {}):
            status = failed.get((setting, label, seed), "no result")
            missing.append(Missing(setting, label, seed, status))
    return tuple(missing)


def _provenance(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    envs = [r.get("env") or {} for r in results]

    def distinct(field: str) -> list[str]:
        return sorted({str(env[field]) for env in envs if env.get(field) is not None})

    return {
        "result_files": len(results),
        "statuses": dict(Counter(str(r.get("status")) for r in results)),
        "harness_versions": sorted(
            {str(r["harness_version"]) for r in results if "harness_version" in r}
        ),
        "git_commits": distinct("git_commit"),
        "dirty_trees": sum(str(env.get("git_commit", "")).endswith("-dirty") for env in envs),
        "torch": distinct("torch"),
        "torchvision": distinct("torchvision"),
        "numpy": distinct("numpy"),
        "python": distinct("python"),
        "cuda": distinct("cuda"),
        "devices": distinct("device"),
    }


@dataclass(frozen=True)
class RunKeys:
    """How a configuration maps to (setting, method label, seed) for one set of runs."""

    other_fields: tuple[str, ...]
    varying_params: Mapping[str, tuple[str, ...]]

    @staticmethod
    def of(configs: Sequence[Mapping[str, Any]]) -> RunKeys:
        fields = sorted({f for c in configs for f in c} - _NOT_OTHER)
        other = tuple(f for f in fields if len({_hashable(c.get(f)) for c in configs}) > 1)
        by_method: dict[str, list[dict[str, Any]]] = {}
        for config in configs:
            by_method.setdefault(config["method"], []).append(_params(config))
        varying = {m: _varying_keys(params) for m, params in by_method.items()}
        return RunKeys(other, varying)

    def of_config(self, config: Mapping[str, Any]) -> tuple[Setting, str, int]:
        model = Model(
            dataset=str(config["dataset"]),
            arch=str(config["arch"]),
            width=float(config["width"]),
            epochs=int(config["epochs"]),
            other=tuple((f, _hashable(config.get(f))) for f in self.other_fields),
        )
        setting = Setting(model, float(config["init_density"]), float(config["target_sparsity"]))
        return setting, self._label(config), int(config["seed"])

    def _label(self, config: Mapping[str, Any]) -> str:
        method = str(config["method"])
        params = _params(config)
        shown = ",".join(f"{k}={params.get(k)}" for k in self.varying_params.get(method, ()))
        return f"{method}({shown})" if shown else method


def _varying_keys(params: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    names = sorted({k for p in params for k in p})
    return tuple(k for k in names if len({_hashable(p.get(k)) for p in params}) > 1)


def _params(config: Mapping[str, Any]) -> dict[str, Any]:
    return dict(config.get("method_params") or {})


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


def _jsonable(value: Any) -> Any:
    return list(map(_jsonable, value)) if isinstance(value, tuple) else value


def _all_equal(values: Sequence[float]) -> bool:
    rounded = np.round(np.asarray(values, dtype=float), TIE_DECIMALS)
    return bool(np.all(rounded == rounded[0]))
