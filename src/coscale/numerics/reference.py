"""Slow, obviously-correct reference: value tables from the bit-field definition, and a
nearest-value search over that table.

Why keep it: the fast path (rounding.py) uses exponent tricks; this module only uses the format
definition (sign, exponent field, mantissa field) and "pick the nearest representable value, ties
to the even code".  Tests compare the two exhaustively, and ml_dtypes/torch against both.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from coscale.errors import CoscaleError
from coscale.numerics.formats import ElementFormat

MAX_TABLE_BITS = 16  # code tables (decode, encode, quantize) stop here; float32 is cast only


def check_tabulated(fmt: ElementFormat) -> None:
    if fmt.bits > MAX_TABLE_BITS:
        raise CoscaleError(
            f"{fmt.name} has 2^{fmt.bits} codes, too many to tabulate; use cast() for it, or encode, "
            f"decode and quantize formats of up to {MAX_TABLE_BITS} bits"
        )


def value_of_code(fmt: ElementFormat, code: int) -> float:
    """The real number a bit code stands for, straight from the field definitions."""
    if fmt.kind == "int":
        return float(code - (1 << fmt.bits) if code >= 1 << (fmt.bits - 1) else code)
    if fmt.kind == "scale":
        return float("nan") if code == fmt.nan_code else 2.0 ** (code - fmt.exponent_bias)
    m_bits, e_bits = fmt.mantissa_bits, fmt.exponent_bits
    sign = -1.0 if code >> (fmt.bits - 1) & 1 else 1.0
    mag = code & ((1 << (fmt.bits - 1)) - 1)
    if fmt.nan_code is not None and (mag == fmt.nan_code or (fmt.has_inf and mag > (fmt.inf_code or 0))):
        return float("nan")
    if fmt.inf_code is not None and mag == fmt.inf_code:
        return sign * float("inf")
    exp_field = mag >> m_bits
    man = mag & ((1 << m_bits) - 1)
    if exp_field == 0:
        return sign * man * 2.0 ** (fmt.emin - m_bits)
    del e_bits
    return sign * (1 + man / 2**m_bits) * 2.0 ** (exp_field - fmt.exponent_bias)


@cache
def decode_table(fmt: ElementFormat) -> torch.Tensor:
    """float32 value of every code (the decode lookup table)."""
    check_tabulated(fmt)
    vals = [value_of_code(fmt, c) for c in range(fmt.num_codes)]
    return torch.tensor(vals, dtype=torch.float64).to(torch.float32)


def _magnitudes(fmt: ElementFormat) -> tuple[np.ndarray, np.ndarray]:
    """Finite non-negative values and their codes, ascending."""
    codes = range(fmt.num_codes) if fmt.kind == "scale" else range(1 << (fmt.bits - 1))
    pairs = [(value_of_code(fmt, c), c) for c in codes]
    pairs = [(v, c) for v, c in pairs if np.isfinite(v)]
    vals = np.array([v for v, _ in pairs], dtype=np.float64)
    return vals, np.array([c for _, c in pairs], dtype=np.int64)


def reference_cast(x: np.ndarray, fmt: ElementFormat, overflow: str = "saturate") -> np.ndarray:
    """Round-to-nearest-even by exhaustive search over the value table (float64 in and out)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for i, xi in enumerate(x.ravel()):
        out.flat[i] = _reference_one(float(xi), fmt, overflow)
    return out


def _reference_one(x: float, fmt: ElementFormat, overflow: str) -> float:
    if np.isnan(x):
        return x
    if fmt.kind == "int":
        r = float(np.clip(np.round(x), fmt.min, fmt.max))  # np.round: ties to even
        return r
    vals, codes = _magnitudes(fmt)
    if fmt.kind == "scale" and x <= 0:
        return float("nan")
    a = abs(x)
    sign = -1.0 if np.signbit(x) else 1.0
    if np.isinf(a):
        if fmt.has_inf and overflow != "saturate":
            return x
        return _overflowed(fmt, overflow, sign)
    if fmt.kind == "scale" and a < fmt.min:
        return fmt.min
    top, below = vals[-1], vals[-2]
    if a > top:
        half = (top - below) / 2 if fmt.kind != "scale" else top / 2
        top_even = codes[-1] % 2 == 0 and fmt.kind != "scale"
        if a < top + half or (a == top + half and top_even):
            return sign * top
        return _overflowed(fmt, overflow, sign)
    dist = np.abs(vals - a)
    best = np.flatnonzero(dist == dist.min())
    if len(best) > 1:  # a tie: even code (E8M0: the larger power of two)
        pick = best[-1] if fmt.kind == "scale" else best[codes[best] % 2 == 0][0]
    else:
        pick = best[0]
    return sign * vals[pick]


def _overflowed(fmt: ElementFormat, overflow: str, sign: float) -> float:
    if overflow == "inf" and fmt.has_inf:
        return sign * float("inf")
    if overflow in ("inf", "nan") and fmt.has_nan:
        return float("nan")
    return sign * fmt.max
