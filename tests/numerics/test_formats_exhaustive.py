"""Bit-exact element casts: every code, every bfloat16 input, against ml_dtypes, torch and our
slow table-search reference.  Documented disagreements (README.md) are asserted explicitly."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

from coscale.numerics import cast, decode, encode, get_format
from coscale.numerics.reference import decode_table, reference_cast
from coscale.numerics.rounding import round_float, round_saturate_fast

NARROW = ["float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn", "float8_e8m0fnu"]
ALL_ML = [*NARROW, "bfloat16"]


def _all_bf16() -> np.ndarray:
    return np.arange(1 << 16, dtype=np.uint16).view(ml_dtypes.bfloat16).astype(np.float32)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise bit-identity of float values (NaN == NaN, -0 != +0)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))


def _codes(name: str) -> np.ndarray:
    return np.arange(get_format(name).num_codes, dtype=np.uint8)


@pytest.mark.parametrize("name", NARROW)
def test_decode_every_code_matches_ml_dtypes(name: str) -> None:
    codes = _codes(name)
    ref = codes.view(getattr(ml_dtypes, name)).astype(np.float32)
    assert _same(decode(codes, name, packed=False), ref).all()


@pytest.mark.parametrize("name", NARROW)
def test_encode_every_code_roundtrips(name: str) -> None:
    codes = _codes(name)
    vals = decode(codes, name, packed=False)
    ok = ~np.isnan(vals)
    if name == "float8_e5m2":
        ok &= np.isfinite(vals)
    assert np.array_equal(encode(vals[ok], name, pack=False), codes[ok])
    # every NaN code decodes to NaN and the canonical one re-encodes to itself
    nan_code = get_format(name).nan_code
    if nan_code is not None:
        assert encode(np.array([np.nan], np.float32), name)[0] == nan_code


@pytest.mark.parametrize("name", ALL_ML)
def test_every_bf16_input_matches_ml_dtypes(name: str) -> None:
    """overflow='inf' reproduces ml_dtypes' overflow (Inf for E5M2, NaN for E4M3, saturate FP6/4)."""
    x = _all_bf16()
    with np.errstate(all="ignore"):
        ref = x.astype(getattr(ml_dtypes, name)).astype(np.float32)
    mine = cast(x, name, overflow="inf")
    diff = ~_same(mine, ref)
    if name.startswith(("float6", "float4")):
        # documented: ml_dtypes maps NaN to a zero (signed like the NaN) in formats without NaN; we keep NaN
        assert np.isnan(x[diff]).all() and (ref[diff] == 0).all() and np.isnan(x).sum() == diff.sum()
    elif name == "float8_e8m0fnu":
        # documented: ml_dtypes rounds float32-subnormal inputs in (2^-127, 2^-126) up; we use RNE
        assert ((x[diff] > 2.0**-127) & (x[diff] < 1.5 * 2.0**-127)).all()
        assert (mine[diff] == 2.0**-127).all() and (ref[diff] == 2.0**-126).all()
    else:
        assert not diff.any()


@pytest.mark.parametrize("name", ALL_ML)
def test_every_bf16_input_saturate_matches_clamped_ml_dtypes(name: str) -> None:
    """Saturate mode = clamp to +-max first, then ml_dtypes' RNE (the reference 'clamp then cast')."""
    fmt = get_format(name)
    x = _all_bf16()
    finite = np.isfinite(x) & ((x > 0) if fmt.kind == "scale" else True)
    x = x[finite & ~((x > 2.0**-127) & (x < 2.0**-126))]
    with np.errstate(all="ignore"):
        ref = np.clip(x, fmt.min if fmt.kind == "scale" else -fmt.max, fmt.max)
        ref = ref.astype(getattr(ml_dtypes, name)).astype(np.float32)
    assert _same(cast(x, name, overflow="saturate"), ref).all()


@pytest.mark.parametrize(
    ("name", "dtype", "overflow"),
    [("float8_e4m3fn", torch.float8_e4m3fn, "saturate"), ("float8_e5m2", torch.float8_e5m2, "inf")],
)
def test_every_bf16_input_matches_torch_float8(name: str, dtype: torch.dtype, overflow: str) -> None:
    """torch 2.13 eager saturates E4M3 (Inf too) and overflows E5M2 to Inf."""
    x = torch.from_numpy(_all_bf16())
    ref = x.to(dtype).float().numpy()
    assert _same(cast(x, name, overflow=overflow).numpy(), ref).all()


def test_torch_e8m0_agrees_on_normal_positive_inputs() -> None:
    x = _all_bf16()
    x = x[np.isfinite(x) & (x >= 2.0**-126) & (x < 2.0**127)]
    ref = torch.from_numpy(x).to(torch.float8_e8m0fnu).float().numpy()
    assert _same(cast(x, "float8_e8m0fnu"), ref).all()
    # documented disagreements: torch maps 0 to 2^-127 and ignores the sign; we (and ml_dtypes) give NaN
    t = torch.tensor([0.0, -4.0])
    assert t.to(torch.float8_e8m0fnu).float().tolist() == [2.0**-127, 4.0]
    assert torch.isnan(cast(t, "float8_e8m0fnu")).all()


