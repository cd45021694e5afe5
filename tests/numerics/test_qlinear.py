"""QuantLinear: exact drop-in when unquantized, per-GEMM quantization, RHT, SR and delayed scaling."""

from __future__ import annotations

import torch
from torch import nn

from coscale.numerics import (
    OperandQuant,
    QuantLinear,
    QuantLinearConfig,
    fake_quant,
    hadamard_matrix,
    random_hadamard_transform,
)


def _pair(cfg: QuantLinearConfig, seed: int = 0) -> tuple[nn.Linear, QuantLinear]:
    torch.manual_seed(seed)
    lin = nn.Linear(48, 24)
    return lin, QuantLinear.from_linear(lin, cfg)


def _grads(mod: nn.Module, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_()
    mod.zero_grad()
    y = mod(x)
    y.backward(g)
    return y.detach(), x.grad, mod.weight.grad.clone(), mod.bias.grad.clone()


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(4, 10, 48, generator=gen), torch.randn(4, 10, 24, generator=gen)


def test_unquantized_is_exactly_nn_linear() -> None:
    lin, q = _pair(QuantLinearConfig())
    x, g = _data()
    for a, b in zip(_grads(lin, x, g), _grads(q, x, g), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    torch.manual_seed(3)
    ref = nn.Linear(7, 5)
    torch.manual_seed(3)
    same_init = QuantLinear(7, 5, config=QuantLinearConfig())
    assert torch.equal(ref.weight, same_init.weight) and torch.equal(ref.bias, same_init.bias)


def test_each_gemm_quantizes_its_own_operands() -> None:
    """With only fprop_input quantized, y equals F.linear(fake_quant(x), W) and grads are exact."""
    op = OperandQuant(scheme="mxfp4")
    lin, q = _pair(QuantLinearConfig(fprop_input=op))
    x, g = _data()
    y, gx, gw, _ = _grads(q, x, g)
    assert torch.allclose(y, nn.functional.linear(fake_quant(x, "mxfp4"), lin.weight, lin.bias), atol=1e-5)
    _, gx0, gw0, _ = _grads(lin, x, g)
    assert torch.allclose(gx, gx0, atol=1e-5) and torch.allclose(gw, gw0, atol=1e-5)
    # only wgrad quantized: gradient of W uses quantized g^T and x^T along tokens; others exact
    _, q2 = _pair(QuantLinearConfig(wgrad_grad_output=op, wgrad_input=op))
    _, gx2, gw2, _ = _grads(q2, x, g)
    x2, g2 = x.reshape(-1, 48), g.reshape(-1, 24)
    expect = fake_quant(g2.T.contiguous(), "mxfp4") @ fake_quant(x2.T.contiguous(), "mxfp4").T
    assert torch.allclose(gw2, expect, atol=1e-5) and torch.allclose(gx2, gx0, atol=1e-5)
    assert not torch.allclose(gw2, gw0, atol=1e-3)


def test_hadamard_is_orthonormal_and_cancels_in_gemm() -> None:
    for n in (2, 16, 64):
        h = hadamard_matrix(n).double()
        assert torch.allclose(h @ h.T, torch.eye(n, dtype=torch.float64), atol=1e-6)
    a = torch.randn(8, 64, dtype=torch.float64)
    b = torch.randn(5, 64, dtype=torch.float64)
    ra, rb = random_hadamard_transform(a, 16), random_hadamard_transform(b, 16)
    assert torch.allclose(ra @ rb.T, a @ b.T)
    assert torch.allclose(random_hadamard_transform(ra, 16, inverse=True), a)
    # RHT alone inside QuantLinear (no quantization) leaves the result unchanged, tokens not % 16
    rot = OperandQuant(scheme="bf16", hadamard=16)
    lin, q = _pair(QuantLinearConfig(wgrad_input=rot))
    x, g = _data()
    assert torch.allclose(_grads(q, x, g)[2], _grads(lin, x, g)[2], rtol=0.02, atol=0.05)  # bf16 only


def test_rht_reduces_mxfp4_error_on_sparse_outliers() -> None:
    """Orthonormal, so the error measured in the rotated domain is the error of x itself."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4096, 256, generator=gen)
    x[torch.rand(4096, 256, generator=gen) < 0.01] *= 20  # sparse outliers
    r = random_hadamard_transform(x, 16)
    plain = (fake_quant(x, "mxfp4") - x).norm() / x.norm()
    rotated = (fake_quant(r, "mxfp4") - r).norm() / r.norm()
    assert rotated < 0.8 * plain


def test_stochastic_rounding_reproducible_per_seed_and_step() -> None:
    cfg = QuantLinearConfig.nvfp4_recipe()
    x, g = _data()
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        q = QuantLinear(48, 24, config=cfg, seed=seed)
        runs.append([_grads(q, x, g)[2] for _ in range(2)])
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert not torch.equal(runs[0][0], runs[2][0])
    assert not torch.equal(runs[0][0], runs[0][1])  # step counter advances the draws


def test_delayed_scaling_history_buffers() -> None:
    op = OperandQuant(scheme="fp8_e4m3_tensor", amax_history=4)
    cfg = QuantLinearConfig(fprop_input=op, fprop_weight=OperandQuant(scheme="fp8_e4m3_tensor"))
    _, q = _pair(cfg)
    x, g = _data()
    _grads(q, x, g)
    hist = q.amax_history_fprop_input
    assert hist[0] == x.abs().max() and (hist[1:] == 0).all()
    _grads(q, x * 100, g)  # scale from history (old amax) -> large values saturate at 448*scale
    assert hist[0] == (x * 100).abs().max() and hist[1] == x.abs().max()
    y = q(x * 100)
    assert "amax_history_fprop_input" in q.state_dict() and "step" in q.state_dict()
    q.eval()
    before = hist.clone()
    q(x)
    assert torch.equal(before, q.amax_history_fprop_input)  # eval does not roll history
    q.train()
    with torch.no_grad():
        q(x)
    assert torch.equal(before, q.amax_history_fprop_input)  # nor does a no_grad pass in train mode
    assert torch.isfinite(y).all()
