"""Bad input gives one clear CoscaleError; documented NaN/Inf and padding policies hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coscale.errors import CoscaleError
from coscale.numerics import (
    OperandQuant,
    QuantLinearConfig,
    cast,
    decode,
    encode,
    fake_quant,
    get_format,
    get_scheme,
    quantize,
    random_hadamard_transform,
)


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(CoscaleError, match=r"valid schemes: .*nvfp4"):
        get_scheme("fp3")
    with pytest.raises(CoscaleError, match=r"valid formats: .*float8_e4m3fn"):
        get_format("float7")


@pytest.mark.parametrize(
    "x",
    [np.arange(4, dtype=np.int32), torch.arange(4), np.array(["a"]), torch.zeros(2, dtype=torch.complex64)],
)
def test_unsupported_dtypes(x: object) -> None:
    with pytest.raises(CoscaleError, match="unsupported"):
        cast(x, "float8_e4m3fn")
    with pytest.raises(CoscaleError, match="unsupported"):
        quantize(x, "nvfp4")


def test_bad_policies() -> None:
    with pytest.raises(CoscaleError, match="rounding"):
        cast(np.ones(2), "float8_e4m3fn", rounding="up")
    with pytest.raises(CoscaleError, match="overflow"):
        cast(np.ones(2), "float8_e4m3fn", overflow="wrap")


def test_nan_inf_policies() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 1e9], dtype=np.float32)
    assert np.isnan(cast(x, "float4_e2m1fn")[0])  # NaN stays NaN (ml_dtypes gives -0)
    assert cast(x, "float4_e2m1fn")[1:].tolist() == [6.0, -6.0, 6.0]
    # saturate is PTX .satfinite: Inf becomes +-max too; overflow="inf" keeps Inf
    assert cast(x, "float8_e5m2", overflow="saturate")[1:].tolist() == [57344.0, -57344.0, 57344.0]
    assert cast(x, "float8_e5m2", overflow="inf")[1:].tolist() == [np.inf, -np.inf, np.inf]
    assert cast(x, "float8_e4m3fn")[1:].tolist() == [448.0, -448.0, 448.0]  # as torch 2.13 eager
    assert np.isnan(cast(x, "float8_e4m3fn", overflow="nan")[1:]).all()
    with pytest.raises(CoscaleError, match="no NaN code"):
        encode(x, "float4_e2m1fn")
    # scaled schemes: a NaN/Inf makes its block (per-tensor: whole tensor) NaN
    y = np.ones((2, 32), dtype=np.float32)
    y[0, 0] = np.inf
    out = fake_quant(y, "int4_group32")
    assert np.isnan(out[0]).all() and (out[1] == 1).all()
    assert np.isnan(fake_quant(y, "fp8_e4m3_tensor")).all()


def test_non_divisible_shapes_are_padded() -> None:
    """Zero padding leaves every block's amax unchanged; results equal the explicitly padded run."""
    x = torch.randn(5, 50, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (0, 14, 0, 11))
    for scheme in ("mxfp4", "nvfp4", "fp8_block128x128", "int4_group32", "nvfp4_2d"):
        assert torch.equal(fake_quant(x, scheme), fake_quant(padded, scheme)[:5, :50])
    q = quantize(x, "mxfp4")
    assert q.codes.shape == (1, 5, 64) and q.dequantize().shape == (5, 50)


def test_hadamard_and_codes_errors() -> None:
    with pytest.raises(CoscaleError, match="multiple of the Hadamard size"):
        random_hadamard_transform(torch.ones(3, 20), 16)
    with pytest.raises(CoscaleError, match="power of two"):
        random_hadamard_transform(torch.ones(3, 24), 12)
    with pytest.raises(CoscaleError, match="out of range"):
        decode(np.array([300]), "float8_e4m3fn")
    with pytest.raises(CoscaleError, match="even last dimension"):
        encode(np.ones(3, np.float32), "float4_e2m1fn")


def test_config_errors() -> None:
    with pytest.raises(CoscaleError, match="per-tensor"):
        OperandQuant(scheme="mxfp8_e4m3", amax_history=16)
    with pytest.raises(CoscaleError, match="different Hadamard sizes"):
        QuantLinearConfig(
            wgrad_grad_output=OperandQuant(scheme="nvfp4", hadamard=16),
            wgrad_input=OperandQuant(scheme="nvfp4", hadamard=32),
        )
    with pytest.raises(CoscaleError, match="scale= is only"):
        quantize(torch.ones(32), "mxfp4", scale=1.0)
    with pytest.raises(CoscaleError, match="valid schemes"):
        OperandQuant(scheme="nope")


def test_delayed_scale_saturates_and_generic_variants() -> None:
    x = torch.tensor([1.0, -2.0, 100.0])
    q = quantize(x, "fp8_e4m3_tensor", scale=0.01)  # stale (too small) scale: 100/0.01 > 448
    # 100 -> 96, -200 -> -192 on the E4M3 grid; 10000 saturates at 448
    assert torch.equal(q.dequantize(), torch.tensor([96.0, -192.0, 448.0]) * torch.tensor(0.01))
    from coscale.numerics import make_scheme

    g64 = make_scheme("int8", block=(1, 64))
    y = torch.randn(4, 128, generator=torch.Generator().manual_seed(0))
    qq = quantize(y, g64)
    assert qq.scales.shape == (1, 4, 1, 2, 1)
    assert torch.allclose(qq.scales.flatten(), y.reshape(4, 2, 64).abs().amax(-1).flatten() / 127)
