"""Layer kinds of the lab LM against slow references, causality and the MoE balancing loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from coscale.errors import CoscaleError
from coscale.lab.config import LabModelConfig
from coscale.lab.layers import MLP, Attention, Bf16Linear, MoE
from coscale.lab.model import LabLM

CFG = LabModelConfig(
    pattern="M*-E",
    d_model=32,
    n_heads=4,
    n_kv_heads=2,
    head_dim=8,
    mlp_hidden=48,
    expert_hidden=24,
    n_experts=4,
    top_k=2,
    mamba_head_dim=16,
    mamba_d_state=8,
    mamba_chunk=8,
)


def test_attention_matches_naive_gqa():
    torch.manual_seed(0)
    attn = Attention(CFG)
    x = torch.randn(2, 11, 32)
    q, k, v = attn.qkv(x).split([32, 16, 16], dim=-1)
    from coscale.lab.layers import apply_rope, rope_cache

    q = q.view(2, 11, 4, 8).transpose(1, 2)
    k = k.view(2, 11, 2, 8).transpose(1, 2)
    v = v.view(2, 11, 2, 8).transpose(1, 2)
    cos, sin = rope_cache(11, 8, CFG.rope_theta, x.device)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    out = torch.zeros(2, 4, 11, 8)
    for h in range(4):
        kv = h // 2  # query head h reads kv head h // (n_heads / n_kv)
        scores = q[:, h] @ k[:, kv].transpose(-1, -2) / math.sqrt(8)
        scores = scores.masked_fill(torch.triu(torch.ones(11, 11, dtype=torch.bool), 1), -math.inf)
        out[:, h] = scores.softmax(-1) @ v[:, kv]
    ref = attn.out(out.transpose(1, 2).reshape(2, 11, 32))
    torch.testing.assert_close(attn(x), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("activation", ["swiglu", "relu2"])
def test_mlp_activations(activation):
    torch.manual_seed(0)
    mlp = MLP(16, 8, activation)
    x = torch.randn(3, 16)
    h = mlp.up(x)
    ref = F.silu(h[:, :8]) * h[:, 8:] if activation == "swiglu" else F.relu(h) ** 2
    torch.testing.assert_close(mlp(x), mlp.down(ref))


def test_moe_vectorised_dispatch_matches_per_token_loop():
    torch.manual_seed(0)
    moe = MoE(CFG)
    x = torch.randn(3, 7, 32)
    out = moe(x)
    flat = x.reshape(-1, 32)
    probs = F.softmax(flat @ moe.router.t(), dim=-1)
    ref = torch.zeros_like(flat)
    for t in range(flat.shape[0]):
        p, idx = probs[t].topk(2)
        p = p / p.sum()
        for weight, e in zip(p, idx, strict=True):
            ref[t] += weight * moe.experts[int(e)](flat[t : t + 1])[0]
    torch.testing.assert_close(out.reshape(-1, 32), ref, atol=1e-5, rtol=1e-5)


def test_moe_balancing_loss_is_one_when_router_is_uniform_and_larger_when_skewed():
    moe = MoE(CFG)
    with torch.no_grad():
        moe.router.zero_()
    moe(torch.randn(2, 8, 32))
    assert moe.aux_loss.item() == pytest.approx(1.0)
    with torch.no_grad():
        moe.router.zero_()
        moe.router[0] = 5.0  # every token prefers expert 0
    moe(torch.rand(2, 8, 32) + 0.1)
    assert moe.aux_loss.item() > 1.5


def test_lm_is_causal_and_trains_a_step():
    torch.manual_seed(0)
    model = LabLM(CFG)
    tokens = torch.randint(0, 256, (2, 20))
    other = tokens.clone()
    other[:, 12:] = torch.randint(0, 256, (2, 8))
    torch.testing.assert_close(model(tokens)[:, :12], model(other)[:, :12])
    model.take_aux_loss()
    loss, ce = model.loss(tokens[:, :-1], tokens[:, 1:])
    assert abs(ce.item() - math.log(256)) < 0.5  # near-uniform prediction at init
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bf16_linear_rounds_operands_and_gradients():
    torch.manual_seed(0)
    lin = Bf16Linear(8, 4, bias=False)
    x = torch.randn(3, 8, requires_grad=True)
    y = lin(x)
    ref = (x.bfloat16().float() @ lin.weight.bfloat16().float().t()).bfloat16().float()
    torch.testing.assert_close(y, ref, atol=0, rtol=0)
    y.backward(torch.randn(3, 4))
    assert torch.equal(x.grad, x.grad.bfloat16().float())  # Dgrad output is BF16-valued


def test_bad_pattern_is_a_user_error():
    with pytest.raises(CoscaleError, match="unknown kinds"):
        LabModelConfig(pattern="MX*", d_model=32)
