"""Cache-sized row chunking is bit-identical to the whole-tensor computation."""

from __future__ import annotations

import pytest
import torch

from coscale.numerics import fake_quant, get_scheme, quantize
from coscale.numerics.core import scaled_values


@pytest.mark.parametrize(
    "scheme",
    ["fp8_e4m3_tensor", "int8_channel", "mxfp8_e4m3", "mxfp4", "nvfp4", "nvfp4_2d", "fp8_block128x128", "bf16"],
)
def test_chunked_equals_whole(scheme: str) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1000, 600, generator=gen) * torch.logspace(-3, 3, 600)
    x[7, 11] = 1e4  # the tensor amax sits in one chunk only
    whole = scaled_values(x, get_scheme(scheme)).dequantized()
    assert torch.equal(fake_quant(x, scheme), whole)
    assert torch.equal(quantize(x, scheme).dequantize(), whole)
    x[900, 3] = float("nan")  # a NaN in the last chunk poisons the per-tensor scale everywhere
    if get_scheme(scheme).granularity == "tensor" or scheme.startswith("nvfp4"):
        assert torch.isnan(fake_quant(x, scheme)).all()


def test_chunked_stochastic_is_reproducible() -> None:
    x = torch.randn(1000, 600, generator=torch.Generator().manual_seed(1))
    a = fake_quant(x, "nvfp4", rounding="stochastic", seed=4)
    assert torch.equal(a, quantize(x, "nvfp4", rounding="stochastic", seed=4).dequantize())
    assert torch.equal(a, fake_quant(x, "nvfp4", rounding="stochastic", seed=4))
