"""Engine options that only some models, recipes and layouts read: given where they would change
nothing, they are refused with the reason (a silently ignored option answers another question).

Checked at the command line only: the library keeps accepting them (a validation case or an explore
axis may set one option for every point, and it is simply inert where it does not apply).
"""

from __future__ import annotations

from typing import Any

from coscale.errors import CoscaleError
from coscale.feasibility.facts import model_facts
from coscale.models.registry import load_model
from coscale.serve.scenario import Deployment
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe, get_precision

BF16_BITS = 16


def check_engine_flags(model: ModelSpec, recipe: PrecisionRecipe, eps: tuple[int, ...], *,
                       moe_a2a: str | None = None, gemm_input_casts: bool | None = None,
                       kv_precision: str | None = None) -> None:
    """`eps`: the expert-parallel degree of every pool the options apply to; each option as given
    (None, or the default, when not given)."""
    facts = model_facts(model)
    if moe_a2a == "deepep":
        if not facts.has_experts:
            raise CoscaleError(f"--moe-a2a-backend deepep runs the MoE all-to-all; {model.name} has no experts: "
                               f"drop it.")
        if max(eps) <= 1:
            raise CoscaleError("--moe-a2a-backend deepep runs the all-to-all of expert parallelism; at EP 1 the "
                               "experts are sharded by TP and there is none: add --ep N or drop it.")
    if gemm_input_casts and recipe.activations.element_bits >= BF16_BITS:
        raise CoscaleError(f"--gemm-input-casts prices the casts of FP8/FP4 GEMM inputs; {recipe.name} runs its GEMMs "
                           f"on {recipe.activations.name.upper()} inputs, so there is none: drop it.")
    if kv_precision is not None and not facts.query_heads:
        raise CoscaleError(f"--kv-precision sets the attention KV cache's format; {model.name} has no attention "
                           f"layers (its per-sequence state is the SSM state): drop it.")


def check_deployment_flags(d: Deployment, given: dict[str, Any], eps: tuple[int, ...]) -> None:
    """`check_engine_flags` for a serving deployment; `given`: the option values as the user gave them."""
    if all(given.get(k) is None for k in ("moe_a2a_backend", "gemm_input_casts", "kv_precision")):
        return
    check_engine_flags(load_model(d.model), get_precision(d.precision, d.kv_precision), eps,
                       moe_a2a=given.get("moe_a2a_backend"), gemm_input_casts=given.get("gemm_input_casts"),
                       kv_precision=given.get("kv_precision"))