@pytest.mark.parametrize("name", [*NARROW, "int8", "int4"])
def test_fast_path_matches_reference_on_codes_and_midpoints(name: str) -> None:
    fmt = get_format(name)
    vals = np.unique(decode_table(fmt).numpy().astype(np.float64))
    vals = vals[np.isfinite(vals)]
    mids = (vals[1:] + vals[:-1]) / 2
    nudged = np.concatenate([mids * (1 + 2.0**-20), mids * (1 - 2.0**-20)])
    top = fmt.max
    extra = [0.0, -0.0, top * 1.02, top * 1.2, -top * 3, fmt.min_subnormal / 2, fmt.min_subnormal * 0.75]
    extra += [np.inf, -np.inf, np.nan]
    with np.errstate(over="ignore"):
        x = np.concatenate([vals, mids, nudged, -mids, extra]).astype(np.float32)
    if fmt.kind == "scale":
        x = x[x > 0]
    for overflow in ("saturate", "nan", "inf"):
        ref = reference_cast(x, fmt, overflow).astype(np.float32)
        assert _same(cast(x, name, overflow=overflow), ref).all(), overflow


@pytest.mark.parametrize(
    "name", ["float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn", "bfloat16", "float16"]
)
def test_saturating_fast_path_equals_general_path(name: str) -> None:
    """The scheme fast path (native casts / fewer passes) against the general bit-exact path."""
    fmt = get_format(name)
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(1 << 18, generator=gen) * torch.logspace(-45, 38, 1 << 18).float()
    y[::7], y[::11], y[::13] = float("inf"), float("nan"), -y[::13]
    fast = round_saturate_fast(y, fmt)
    slow = round_float(y, fmt, "nearest_even", "saturate", None)
    nan = torch.isnan(slow)
    assert torch.equal(torch.isnan(fast), nan)
    assert torch.equal(fast[~nan], slow[~nan]) and torch.equal(fast[~nan].signbit(), slow[~nan].signbit())


def test_known_boundaries() -> None:
    e4 = np.array([464.0, 465.0, 2.0**-10, 2.0**-10 * 1.0001, 400.0], dtype=np.float32)
    assert cast(e4, "float8_e4m3fn").tolist() == [448.0, 448.0, 0.0, 2.0**-9, 384.0]
    assert np.isnan(cast(e4, "float8_e4m3fn", overflow="nan")[1])
    e5 = np.array([61440.0, 61439.0], dtype=np.float32)
    assert cast(e5, "float8_e5m2", overflow="inf").tolist() == [np.inf, 57344.0]
    e8 = np.array([1.5, 3.0, 5.0, 6.0, 2.0**-128], dtype=np.float32)
    assert cast(e8, "float8_e8m0fnu").tolist() == [2.0, 4.0, 4.0, 8.0, 2.0**-127]
    i4 = np.array([7.6, 9.0, -9.0, 2.5, -2.5], dtype=np.float32)
    assert cast(i4, "int4").tolist() == [7.0, 7.0, -8.0, 2.0, -2.0]


def test_fp4_packing_layout() -> None:
    v = np.array([0.5, 6.0, -1.0, 0.0], dtype=np.float32)  # codes 1, 7, 10, 0
    packed = encode(v, "float4_e2m1fn")
    assert packed.tolist() == [1 | 7 << 4, 10 | 0 << 4]
    assert decode(packed, "float4_e2m1fn").tolist() == v.tolist()


def test_bf16_and_fp16_codes_match_native_bits() -> None:
    x = np.random.default_rng(1).standard_normal(4096).astype(np.float32) * 100
    assert np.array_equal(encode(x, "bfloat16"), x.astype(ml_dtypes.bfloat16).view(np.uint16))
    assert np.array_equal(encode(x, "float16"), x.astype(np.float16).view(np.uint16))


def test_dtype_preserved() -> None:
    t = torch.randn(16, dtype=torch.bfloat16)
    assert cast(t, "float8_e4m3fn").dtype == torch.bfloat16
    a = np.ones(4, dtype=np.float16)
    assert cast(a, "float4_e2m1fn").dtype == np.float16
    d = np.array([0.1], dtype=np.float64)
    assert cast(d, "float8_e4m3fn").dtype == np.float64


@pytest.mark.parametrize("name", ["int8", "int4"])
def test_int_codes_are_twos_complement(name: str) -> None:
    fmt = get_format(name)
    codes = np.arange(fmt.num_codes, dtype=np.uint8)
    vals = decode(codes, name, packed=False)
    expect = np.where(codes >= fmt.num_codes // 2, codes.astype(np.int64) - fmt.num_codes, codes)
    assert np.array_equal(vals, expect.astype(np.float32))
    assert np.array_equal(encode(vals, name, pack=False), codes)
    ref = np.arange(-(fmt.num_codes // 2), fmt.num_codes // 2).astype(getattr(ml_dtypes, name, np.int8))
    assert np.array_equal(np.sort(vals), ref.astype(np.float32))  # same value set as ml_dtypes' ints
