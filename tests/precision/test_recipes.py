"""One recipe type and one registry: every name in use resolves in every command where it means
something, aliases resolve to the same recipe, and a name means the same formats everywhere."""

from __future__ import annotations

import dataclasses

import pytest

from coscale.errors import CoscaleError
from coscale.lab.recipes import get_recipe, list_recipes
from coscale.numerics.schemes import get_scheme
from coscale.registry import Registry
from coscale.specs.precision import PRECISION_RECIPES, PrecisionRecipe, get_precision, recipe_for, recipes_for
from coscale.train.memory import state_bytes_per_param
from coscale.train.precision import get_training_precision

# the names each command accepted before the recipes were unified
INFERENCE = ["bf16", "fp16", "fp8", "int8", "mxfp8", "mxfp4", "nvfp4", "fp8-weight-only", "int8-weight-only",
             "int4-weight-only", "mxfp4-weight-only", "nvfp4-weight-only"]
TRAINING = ["bf16", "fp16", "fp8", "fp8-block", "mxfp8", "nvfp4"]
LAB = ["bf16", "fp8-tensor", "fp8-delayed", "fp8-block", "mxfp8", "nvfp4", "nvfp4-no2d", "nvfp4-no-rht",
       "nvfp4-no-sr", "nvfp4-all-fp4"]
LOOKUPS = {"inference": get_precision, "training": get_training_precision, "lab": get_recipe}


@pytest.mark.parametrize(("use", "names"), [("inference", INFERENCE), ("training", TRAINING), ("lab", LAB)])
def test_every_name_in_use_today_still_resolves(use: str, names: list[str]) -> None:
    for name in names:
        recipe = LOOKUPS[use](name)
        assert isinstance(recipe, PrecisionRecipe) and use in recipe.uses


def test_every_registry_name_resolves_in_every_command_where_it_is_meaningful() -> None:
    for name, recipe in PRECISION_RECIPES.items():
        for use, lookup in LOOKUPS.items():
            if use in recipe.uses:
                assert lookup(name) is recipe
            else:
                with pytest.raises(CoscaleError, match=f"'{name}' has no meaning for {use}") as err:
                    lookup(name)
                assert "\n" not in str(err.value)


def test_fp8_is_an_alias_of_fp8_tensor_in_every_command() -> None:
    for lookup in LOOKUPS.values():
        assert lookup("fp8") is lookup("fp8-tensor") is PRECISION_RECIPES["fp8-tensor"]
    assert PRECISION_RECIPES.canonical("fp8") == "fp8-tensor"
    assert "fp8" not in list(PRECISION_RECIPES)  # listings show each recipe once


def test_the_lab_lists_the_same_recipes_in_the_same_order() -> None:
    assert list_recipes() == LAB


def test_unknown_names_get_the_did_you_mean_error_of_the_command() -> None:
    with pytest.raises(CoscaleError, match=r"unknown precision 'fp5'\. Did you mean"):
        get_precision("fp5")
    with pytest.raises(CoscaleError, match=r"unknown training precision 'mxfp9'.*Did you mean mxfp8.*fp8 = fp8-tensor"):
        get_training_precision("mxfp9")
    with pytest.raises(CoscaleError, match=r"unknown recipe 'fp3'"):
        get_recipe("fp3")


def test_one_name_means_the_same_formats_in_every_command() -> None:
    for name in ("bf16", "fp8-tensor", "fp8-block", "mxfp8", "nvfp4"):
        a, b = get_precision(name), get_training_precision(name)
        assert a is b and a.weights == b.weights and a.activations == b.activations
    nvfp4 = get_precision("nvfp4")
    assert nvfp4.weights.name == nvfp4.activations.name == "nvfp4" and not nvfp4.weight_only  # W4A4


OPERAND_ROLES = {"fprop_input": "activations", "fprop_weight": "weights", "wgrad_input": "activations",
                 "dgrad_weight": "weights", "dgrad_grad_output": "grad_outputs", "wgrad_grad_output": "grad_outputs"}


