"""Stochastic rounding (unbiased, reproducible) and the QSNR table of reference/numerics.md 6."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coscale.numerics import cast, fake_quant, get_format, quantization_error
from coscale.numerics.metrics import sample

QSNR_TABLE = {
    "fp8_e4m3_tensor": 31.54,
    "mxfp8_e4m3": 30.65,
    "mxfp8_e4m3_rceil": 31.52,
    "mxfp6_e2m3": 30.94,
    "nvfp4": 20.44,
    "mxfp4": 18.79,
    "int4_group32": 20.26,
    "int4_group128": 18.61,
    "int4_tensor": 13.12,
    "int8_tensor": 38.30,
    "int8_group128": 43.78,
    "mxint8": 41.66,
    "fp8_e5m2_tensor": 25.56,
    "bf16": 55.59,
}


@pytest.fixture(scope="module")
def gaussian() -> np.ndarray:
    return sample("normal", 1 << 22, 0)


@pytest.mark.parametrize("scheme", sorted(QSNR_TABLE))
def test_qsnr_table_2_22_samples_seed_0(gaussian: np.ndarray, scheme: str) -> None:
    assert abs(quantization_error(gaussian, scheme).qsnr_db - QSNR_TABLE[scheme]) < 0.1


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "int4"])
def test_stochastic_rounding_is_unbiased(fmt: str) -> None:
    """Mean of 2^16 SR draws of values between grid points equals the value (5 sigma bound)."""
    f = get_format(fmt)
    rng = np.random.default_rng(3)
    vals = rng.uniform(-f.max * 0.9, f.max * 0.9, 64).astype(np.float32)
    reps = 1 << 16
    x = torch.from_numpy(np.repeat(vals[:, None], reps, axis=1))
    q = cast(x, fmt, rounding="stochastic", seed=11).double()
    # unbiased: |mean - x| within 5 standard errors; and every draw is one of two neighbours
    mean, std = q.mean(1), q.std(1)
    err = (mean - torch.from_numpy(vals.astype(np.float64))).abs()
    assert (err <= 5 * std / reps**0.5 + 1e-12).all()
    assert ((q == q.max(1, keepdim=True).values) | (q == q.min(1, keepdim=True).values)).all()


def test_stochastic_rounding_reproducible_and_representable_fixed_points() -> None:
    x = torch.randn(4096, generator=torch.Generator().manual_seed(0))
    a = cast(x, "float4_e2m1fn", rounding="stochastic", seed=5)
    b = cast(x, "float4_e2m1fn", rounding="stochastic", seed=5)
    c = cast(x, "float4_e2m1fn", rounding="stochastic", seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    grid = cast(x, "float4_e2m1fn")
    assert torch.equal(cast(grid, "float4_e2m1fn", rounding="stochastic", seed=1), grid)
    f1 = fake_quant(x.reshape(64, 64), "nvfp4", rounding="stochastic", seed=3)
    f2 = fake_quant(x.reshape(64, 64), "nvfp4", rounding="stochastic", seed=3)
    assert torch.equal(f1, f2)


def test_stochastic_scheme_unbiased_on_average() -> None:
    """SR through a block-scaled scheme: the mean over seeds converges to x (RNE does not)."""
    x = torch.randn(32, 64, generator=torch.Generator().manual_seed(2))
    acc = torch.zeros_like(x, dtype=torch.float64)
    n = 400
    for s in range(n):
        acc += fake_quant(x, "mxfp4", rounding="stochastic", seed=s).double()
    bias_sr = (acc / n - x.double()).abs().mean()
    bias_rne = (fake_quant(x, "mxfp4").double() - x.double()).abs().mean()
    assert bias_sr < bias_rne / 4
