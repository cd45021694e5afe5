"""hypothesis properties of dequantize(quantize(x)): half-ulp error bound, idempotence, sign symmetry."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coscale.numerics import cast, fake_quant, get_format, get_scheme, quantize
from coscale.numerics.core import scaled_values
from coscale.numerics.rounding import exponent_of, pow2

SCHEMES = [
    "fp8_e4m3_tensor", "fp8_e5m2_tensor", "fp8_block128", "fp8_block128x128", "mxfp8_e4m3",
    "mxfp8_e4m3_rceil", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4", "mxint8", "nvfp4", "nvfp4_2d",
    "int8_tensor", "int8_channel", "int4_group32", "int4_group128", "fp8_e4m3_block16x16", "int4_group128_fp16",
]  # fmt: skip

finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)
tensors = arrays(np.float32, st.tuples(st.integers(1, 40), st.integers(1, 70)), elements=finite)


def _half_ulp(v: torch.Tensor, scheme: str) -> torch.Tensor:
    fmt = get_format(get_scheme(scheme).element)
    if fmt.kind == "int":
        return torch.full_like(v, 0.5)
    e = exponent_of(v.abs().to(torch.float32)).clamp(fmt.emin, fmt.emax)
    return pow2(e - fmt.mantissa_bits - 1, torch.float32)


@settings(max_examples=25, deadline=None)
@given(x=tensors, scheme=st.sampled_from([s for s in SCHEMES if not s.startswith("nvfp4")]))
def test_error_within_half_ulp_times_scale(x: np.ndarray, scheme: str) -> None:
    t = torch.from_numpy(x)
    sc = scaled_values(t, get_scheme(scheme))
    xb = sc.layout.to_blocks(t).double()
    scaled = xb / sc.scales.double()
    fmax = get_format(get_scheme(scheme).element).max
    inside = scaled.abs() <= fmax  # saturated values are bounded by the clip, tested below
    err = (scaled - sc.values.double()).abs()
    bound = _half_ulp(scaled.float(), scheme).double() * (1 + 1e-6) + 1e-6 * scaled.abs()
    assert (err[inside] <= bound[inside]).all()
    assert (sc.values.abs() <= fmax).all()


@settings(max_examples=25, deadline=None)
@given(x=tensors, scheme=st.sampled_from(SCHEMES))
def test_idempotent(x: np.ndarray, scheme: str) -> None:
    once = fake_quant(x, scheme)
    twice = fake_quant(once, scheme)
    if scheme.startswith("nvfp4"):
        # TE's two-level FP32 scaling (amax/2688, then E4M3 block scales) does not map a quantized
        # tensor exactly onto itself: its amax comes back within an FP32 ulp or two, and so does
        # every value (see src/coscale/numerics/README.md). Exact for every other scheme.
        assert np.all(np.abs(twice - once) <= 2 * np.spacing(np.abs(once)))
    else:
        assert np.array_equal(twice, once)


@settings(max_examples=25, deadline=None)
@given(x=tensors, scheme=st.sampled_from(SCHEMES))
def test_sign_symmetric(x: np.ndarray, scheme: str) -> None:
    assert np.array_equal(fake_quant(-x, scheme), -fake_quant(x, scheme))


@settings(max_examples=25, deadline=None)
@given(x=tensors, scheme=st.sampled_from(SCHEMES))
def test_codes_roundtrip_equals_fast_path(x: np.ndarray, scheme: str) -> None:
    assert np.array_equal(quantize(x, scheme).dequantize(), fake_quant(x, scheme))


@settings(max_examples=50, deadline=None)
@given(
    x=arrays(np.float32, st.integers(1, 200), elements=st.floats(width=32, allow_nan=False)),
    fmt=st.sampled_from(
        [
            "float8_e4m3fn",
            "float8_e5m2",
            "float6_e3m2fn",
            "float6_e2m3fn",
            "float4_e2m1fn",
            "bfloat16",
            "float16",
            "int8",
            "int4",
        ]
    ),
)
def test_cast_idempotent_and_symmetric(x: np.ndarray, fmt: str) -> None:
    c = cast(x, fmt)
    assert np.array_equal(cast(c, fmt), c)
    if get_format(fmt).kind != "int":
        assert np.array_equal(cast(-x, fmt), -c)
