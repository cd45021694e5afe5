"""GPTQ: reduces to round-to-nearest when H = I, and beats it on correlated calibration inputs."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.lab.gptq import gptq_quantize, hessian_from_inputs, rtn_group_quantize


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), rows=st.integers(1, 12), groups=st.integers(1, 3))
def test_identity_hessian_is_round_to_nearest(seed, rows, groups):
    w = torch.randn(rows, 32 * groups, generator=torch.Generator().manual_seed(seed))
    q = gptq_quantize(w, torch.eye(w.shape[1]), bits=4, group=32, damp=0.0)
    torch.testing.assert_close(q, rtn_group_quantize(w, bits=4, group=32), atol=0, rtol=0)


def test_codes_are_on_the_int4_grid_with_groupwise_absmax_scale():
    w = torch.randn(6, 256, generator=torch.Generator().manual_seed(0))
    q = rtn_group_quantize(w, bits=4, group=128)
    for g in range(2):
        block, qb = w[:, g * 128 : (g + 1) * 128], q[:, g * 128 : (g + 1) * 128]
        scale = block.abs().amax(1, keepdim=True) / 7
        codes = qb / scale
        torch.testing.assert_close(codes, codes.round(), atol=1e-5, rtol=0)
        assert codes.abs().max() <= 7 + 1e-5


def test_rtn_matches_numerics_int4_group128():
    numerics = __import__("pytest").importorskip("coscale.numerics.quantize")
    w = torch.randn(16, 256, generator=torch.Generator().manual_seed(1))
    ref = numerics.quantize(w, "int4_group128").dequantize()
    torch.testing.assert_close(rtn_group_quantize(w, bits=4, group=128), ref, atol=1e-6, rtol=1e-6)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000))
def test_gptq_output_error_beats_rtn_on_correlated_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(64, 64, generator=g)
    x = torch.randn(2048, 64, generator=g) @ mix  # strongly correlated features
    w = torch.randn(32, 64, generator=g)
    h, n = hessian_from_inputs([x])
    q_gptq = gptq_quantize(w, 2 * h / n, bits=4, group=32)
    q_rtn = rtn_group_quantize(w, bits=4, group=32)

    def err(q: torch.Tensor) -> float:
        return (x @ (w - q).t()).pow(2).sum().item()

    assert err(q_gptq) < err(q_rtn)
