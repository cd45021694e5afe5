"""Mamba-2 mixer with the chunked SSD scan in plain PyTorch, and the naive recurrence it must match.

The chunked form (Dao & Gu, "Transformers are SSMs", 2024) splits the sequence into chunks: inside
a chunk the SSM is a masked quadratic "attention" with decay weights, and a short recurrence over
chunk states carries information across chunks. It is what makes Mamba-2 GEMM-shaped; the naive
per-token recurrence below is the obviously correct reference the tests compare it to.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from coscale.lab.config import LabModelConfig
from coscale.lab.layers import RMSNorm


def segsum(a: torch.Tensor) -> torch.Tensor:
    """out[..., i, j] = sum(a[..., j+1 : i+1]) for j <= i, -inf above the diagonal (stable form)."""
    t = a.shape[-1]
    a = a[..., None].expand(*a.shape, t)
    a = a.masked_fill(~torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device), -1), 0.0)
    s = a.cumsum(dim=-2)
    return s.masked_fill(~torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device), 0), -math.inf)


def ssd_chunked(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, chunk: int) -> torch.Tensor:
    """Chunked SSD scan.

    x: (batch, len, heads, head_dim) inputs already scaled by dt; a: (batch, len, heads) log-decays
    (dt * A, negative); b, c: (batch, len, heads, d_state). Returns y of x's shape. The length is
    padded to a multiple of `chunk` with zero inputs and zero log-decay, which causality makes harmless.
    """
    bsz, length, heads, hd = x.shape
    pad = (-length) % chunk
    if pad:
        x, b, c = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (x, b, c))
        a = F.pad(a, (0, 0, 0, pad))
    n_chunks = x.shape[1] // chunk
    x, b, c = (t.reshape(bsz, n_chunks, chunk, heads, -1) for t in (x, b, c))
    a = a.reshape(bsz, n_chunks, chunk, heads).permute(0, 3, 1, 2)  # (b, h, c, l)
    a_cum = a.cumsum(dim=-1)
    decay = torch.exp(segsum(a))  # (b, h, c, l, l)
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", c, b, decay, x)
    decay_states = torch.exp(a_cum[..., -1:] - a_cum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", b, decay_states, x)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(a_cum[..., -1], (1, 0))))  # (b, h, c+1, c+1)
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)[:, :-1]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", c, states, torch.exp(a_cum))
    y = (y_diag + y_off).reshape(bsz, n_chunks * chunk, heads, hd)
    return y[:, :length]


def ssd_naive(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Token-by-token recurrence h_t = exp(a_t) h_{t-1} + x_t b_t^T, y_t = h_t c_t (the reference)."""
    bsz, length, heads, hd = x.shape
    h = x.new_zeros(bsz, heads, hd, b.shape[-1])
    ys = []
    for t in range(length):
        h = torch.exp(a[:, t])[..., None, None] * h + x[:, t, :, :, None] * b[:, t, :, None, :]
        ys.append(torch.einsum("bhpn,bhn->bhp", h, c[:, t]))
    return torch.stack(ys, dim=1)


class Mamba2(nn.Module):
    """Mamba-2 block: in_proj -> causal depthwise conv -> SSD -> gated RMSNorm -> out_proj."""

    def __init__(self, cfg: LabModelConfig) -> None:
        super().__init__()
        self.d_inner, self.heads, self.hd = cfg.mamba_d_inner, cfg.mamba_heads, cfg.mamba_head_dim
        self.groups, self.d_state, self.chunk = cfg.mamba_groups, cfg.mamba_d_state, cfg.mamba_chunk
        conv_dim = self.d_inner + 2 * self.groups * self.d_state
        self.in_proj = nn.Linear(cfg.d_model, self.d_inner + conv_dim + self.heads, bias=False)
        self.conv = nn.Conv1d(conv_dim, conv_dim, cfg.mamba_conv, groups=conv_dim, padding=cfg.mamba_conv - 1)
        # dt initialised log-uniformly in [1e-3, 1e-1] as in the Mamba reference implementation.
        dt = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), self.heads))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.a_log = nn.Parameter(torch.log(torch.linspace(1.0, 16.0, self.heads)))
        self.d_skip = nn.Parameter(torch.ones(self.heads))
        self.norm = RMSNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, cfg.d_model, bias=False)

    def forward(self, u: torch.Tensor, *, naive: bool = False) -> torch.Tensor:
        bsz, length, _ = u.shape
        z, xbc, dt = self.in_proj(u).split(
            [self.d_inner, self.d_inner + 2 * self.groups * self.d_state, self.heads], dim=-1
        )
        xbc = F.silu(self.conv(xbc.transpose(1, 2))[..., :length].transpose(1, 2))
        x, b, c = xbc.split([self.d_inner, self.groups * self.d_state, self.groups * self.d_state], dim=-1)
        x = x.reshape(bsz, length, self.heads, self.hd)
        rep = self.heads // self.groups
        b = b.reshape(bsz, length, self.groups, self.d_state).repeat_interleave(rep, dim=2)
        c = c.reshape(bsz, length, self.groups, self.d_state).repeat_interleave(rep, dim=2)
        dt = F.softplus(dt + self.dt_bias)  # (b, l, h)
        a = -torch.exp(self.a_log) * dt
        xdt = x * dt[..., None]
        y = ssd_naive(xdt, a, b, c) if naive else ssd_chunked(xdt, a, b, c, self.chunk)
        y = (y + x * self.d_skip[:, None]).reshape(bsz, length, self.d_inner)
        return self.out_proj(self.norm(y * F.silu(z)))
