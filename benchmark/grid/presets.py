"""Presets: a TOML description of a grid of runs, expanded into run configurations.

A preset names a base configuration (any `RunConfig` field), grid axes (any field with a
list of values), the methods (each with parameters, where a list of values is an axis
too), a number of seeds and whether to add the dense upper bound. Expansion is the
cartesian product; the dense baseline is added once per combination of the axes that
are not about pruning (target sparsity and initial density), per seed.

    description = "..."
    recipe = "released"          # training procedure (benchmark/recipes/); optional
    seeds = 3
    dense = true
    [base]                       # RunConfig fields shared by every run, over the recipe
    dataset = "cifar10"
    [grid]                       # RunConfig fields to vary
    arch = ["vgg19", "resnet50"]
    target_sparsity = [0.90, 0.95, 0.98]
    [[method]]
    name = "fggp"
    [[method]]
    name = "hybrid"
    params = { order = ["gradient_first", "magnitude_first"], rate = [0.25, 0.5] }
    [arch.resnet50]              # per-architecture overrides of [base]
    width = 0.5
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.config import FIELD_NAMES, RunConfig, config_from_dict, load_config_file, named_file
from benchmark.errors import UserError
from benchmark.models import ARCHS
from benchmark.names import folder_name
from benchmark.planning import prepare
from benchmark.recipe import Recipe, load_recipe

PRESET_DIR = Path(__file__).resolve().parents[1] / "presets"
PRUNING_AXES = ("target_sparsity", "init_density")
# Each top-level key's TOML type, checked before any is used: `dense = "false"` is a string,
# and truthy, so reading it as a flag would add the dense runs it meant to leave out.
_PRESET_TYPES: dict[str, tuple[type, str]] = {
    "description": (str, "a string"),
    "recipe": (str, "a recipe name or a path"),
    "seeds": (int, "a positive integer"),
    "dense": (bool, "true or false (a TOML boolean, unquoted)"),
    "base": (dict, "a table of run fields"),
    "grid": (dict, "a table of run fields, each with a list of values"),
    "method": (list, "[[method]] tables"),
    "arch": (dict, "[arch.<name>] tables of run fields"),
}
# Fields every grid point sets itself, and where a preset says what they are.
_RESERVED = {
    "seed": "--seeds N (or the preset's seeds = N), which runs seeds 0..N-1",
    "method": "the preset's [[method]] tables",
    "method_params": "the params of the preset's [[method]] tables",
}


@dataclass(frozen=True)
class MethodSpec:
    """A [[method]] table. `fixed_sparsity`: the method trains at the target sparsity
    from the start (RigL, SET: an ERK mask of the target density), so its runs take
    init_density = 1 - target_sparsity whatever the grid's start; a grid over starts
    plans each such run once."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    fixed_sparsity: bool = False


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: Mapping[str, Any]
    grid: Mapping[str, tuple[Any, ...]]
    methods: tuple[MethodSpec, ...]
    seeds: int
    dense: bool
    arch_overrides: Mapping[str, Mapping[str, Any]]
    recipe: Recipe | None = None

    def base_for(self, arch: str) -> dict[str, Any]:
        """The fields every run of `arch` starts from: the recipe, [base], [arch.<arch>]."""
        recipe = self.recipe.fields if self.recipe else {}
        return {**recipe, **self.base, **self.arch_overrides.get(arch, {})}


def grid_command(
    preset: str,
    dataset: str | None,
    seeds: int | None,
    assignments: list[str],
    recipe: str | None = None,
) -> list[str]:
    """The `run_all.py` words that define a grid: the preset and its overrides, no more.

    The report's reproduce line and a reference's re-measure line both start here.
    """
    words = ["python", "run_all.py", "--preset", preset]
    if recipe:
        words += ["--recipe", recipe]
    if dataset:
        words += ["--dataset", dataset]
    if seeds is not None:
        words += ["--seeds", str(seeds)]
    for item in assignments:
        words += ["--set", item]
    return words


def available_presets() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.toml"))


def load_preset(name_or_path: str) -> Preset:
    """A built-in preset by name, or a user's TOML file by path.

    The file's name is the preset's, which names its results folder (results/<name>):
    `...toml` would be the preset '..', so a name that is no folder name is refused.
    """
    path = named_file(name_or_path, PRESET_DIR, "preset")
    name = folder_name(path.stem, f"preset file {str(path)!r}")
    return _parse(name, load_config_file(path, "preset"), path)


def _parse(name: str, data: dict[str, Any], path: Path) -> Preset:
    _check_types(data, path)
    base = _fields(data.get("base", {}), f"preset {path} [base]")
    grid = _fields(data.get("grid", {}), f"preset {path} [grid]")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise UserError(f"preset {path} [grid] {key}: expected a non-empty list")
        _axis(values, f"preset {path} [grid] {key}")
    methods = data.get("method", [])
    if not methods:
        raise UserError(f"preset {path}: needs at least one [[method]] table")
    unknown_archs = sorted(set(data.get("arch", {})) - set(ARCHS))
    if unknown_archs:
        raise UserError(
            f"preset {path}: [arch.{unknown_archs[0]}] names no architecture; "
            f"choose from: {', '.join(ARCHS)}"
        )
    arch_overrides = {
        arch: _fields(values, f"preset {path} [arch.{arch}]")
        for arch, values in data.get("arch", {}).items()
    }
    seeds = data.get("seeds", 1)
    if seeds < 1:
        raise UserError(f"preset {path}: seeds must be a positive integer")
    recipe = data.get("recipe")
    return Preset(
        name=name,
        description=data.get("description", ""),
        base=base,
        grid={key: tuple(values) for key, values in grid.items()},
        methods=tuple(spec for entry in methods for spec in _method_specs(entry, path)),
        seeds=seeds,
        dense=data.get("dense", False),
        arch_overrides=arch_overrides,
        recipe=None if recipe is None else load_recipe(_beside(recipe, path)),
    )


