"""The chunked SSD scan must equal the naive token-by-token recurrence."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.lab.config import LabModelConfig
from coscale.lab.mamba2 import Mamba2, ssd_chunked, ssd_naive


def _inputs(seed: int, b: int, length: int, h: int, p: int, n: int, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, length, h, p, generator=g, dtype=dtype)
    a = -torch.rand(b, length, h, generator=g, dtype=dtype) * 2
    bb = torch.randn(b, length, h, n, generator=g, dtype=dtype)
    cc = torch.randn(b, length, h, n, generator=g, dtype=dtype)
    return x, a, bb, cc


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    length=st.integers(1, 70),
    chunk=st.sampled_from([1, 3, 8, 16, 64]),
    heads=st.integers(1, 3),
    p=st.integers(1, 5),
    n=st.integers(1, 6),
)
def test_chunked_matches_naive(seed, length, chunk, heads, p, n):
    x, a, b, c = _inputs(seed, 2, length, heads, p, n)
    ref = ssd_naive(x, a, b, c)
    out = ssd_chunked(x, a, b, c, chunk)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=1e-5 * max(1.0, ref.abs().max().item()), rtol=1e-5)


def test_chunked_matches_naive_float64_exactly():
    x, a, b, c = _inputs(1, 2, 50, 3, 4, 5, dtype=torch.float64)
    assert (ssd_chunked(x, a, b, c, 16) - ssd_naive(x, a, b, c)).abs().max() < 1e-12


def test_mamba_block_chunked_equals_naive_forward_and_grad():
    torch.manual_seed(0)
    cfg = LabModelConfig(pattern="M", d_model=32, mamba_head_dim=16, mamba_d_state=8, mamba_chunk=8, mamba_groups=2)
    block = Mamba2(cfg)
    u = torch.randn(2, 29, 32, requires_grad=True)
    y_fast = block(u)
    (g_fast,) = torch.autograd.grad(y_fast.square().sum(), u)
    y_ref = block(u, naive=True)
    (g_ref,) = torch.autograd.grad(y_ref.square().sum(), u)
    torch.testing.assert_close(y_fast, y_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_fast, g_ref, atol=1e-4, rtol=1e-4)


def test_mamba_is_causal():
    torch.manual_seed(0)
    cfg = LabModelConfig(pattern="M", d_model=32, mamba_head_dim=16, mamba_d_state=8, mamba_chunk=8)
    block = Mamba2(cfg)
    u = torch.randn(1, 24, 32)
    v = u.clone()
    v[:, 15:] = torch.randn(1, 9, 32)
    torch.testing.assert_close(block(u)[:, :15], block(v)[:, :15])
