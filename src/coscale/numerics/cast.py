"""Public element casts and bit codes: `cast`, `encode`, `decode`.

`cast` returns values (same array type and dtype as the input) that are exactly representable in
the target format; `encode` gives their bit codes as uint8 (uint16 for bfloat16/float16), FP4
packed two per byte with the even index in the low nibble (TE / torchao layout); `decode` inverts.
Special values: see README.md ("Special values and policies").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from coscale.errors import CoscaleError
from coscale.numerics.arrays import to_work
from coscale.numerics.formats import ElementFormat, get_format
from coscale.numerics.reference import check_tabulated, decode_table
from coscale.numerics.rounding import (
    check_policies,
    exponent_of,
    make_generator,
    pow2,
    round_chunked,
    round_to_format,
)


def cast(
    x: Any,
    fmt: str | ElementFormat,
    *,
    rounding: str = "nearest_even",
    overflow: str = "saturate",
    seed: int | None = None,
) -> Any:
    """Round every element of x to the nearest value of `fmt` (or stochastically), keep the type.

    rounding: 'nearest_even' (IEEE RNE) or 'stochastic' (P(up) = distance fraction; seeded).
    overflow: 'saturate' (clamp to +-max), 'nan' or 'inf' (falling back as the format allows).
    NaN inputs stay NaN; see README.md for every special case.
    """
    f = get_format(fmt)
    check_policies(rounding, overflow)
    work, kind = to_work(x)
    gen = make_generator(seed) if rounding == "stochastic" else None
    return kind.restore(round_chunked(work, f, rounding, overflow, gen))


def codes_from_values(v: torch.Tensor, fmt: ElementFormat, *, strict: bool) -> torch.Tensor:
    """Bit codes (int32) of values that are already representable in fmt.

    For floats the magnitude code is (e - emin) * 2^M + |v| * 2^(M - e) with e = max(exponent,
    emin): one formula covers normals and subnormals.  NaN in a format without NaN raises when
    `strict`, else gives code 0 (scaled schemes carry NaN in the scale instead).
    """
    check_tabulated(fmt)
    nan = torch.isnan(v)
    if strict and not fmt.has_nan and bool(nan.any()):
        raise CoscaleError(
            f"{fmt.name} has no NaN code; remove NaNs or use a scaled scheme (NaN is carried by the scale)"
        )
    if fmt.kind == "int":
        c = torch.nan_to_num(v, nan=0.0).to(torch.int32)
        return c & ((1 << fmt.bits) - 1)
    a = torch.nan_to_num(v.abs(), nan=0.0, posinf=0.0)
    if fmt.kind == "scale":
        code = exponent_of(a.to(torch.float64)) + fmt.exponent_bias
        return torch.where(nan, fmt.nan_code or 0, code)
    if a.dtype == torch.float32 and fmt.mantissa_bits - fmt.emin > 126:
        a = a.to(torch.float64)
    m = fmt.mantissa_bits
    e = exponent_of(a).clamp_min(fmt.emin)
    mag = (e - fmt.emin) * (1 << m) + (a * pow2(m - e, a.dtype)).to(torch.int32)
    if fmt.inf_code is not None:
        mag = torch.where(torch.isinf(v), fmt.inf_code, mag)
    if fmt.nan_code is not None:
        mag = torch.where(nan, fmt.nan_code, mag)
    sign = torch.signbit(v).to(torch.int32) << (fmt.bits - 1)
    return mag | sign


def pack_fp4(codes: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes per byte along the last dim, even index in the low nibble."""
    if codes.shape[-1] % 2:
        raise CoscaleError(
            f"FP4 packing needs an even last dimension, got {codes.shape[-1]}; pad it or pass pack=False"
        )
    c = codes.to(torch.uint8)
    return c[..., 0::2] | (c[..., 1::2] << 4)


def unpack_fp4(packed: torch.Tensor) -> torch.Tensor:
    p = packed.to(torch.uint8)
    return torch.stack([p & 0xF, p >> 4], dim=-1).flatten(-2)


def encode(
    x: Any,
    fmt: str | ElementFormat,
    *,
    rounding: str = "nearest_even",
    overflow: str = "saturate",
    seed: int | None = None,
    pack: bool = True,
) -> Any:
    """Cast x to fmt and return its bit codes: uint8 (uint16 for 16-bit formats), FP4 packed."""
    f = get_format(fmt)
    check_policies(rounding, overflow)
    work, kind = to_work(x)
    gen = make_generator(seed) if rounding == "stochastic" else None
    codes = codes_from_values(round_to_format(work, f, rounding, overflow, gen), f, strict=True)
    if f.bits == 4 and pack:
        out = pack_fp4(codes)
    elif f.bits == 16:
        out = codes.to(torch.int32)
        return out.numpy().astype(np.uint16) if kind.is_numpy else out.to(torch.uint16)
    else:
        out = codes.to(torch.uint8)
    return out.numpy() if kind.is_numpy else out


def decode(codes: Any, fmt: str | ElementFormat, *, packed: bool = True) -> Any:
    """Values (float32) of bit codes; numpy in -> numpy out, torch in -> torch out."""
    f = get_format(fmt)
    is_numpy = not isinstance(codes, torch.Tensor)
    t = torch.from_numpy(np.ascontiguousarray(np.asarray(codes)).astype(np.int64)) if is_numpy else codes
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise CoscaleError(f"decode needs integer bit codes, got dtype {t.dtype}")
    t = t.to(torch.int64)
    if f.bits == 4 and packed:
        t = unpack_fp4(t).to(torch.int64)
    if bool(((t < 0) | (t >= f.num_codes)).any()):
        raise CoscaleError(f"codes out of range for {f.name}: valid codes are 0..{f.num_codes - 1}")
    vals = decode_table(f).to(t.device)[t]
    return vals.numpy() if is_numpy else vals
