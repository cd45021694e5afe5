"""Recipe look-up per command: one registry, filtered to the recipes that mean something there.

An unknown name gets the did-you-mean error; a known name that has no meaning for the command (an
NVFP4 ablation for inference, a weight-only recipe for training) gets a one-line error that says
what the recipe is for and lists the ones that fit.
"""

from __future__ import annotations

from functools import cache

from coscale.errors import CoscaleError
from coscale.registry import Registry
from coscale.specs.precision.formats import get_kv_format
from coscale.specs.precision.recipe import PrecisionRecipe, Use
from coscale.specs.precision.recipes import PRECISION_RECIPES

KIND: dict[Use, str] = {"inference": "precision", "training": "training precision", "lab": "recipe"}


@cache
def recipes_for(use: Use) -> Registry[PrecisionRecipe]:
    """The recipes (and aliases) meaningful to one command, in registry order."""
    return PRECISION_RECIPES.subset(KIND[use], lambda r: use in r.uses)


def recipe_for(name: str, use: Use) -> PrecisionRecipe:
    table = recipes_for(use)
    if name in table:
        return table[name]
    if name not in PRECISION_RECIPES:
        raise table.unknown(name)
    recipe = PRECISION_RECIPES[name]
    raise CoscaleError(
        f"{KIND[use]} '{name}' has no meaning for {use} ({recipe.description}; it is for "
        f"{' and '.join(recipe.uses)} only). Use one of: {', '.join(table)}."
    )


def get_precision(name: str, kv_cache: str | None = None) -> PrecisionRecipe:
    """Inference recipe by name, optionally overriding the KV-cache format (`--kv-precision`)."""
    recipe = recipe_for(name, "inference")
    return recipe if kv_cache is None else recipe.with_kv_cache(get_kv_format(kv_cache))
