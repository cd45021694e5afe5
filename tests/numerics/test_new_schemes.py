"""The float32 format, the FP16-scale rule (GPTQ-style INT4) and the lazily loaded package."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import coscale.numerics as numerics
from coscale.errors import CoscaleError
from coscale.numerics import cast, decode, encode, fake_quant, get_format, quantize


def test_float32_limits_match_numpy() -> None:
    f, ref = get_format("fp32"), np.finfo(np.float32)
    assert (f.max, f.min_normal, f.min_subnormal, f.bits) == (float(ref.max), float(ref.tiny),
                                                              float(ref.smallest_subnormal), 32)


def test_float32_cast_is_ieee_rne_and_saturates() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4096) * np.exp2(rng.integers(-160, 130, 4096))
    with np.errstate(over="ignore"):
        ref = np.clip(x, -np.finfo(np.float32).max, np.finfo(np.float32).max).astype(np.float32)
    assert np.array_equal(cast(x, "float32"), ref.astype(np.float64))
    x32 = ref
    assert np.array_equal(cast(x32, "float32"), np.clip(x32, -np.finfo(np.float32).max, np.finfo(np.float32).max))
    assert torch.equal(fake_quant(torch.from_numpy(x32), "fp32"), torch.from_numpy(x32).nan_to_num(
        posinf=float(np.finfo(np.float32).max), neginf=-float(np.finfo(np.float32).max)))


def test_32_bit_codes_are_refused_with_a_hint() -> None:
    x = np.ones(4, np.float32)
    for call in (lambda: encode(x, "fp32"), lambda: decode(np.zeros(4, np.int64), "fp32"),
                 lambda: quantize(x, "fp32")):
        with pytest.raises(CoscaleError, match="too many to tabulate; use cast"):
            call()


def test_fp16_group_scales_are_fp16_values_and_elements_stay_symmetric() -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(64, 384, generator=gen) * torch.logspace(-6, 2, 384)
    q = quantize(w, "int4_group128_fp16")
    s = q.scales
    assert torch.equal(s.to(torch.float16).to(torch.float32), s)
    values = q.dequantize() / s.repeat_interleave(128, dim=-1).reshape(64, 384)
    assert values.abs().max() <= 7 and torch.equal(values, values.round())
    # within one FP16 scale step of the FP32-scale scheme's error
    fp32 = quantize(w, "int4_group128").dequantize()
    assert (q.dequantize() - w).abs().max() <= (fp32 - w).abs().max() * 1.01 + 1e-12


def test_functions_named_like_their_modules_stay_functions() -> None:
    # binding a submodule onto the package must not shadow the function of the same name
    import coscale.numerics.cast
    import coscale.numerics.fake_quant
    import coscale.numerics.quantize  # noqa: F401

    assert callable(numerics.cast) and numerics.cast.__name__ == "cast"
    assert numerics.fake_quant.__name__ == "fake_quant" and numerics.quantize.__name__ == "quantize"
    assert set(numerics.__all__) <= set(dir(numerics))
    with pytest.raises(AttributeError):
        _ = numerics.no_such_name
