"""Recipes: named sets of training-procedure fields that presets and single runs build on.

A recipe is how a network is trained and pruned (optimiser, batch, schedule, which
layers may be pruned), separate from what a grid varies (architecture, sparsity, method,
seed), so one recipe serves several presets and a grid can be re-run under another with
`--recipe`. Built-ins live in benchmark/recipes/*.toml: `released` (the FGGP authors'
code, the `paper` preset's) and `granet_style` (this suite's earlier GraNet-style one).

Precedence, lowest first: RunConfig defaults, the recipe, then whatever names a run
more specifically (a preset's [base], a --config file, flags).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.config import FIELD_NAMES, load_config_file, named_file
from benchmark.errors import UserError

RECIPE_DIR = Path(__file__).resolve().parent / "recipes"
# What a run is, not how it is trained: set by presets, flags and seeds, never a recipe.
_NOT_RECIPE = ("method", "method_params", "seed")


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    fields: Mapping[str, Any]


def available_recipes() -> list[str]:
    return sorted(path.stem for path in RECIPE_DIR.glob("*.toml"))


def load_recipe(name_or_path: str) -> Recipe:
    """A built-in recipe by name, or a user's TOML file of run fields by path."""
    path = named_file(name_or_path, RECIPE_DIR, "recipe")
    data = load_config_file(path, "recipe")
    description = data.pop("description", "")
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        raise UserError(f"recipe {path}: unknown run field(s) {', '.join(unknown)}")
    reserved = sorted(set(data) & set(_NOT_RECIPE))
    if reserved:
        raise UserError(f"recipe {path}: {', '.join(reserved)} name a run, not a recipe")
    return Recipe(name=path.stem, description=str(description), fields=data)
