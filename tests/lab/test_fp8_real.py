"""The real-FP8 GEMM path: same quantized operands and products as the emulated path, selectable,
and a one-line fallback where there are no FP8 tensor cores."""

from __future__ import annotations

import pytest
import torch

from coscale.errors import CoscaleError
from coscale.lab.apply import apply_recipe
from coscale.lab.fp8_real import (
    RealBf16Linear,
    RealFp8Linear,
    real_fp8_supported,
    resolve_backend,
    scaled_mm,
    to_fp8,
)
from coscale.lab.layers import Bf16Linear
from coscale.lab.model import LabLM
from coscale.lab.recipes import get_recipe, list_recipes
from coscale.numerics import QuantLinear, fake_quant


def _cpu_scaled_mm_works() -> bool:
    try:
        a = torch.zeros(16, 16).to(torch.float8_e4m3fn)
        torch._scaled_mm(a, a.t(), scale_a=torch.tensor(1.0), scale_b=torch.tensor(1.0), out_dtype=torch.float32)
        return True
    except (RuntimeError, NotImplementedError):
        return False


@pytest.fixture(autouse=True)
def _reference_scaled_mm(monkeypatch):
    """Where this torch has no CPU _scaled_mm, the same FP8 codes multiplied in float32 stand in."""
    if not _cpu_scaled_mm_works():

        def ref(a, b, *, scale_a, scale_b, out_dtype):
            return ((a.float() * scale_a) @ (b.float() * scale_b)).to(out_dtype)

        monkeypatch.setattr(torch, "_scaled_mm", ref)


@pytest.mark.parametrize("name", ["fp8-tensor", "fp8-delayed"])
def test_real_path_matches_emulated_forward_and_backward(name):
    torch.manual_seed(0)
    config = get_recipe(name).linears
    lin = torch.nn.Linear(48, 40, bias=True)
    emu, real = QuantLinear.from_linear(lin, config, seed=3), RealFp8Linear.from_linear(lin, config, seed=3)
    for scale in (1.0, 4.0, 0.25):  # growing then shrinking amax: delayed scaling saturates, then underflows
        x = torch.randn(5, 7, 48) * scale
        xe, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
        ye, yr = emu(xe), real(xr)
        g = torch.randn_like(ye)
        (ye * g).sum().backward()
        (yr * g).sum().backward()
        torch.testing.assert_close(yr, ye, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(xr.grad, xe.grad, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(real.weight.grad, emu.weight.grad, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(real.bias.grad, emu.bias.grad)
        emu.weight.grad = real.weight.grad = None
    for key, value in emu.state_dict().items():  # amax histories and the step counter advanced alike
        torch.testing.assert_close(real.state_dict()[key], value)
    assert int(real.step) == 3


@pytest.mark.parametrize("scheme", ["fp8_e4m3_tensor", "fp8_e5m2_tensor"])
def test_fp8_codes_are_the_emulated_grid(scheme):
    torch.manual_seed(1)
    x = torch.randn(64, 32) * torch.logspace(-3, 3, 32)
    amax = x.abs().amax()
    fmax = 448.0 if "e4m3" in scheme else 57344.0
    q = to_fp8(x, amax / fmax, scheme)
    assert torch.equal(q.float() * (amax / fmax), fake_quant(x, scheme))
    # a delayed scale below the current amax saturates at the format max instead of overflowing
    q = to_fp8(x * 4, amax / fmax, scheme)
    assert torch.isfinite(q.float()).all() and q.float().abs().max() == fmax


def test_padding_for_tensor_core_alignment_changes_nothing():
    torch.manual_seed(2)
    a = (torch.randn(9, 37) * 8).to(torch.float8_e4m3fn)
    b = (torch.randn(21, 37) * 8).to(torch.float8_e5m2)
    sa, sb = torch.tensor(0.5), torch.tensor(3.0)
    expect = (a.float() * sa) @ (b.float() * sb).t()
    for align in (1, 16):
        out = scaled_mm(a, b, sa, sb, align=align)
        assert out.shape == (9, 21)
        torch.testing.assert_close(out, expect, rtol=1e-6, atol=1e-5)


def test_only_per_tensor_fp8_recipes_have_a_real_path():
    supported = {n for n in list_recipes() if get_recipe(n).quantized and real_fp8_supported(get_recipe(n).linears)}
    assert supported == {"fp8-tensor", "fp8-delayed"}


def test_no_fp8_tensor_cores_falls_back_with_one_line():
    choice = resolve_backend("real", torch.device("cpu"))
    assert choice.effective == "emulated" and "no FP8 tensor cores" in choice.reason and "\n" not in choice.reason
    assert resolve_backend("emulated", torch.device("cpu")).reason is None
    with pytest.raises(CoscaleError, match="--fp8-backend"):
        resolve_backend("fast", torch.device("cpu"))


def test_real_backend_swaps_the_layer_classes(tiny_preset):
    for recipe, quant_cls in (("fp8-tensor", RealFp8Linear), ("nvfp4", QuantLinear)):
        torch.manual_seed(0)
        model = LabLM(tiny_preset.model)
        plan = apply_recipe(model, get_recipe(recipe), backend="real")
        kinds = {type(model.get_submodule(path)) for path, v in plan.items() if v == "quant"}
        assert kinds == {quant_cls}
        bf16 = {type(model.get_submodule(path)) for path, v in plan.items() if v == "bf16"}
        assert bf16 <= {RealBf16Linear}
    torch.manual_seed(0)
    model = LabLM(tiny_preset.model)
    apply_recipe(model, get_recipe("bf16"), backend="emulated")
    assert {type(m) for m in model.modules() if isinstance(m, torch.nn.Linear) and m is not model.head} <= {
        Bf16Linear,
        torch.nn.Linear,
    }


def test_real_bf16_linear_equals_emulated_bf16():
    torch.manual_seed(3)
    lin = torch.nn.Linear(64, 32, bias=False)
    emu, real = Bf16Linear(64, 32, bias=False), RealBf16Linear(64, 32, bias=False)
    emu.load_state_dict(lin.state_dict())
    real.load_state_dict(lin.state_dict())
    x = torch.randn(10, 64)
    torch.testing.assert_close(real(x), emu(x), rtol=1e-2, atol=1e-2)  # both BF16-rounded outputs
