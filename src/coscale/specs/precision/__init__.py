"""Precision: one recipe type (`PrecisionRecipe`) mapping tensor roles to storage formats derived
from `coscale.numerics` schemes, and one registry of recipe names shared by every command.

- `formats`: `StorageFormat` (bytes per element and tensor-core class read off a scheme), the
  named storage formats and the KV-cache formats.
- `recipe`: `PrecisionRecipe` (roles, training facts, lab emulation config).
- `recipes`: the registry (`PRECISION_RECIPES`) and `nvfp4_recipe` with its ablations.
- `lookup`: per-command views with one-line errors (`get_precision`, `recipe_for`).

Imports without torch.
"""

from coscale.specs.precision.formats import KV_CACHE_FORMATS, STORAGE_FORMATS, StorageFormat, get_kv_format
from coscale.specs.precision.lookup import get_precision, recipe_for, recipes_for
from coscale.specs.precision.recipe import PrecisionRecipe, Use
from coscale.specs.precision.recipes import PRECISION_RECIPES, nvfp4_recipe

__all__ = [
    "KV_CACHE_FORMATS",
    "PRECISION_RECIPES",
    "STORAGE_FORMATS",
    "PrecisionRecipe",
    "StorageFormat",
    "Use",
    "get_kv_format",
    "get_precision",
    "nvfp4_recipe",
    "recipe_for",
    "recipes_for",
]
