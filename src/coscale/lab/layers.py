"""Attention, dense MLP and MoE blocks of the lab LM, plus RMSNorm and the BF16-emulating linear.

Every projection is an `nn.Linear` so that a precision recipe can later swap it (by module path)
for a quantized linear; nothing in these blocks knows about number formats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from coscale.lab.config import LabModelConfig


class Bf16Linear(nn.Linear):
    """A linear layer whose GEMM operands and output are rounded to bfloat16 (FP32 accumulation).

    This is how the lab emulates BF16 training on any device: `x.bfloat16().float()` rounds the
    forward operand and, through autograd's cast, the gradient flowing back, so Fprop, Dgrad and
    Wgrad all see BF16 operands while the FP32 master weight is what the optimizer updates.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.bfloat16().float()
        y = F.linear(x.bfloat16().float(), w, None if self.bias is None else self.bias.bfloat16().float())
        return y.bfloat16().float()


class RMSNorm(nn.Module):
    """Root-mean-square norm in FP32 (norms stay high precision in every recipe)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cache(seq_len: int, head_dim: int, theta: float, device: torch.device) -> tuple[torch.Tensor, ...]:
    """cos/sin tables for rotary position embeddings (half-split convention)."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    ang = torch.outer(torch.arange(seq_len, device=device, dtype=torch.float32), inv)
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (batch, heads, seq, head_dim) by position."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    """Causal GQA self-attention with RoPE; softmax and the two BMMs stay in FP32 in every recipe."""

    def __init__(self, cfg: LabModelConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.hd, self.theta = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.rope_theta
        self.qkv = nn.Linear(cfg.d_model, (cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.head_dim, bias=False)
        self.out = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split([self.n_heads * self.hd, self.n_kv * self.hd, self.n_kv * self.hd], dim=-1)
        q = q.view(b, t, self.n_heads, self.hd).transpose(1, 2)
        k = k.view(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = v.view(b, t, self.n_kv, self.hd).transpose(1, 2)
        cos, sin = rope_cache(t, self.hd, self.theta, x.device)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, self.n_heads * self.hd))


class MLP(nn.Module):
    """Dense FFN: SwiGLU (gate and up fused in one projection) or squared ReLU (Nemotron-H)."""

    def __init__(self, d_model: int, hidden: int, activation: str) -> None:
        super().__init__()
        self.activation = activation
        self.up = nn.Linear(d_model, 2 * hidden if activation == "swiglu" else hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(x)
        if self.activation == "swiglu":
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        else:
            h = F.relu(h).square()
        return self.down(h)


class MoE(nn.Module):
    """Top-k routed experts with a Switch-style load-balancing loss.

    Dispatch is vectorised: tokens are sorted by expert once and each expert runs one GEMM on its
    contiguous slice, then results are scattered back weighted by the (renormalised) router
    probabilities. The router stays FP32, as in DeepSeek-V3 and the NVFP4 recipe.
    """

    def __init__(self, cfg: LabModelConfig) -> None:
        super().__init__()
        self.top_k, self.n_experts = cfg.top_k, cfg.n_experts
        self.router = nn.Parameter(torch.randn(cfg.n_experts, cfg.d_model) * cfg.d_model**-0.5)
        self.experts = nn.ModuleList(
            MLP(cfg.d_model, cfg.expert_hidden, cfg.mlp_activation) for _ in range(cfg.n_experts)
        )
        self.aux_loss: torch.Tensor | None = None  # set by forward, taken by LabLM.take_aux_loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        probs = F.softmax(flat @ self.router.t(), dim=-1)
        top_p, top_i = probs.topk(self.top_k, dim=-1)
        top_p = top_p / top_p.sum(-1, keepdim=True)
        # Switch loss: n_experts * sum_e (fraction of routed slots to e) * (mean router prob of e).
        frac = F.one_hot(top_i, self.n_experts).float().sum((0, 1)) / top_i.numel()
        self.aux_loss = self.n_experts * (frac * probs.mean(0)).sum()
        expert_of_slot = top_i.reshape(-1)
        order = torch.argsort(expert_of_slot, stable=True)
        token_of_slot = torch.arange(flat.shape[0], device=x.device).repeat_interleave(self.top_k)[order]
        counts = torch.bincount(expert_of_slot, minlength=self.n_experts).tolist()
        inputs = flat[token_of_slot].split(counts)
        outputs = [expert(inp) for expert, inp in zip(self.experts, inputs, strict=True) if inp.shape[0] > 0]
        out_sorted = torch.cat(outputs) * top_p.reshape(-1)[order, None]
        out = torch.zeros_like(flat).index_add_(0, token_of_slot, out_sorted)
        return out.reshape(shape)
