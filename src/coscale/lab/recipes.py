"""Lab precision recipes: the shared `PrecisionRecipe`, looked up among the recipes the lab can run.

A lab recipe names, for the six operands of a linear layer's three GEMMs (Fprop: input x weight,
Dgrad: grad_output x weight, Wgrad: grad_output x input), a quantizer (scheme, rounding, Hadamard
size, amax history) in `recipe.linears`, and which blocks stay in high precision. One code path
(`apply.py`) applies any recipe; an ablation is just another value. In every recipe the master
weights, the weight gradient accumulation and the AdamW state are FP32; embeddings, the LM head,
norms, softmax attention BMMs, the SSD scan and the MoE router are never quantized; linear layers
that a recipe keeps in high precision run with BF16 operands (see `layers.Bf16Linear`). The same
names mean the same formats in `coscale predict` (see `coscale.specs.precision`).
"""

from __future__ import annotations

from coscale.specs.precision import PrecisionRecipe, nvfp4_recipe, recipe_for, recipes_for

Recipe = PrecisionRecipe  # one precision type; the lab's name for it

__all__ = ["Recipe", "get_recipe", "list_recipes", "nvfp4_recipe"]


def list_recipes() -> list[str]:
    return list(recipes_for("lab"))


def get_recipe(name: str) -> PrecisionRecipe:
    return recipe_for(name, "lab")