@pytest.mark.parametrize("name", LAB)
def test_cost_formats_are_the_storage_of_what_the_lab_emulates(name: str) -> None:
    recipe = get_recipe(name)
    for operand, role in OPERAND_ROLES.items():
        quant = getattr(recipe.linears, operand)
        fmt = getattr(recipe, role)
        emulated = get_scheme(quant.scheme) if quant else get_scheme("bf16")
        stored = get_scheme(fmt.scheme)
        assert (emulated.element, emulated.bits_per_element) == (stored.element, stored.bits_per_element), operand


def test_ssm_state_and_optimizer_roles_default_to_bf16_and_fp32() -> None:
    for recipe in PRECISION_RECIPES.values():
        assert recipe.ssm_state.name == "bf16"  # Mamba state stays BF16 whatever the KV format
        assert recipe.master_weights.name == recipe.optimizer_state.name == recipe.grad_accumulation.name == "fp32"
    assert get_precision("nvfp4", kv_cache="fp8").ssm_state.name == "bf16"


# bytes per parameter of the model state: 16-bit weights + grads, FP32 master + 2 Adam moments
# (ZeRO's 2 + 2 + 12), + 2 for FP32 grad accumulation, + the quantised weight copies with scales
STATE_BYTES = {
    "bf16": 18.0,
    "fp16": 18.0,
    "fp8": 18.0 + 1.0,
    "fp8-delayed": 18.0 + 1.0,
    "fp8-block": 18.0 + 2 * (8 + 32 / 128**2) / 8,
    "mxfp8": 18.0 + 2 * 8.25 / 8,
    "nvfp4": 18.0 + 2 * 4.5 / 8,
}


@pytest.mark.parametrize(("name", "expected"), sorted(STATE_BYTES.items()))
def test_training_state_bytes_per_parameter(name: str, expected: float) -> None:
    p = get_training_precision(name)
    assert state_bytes_per_param(p, fp32_grad_accum=True) == expected
    assert state_bytes_per_param(p, fp32_grad_accum=False) == expected - 2.0


def test_training_classes() -> None:
    classes = {n: (get_training_precision(n).gemm_class, get_training_precision(n).attention_class,
                   get_training_precision(n).mfu_class) for n in STATE_BYTES}
    assert classes == {"bf16": ("bf16", "bf16", "bf16"), "fp16": ("fp16", "fp16", "fp16"),
                       "fp8": ("fp8", "bf16", "fp8"), "fp8-delayed": ("fp8", "bf16", "fp8"),
                       "fp8-block": ("fp8", "bf16", "fp8"), "mxfp8": ("fp8", "bf16", "fp8"),
                       "nvfp4": ("fp4", "bf16", "fp4")}


def test_recipes_are_plain_values() -> None:
    recipe = get_recipe("nvfp4")
    assert dataclasses.asdict(recipe)["linears"]["fprop_weight"]["scheme"] == "nvfp4_2d"
    with pytest.raises(CoscaleError, match="lab recipe needs `linears`"):
        dataclasses.replace(recipe, linears=None)
    kv = recipe.with_kv_cache(get_precision("fp8").weights)
    assert kv.kv_cache.name == "fp8" and kv.weights is recipe.weights


def test_registry_views_keep_aliases_and_reject_shadowing() -> None:
    assert recipes_for("training").aliases == recipes_for("lab").aliases == {"fp8": "fp8-tensor"}
    assert recipe_for("fp8", "inference").name == "fp8-tensor"
    reg = Registry("thing", [("alpha", 1), ("beta", 2)], {"a": "alpha"})
    assert reg.lookup("a") == reg["a"] == 1 and list(reg) == ["alpha", "beta"] and len(reg) == 2
    assert reg.get("gamma") is None  # a Mapping still; `lookup` is the raising look-up
    with pytest.raises(CoscaleError, match=r"unknown thing 'alpah'\. Did you mean alpha\?.*aliases: a = alpha"):
        reg.lookup("alpah")
    with pytest.raises(ValueError, match="shadow"):
        Registry("thing", [("a", 1), ("b", 2)], {"a": "b"})
    with pytest.raises(ValueError, match="duplicate"):
        Registry("thing", [("a", 1), ("a", 2)])
