"""Recipes are data applied by one code path; quantized runs are deterministic and resumable."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from coscale.errors import CoscaleError
from coscale.lab.apply import apply_recipe
from coscale.lab.layers import Bf16Linear
from coscale.lab.memory import scheme_bytes, training_state_bytes
from coscale.lab.model import LabLM
from coscale.lab.recipes import get_recipe, list_recipes, nvfp4_recipe
from coscale.lab.train import train_run
from coscale.numerics import QuantLinear, QuantLinearConfig

from .conftest import with_steps


def test_every_recipe_builds_a_valid_numerics_config():
    for name in list_recipes():
        recipe = get_recipe(name)
        assert isinstance(recipe.linears, QuantLinearConfig)
        assert recipe.quantized == (name != "bf16")
    with pytest.raises(CoscaleError, match="unknown recipe"):
        get_recipe("fp3")


def test_fp8_delayed_follows_transformer_engine_defaults():
    """TE DelayedScaling defaults (reference/numerics.md 1.3): HYBRID format (E4M3 forward operands,
    E5M2 gradients), amax history 1024 with 'max', margin 0: the scale of a step is the max amax of
    up to 1024 previous training steps, so one large early amax still sets the scale 20 steps on."""
    gemms = get_recipe("fp8-delayed").linears
    fwd = (gemms.fprop_input, gemms.fprop_weight, gemms.dgrad_weight, gemms.wgrad_input)
    grads = (gemms.dgrad_grad_output, gemms.wgrad_grad_output)
    assert {op.scheme for op in fwd} == {"fp8_e4m3_tensor"} and {op.scheme for op in grads} == {"fp8_e5m2_tensor"}
    assert {op.amax_history for op in fwd + grads} == {1024}
    torch.manual_seed(0)
    layer = QuantLinear.from_linear(torch.nn.Linear(16, 8, bias=False), gemms).train()
    big = torch.randn(4, 16)
    big[0, 0] = 100.0
    layer(big).sum().backward()
    for _ in range(20):  # twenty steps with amax < 5 after the step with amax 100
        layer(torch.randn(4, 16).clamp(-4.0, 4.0)).sum().backward()
    x = torch.randn(4, 16).clamp(-4.0, 4.0)
    scale = layer._delayed_scale(x, "fprop_input", gemms.fprop_input, update=False)
    assert float(scale) == pytest.approx(100.0 / 448.0)  # 'max' over the whole history, E4M3 max 448
    # the 21 rolled amaxes sit in the first 21 slots, newest first; the rest of the window is still empty
    hist = layer.amax_history_fprop_input
    assert float(hist[20]) == 100.0 and float(hist[:20].max()) <= 4.0 and not hist[21:].any()


def test_nvfp4_ingredients_are_switchable():
    full = nvfp4_recipe()
    gemms = full.linears
    assert gemms.fprop_weight.scheme == "nvfp4_2d" and gemms.dgrad_weight.scheme == "nvfp4_2d"
    assert gemms.wgrad_input.hadamard == 16 and gemms.wgrad_grad_output.hadamard == 16
    assert gemms.fprop_input.hadamard is None and gemms.dgrad_grad_output.hadamard is None  # RHT on Wgrad only
    assert gemms.dgrad_grad_output.rounding == "stochastic" and gemms.fprop_input.rounding == "nearest_even"
    assert full.bf16_last_blocks == 1
    assert get_recipe("nvfp4-no2d").linears.fprop_weight.scheme == "nvfp4"
    assert get_recipe("nvfp4-no-rht").linears.wgrad_input.hadamard is None
    assert get_recipe("nvfp4-no-sr").linears.wgrad_grad_output.rounding == "nearest_even"
    assert get_recipe("nvfp4-all-fp4").bf16_last_blocks == 0


def test_apply_keeps_last_block_bf16_and_weights_unchanged(tiny_preset):
    torch.manual_seed(0)
    model = LabLM(tiny_preset.model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plan = apply_recipe(model, get_recipe("nvfp4"), seed=0)
    last = f"blocks.{len(model.blocks) - 1}."
    assert all((v == "bf16") == k.startswith(last) for k, v in plan.items())
    for name, module in model.named_modules():
        if name in plan:
            assert isinstance(module, QuantLinear if plan[name] == "quant" else Bf16Linear)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(model.head, Bf16Linear)  # LM head never quantized


def test_state_bytes_reflect_the_compute_copy(tiny_preset):
    torch.manual_seed(0)
    bf16, fp4 = LabLM(tiny_preset.model), LabLM(tiny_preset.model)
    apply_recipe(fp4, get_recipe("nvfp4-all-fp4"))
    a, b = training_state_bytes(bf16, get_recipe("bf16")), training_state_bytes(fp4, get_recipe("nvfp4-all-fp4"))
    n = sum(p.numel() for p in bf16.parameters())
    assert a["optimizer"] == b["optimizer"] == 8 * n and a["grads"] == 4 * n
    assert b["weights"] < a["weights"]
    # NVFP4 1x16: 4 bits per element + one E4M3 scale per 16 elements + one FP32 tensor scale.
    assert scheme_bytes((32, 64), "nvfp4") == 32 * 64 / 2 + 32 * 4 + 4


@pytest.mark.parametrize("name", ["nvfp4", "fp8-delayed"])
def test_quantized_runs_are_deterministic_and_resume_identically(name, tiny_preset, corpus, tmp_path):
    preset = with_steps(tiny_preset, 6)
    recipe = get_recipe(name)
    full, _ = train_run(preset, recipe, corpus, seed=3, out_dir=None)
    again, _ = train_run(preset, recipe, corpus, seed=3, out_dir=None)
    assert full.train_loss == again.train_loss
    train_run(preset, recipe, corpus, seed=3, out_dir=tmp_path, should_stop=lambda s: s == 3)
    resumed, _ = train_run(preset, recipe, corpus, seed=3, out_dir=tmp_path)
    assert resumed.resumed_from == 3 and resumed.train_loss == full.train_loss
    assert resumed.val_loss == full.val_loss


def test_quantized_training_differs_from_bf16(tiny_preset, corpus):
    preset = dataclasses.replace(tiny_preset, train=dataclasses.replace(tiny_preset.train, steps=3))
    bf16, _ = train_run(preset, get_recipe("bf16"), corpus, seed=0, out_dir=None)
    fp4, _ = train_run(preset, get_recipe("nvfp4-all-fp4"), corpus, seed=0, out_dir=None)
    assert bf16.train_loss[0] != fp4.train_loss[0]
    assert abs(bf16.train_loss[0] - fp4.train_loss[0]) < 0.05  # same init, same data: close but not equal