def _check_types(data: dict[str, Any], path: Path) -> None:
    """Refuse unknown top-level keys and values of the wrong TOML type, by name."""
    unknown = sorted(set(data) - set(_PRESET_TYPES))
    if unknown:
        raise UserError(f"preset {path}: unknown key(s) {', '.join(unknown)}")
    for key, value in data.items():
        kind, expected = _PRESET_TYPES[key]
        # bool is an int in Python, and `seeds = true` is not a number of seeds
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UserError(f"preset {path}: {key} must be {expected}, got {value!r}")


def _axis(values: list[Any], where: str) -> list[Any]:
    """A list of values to expand over: an empty one would plan no runs at all."""
    if not values:
        raise UserError(f"{where}: an empty list plans no runs; give at least one value")
    return values


def _beside(name_or_path: str, preset: Path) -> str:
    """A recipe path in a user's preset is relative to that preset's folder."""
    if not Path(name_or_path).suffix:
        return name_or_path
    return str(preset.parent / name_or_path)


def _fields(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table")
    unknown = sorted(set(table) - set(FIELD_NAMES))
    if unknown:
        raise UserError(f"{where}: unknown run field(s) {', '.join(unknown)}")
    for reserved, source in _RESERVED.items():
        if reserved in table:
            raise UserError(f"{where}: {reserved!r} is set by {source}")
    return dict(table)


def _method_specs(entry: Any, path: Path) -> list[MethodSpec]:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UserError(f"preset {path}: each [[method]] needs a name")
    params = entry.get("params", {})
    fixed = entry.get("fixed_sparsity", False)
    if not isinstance(params, dict) or set(entry) - {"name", "params", "fixed_sparsity"}:
        raise UserError(
            f"preset {path}: [[method]] {entry['name']!r} takes only name, params and "
            "fixed_sparsity"
        )
    if not isinstance(fixed, bool):
        raise UserError(
            f"preset {path}: [[method]] {entry['name']!r} fixed_sparsity must be true or false"
        )
    where = f"preset {path} [[method]] {entry['name']!r} params"
    axes = {k: _axis(v, f"{where} {k}") if isinstance(v, list) else [v] for k, v in params.items()}
    return [
        MethodSpec(entry["name"], tuple(sorted(zip(axes, values, strict=True))), fixed)
        for values in itertools.product(*axes.values())
    ]


RUNS_MAX = 100_000
"""The most runs one grid may plan: counted before expansion, so that `--seeds 10**12`
is refused at once instead of building configurations for hours. The paper grid is 186."""


def expand(
    preset: Preset, seeds: int | None = None, overrides: Mapping[str, Any] | None = None
) -> list[RunConfig]:
    """Every run of the preset, validated, in a stable order (seed-major within settings)."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(FIELD_NAMES))
    if unknown:
        raise UserError(f"unknown run field(s) to override: {', '.join(unknown)}")
    for reserved, source in _RESERVED.items():
        if reserved in overrides:
            raise UserError(
                f"{reserved!r} cannot be overridden (--set {reserved}=...): every run of a "
                f"grid takes it from {source}"
            )
    grid = {k: v for k, v in preset.grid.items() if k not in overrides}
    axes = list(grid)
    n_seeds = preset.seeds if seeds is None else seeds
    if n_seeds < 1:
        raise UserError("--seeds must be at least 1")
    dense_points = math.prod(len(v) for k, v in grid.items() if k not in PRUNING_AXES)
    pruned_points = math.prod(len(v) for v in grid.values()) * len(preset.methods)
    planned = n_seeds * (pruned_points + (dense_points if preset.dense else 0))
    if planned > RUNS_MAX:
        raise UserError(
            f"this grid plans {planned} runs ({n_seeds} seeds); at most {RUNS_MAX} fit one "
            "store (a file per run): ask for fewer seeds or a smaller grid"
        )
    configs: list[RunConfig] = []
    seen: set[str] = set()

    def add(values: dict[str, Any]) -> None:
        # Overrides beat the preset; the grid point beats overrides only where it must
        # (seed, method, and the dense baseline's zero sparsity).
        arch = {**preset.base_for(""), **overrides, **values}.get("arch", RunConfig().arch)
        fields = {**preset.base_for(arch), **overrides, **values}
        if fields.pop("fixed_sparsity", False):
            target = fields.get("target_sparsity", RunConfig().target_sparsity)
            fields["init_density"] = round(1.0 - target, 12)  # 0.05, not 0.050000000000000044
        config = prepare(config_from_dict(fields))
        if config.run_id() not in seen:
            seen.add(config.run_id())
            configs.append(config)

    for combination in itertools.product(*grid.values()):
        point = dict(zip(axes, combination, strict=True))
        for method in preset.methods:
            for seed in range(n_seeds):
                add(
                    {
                        **point,
                        "method": method.name,
                        "method_params": method.params,
                        "fixed_sparsity": method.fixed_sparsity,
                        "seed": seed,
                    }
                )
    if preset.dense:
        dense_axes = [axis for axis in axes if axis not in PRUNING_AXES]
        for combination in itertools.product(*(grid[axis] for axis in dense_axes)):
            point = dict(zip(dense_axes, combination, strict=True))
            for seed in range(n_seeds):
                add(
                    {
                        **point,
                        "method": "dense",
                        "target_sparsity": 0.0,
                        "init_density": 1.0,
                        "seed": seed,
                    }
                )
    return configs
