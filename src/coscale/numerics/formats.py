"""Element number formats as first-class values, named as in ml_dtypes / torch.

Why a value type instead of dtype objects: ml_dtypes and torch disagree on overflow, NaN codes and
E8M0 zero (see README.md in this folder), and FP6 has no torch dtype at all.  An `ElementFormat`
states the bit layout and the limits once, so casting, encoding and the scale rules all derive
from the same numbers instead of from a library's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from coscale.errors import CoscaleError

Kind = Literal["float", "int", "scale"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ElementFormat:
    """Bit layout and limits of one element format (finfo-like).

    For floats: value = (-1)^s * 2^(e - bias) * 1.m for normals, 2^(1 - bias) * 0.m for subnormals.
    `nan_codes`/`inf_code` give the magnitude codes (sign bit cleared) that are special.
    """

    name: str
    kind: Kind
    bits: int
    exponent_bits: int
    mantissa_bits: int
    exponent_bias: int
    max: float
    min: float
    min_normal: float
    min_subnormal: float
    has_inf: bool
    has_nan: bool
    signed: bool = True
    nan_code: int | None = None  # canonical positive NaN code (None: no NaN)
    inf_code: int | None = None  # positive Inf code (None: no Inf)

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal (also the subnormal exponent)."""
        return 1 - self.exponent_bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite value (the OCP MX `emax_elem`)."""
        if self.kind == "int":
            return 0
        return int(self.max).bit_length() - 1 if self.max >= 1 else 0

    @property
    def has_subnormals(self) -> bool:
        return self.kind == "float" and self.mantissa_bits > 0

    @property
    def num_codes(self) -> int:
        return 1 << self.bits


def _float(name: str, e: int, m: int, *, max_: float, nan: int | None, inf: int | None) -> ElementFormat:
    bias = (1 << (e - 1)) - 1
    return ElementFormat(
        name=name,
        kind="float",
        bits=1 + e + m,
        exponent_bits=e,
        mantissa_bits=m,
        exponent_bias=bias,
        max=max_,
        min=-max_,
        min_normal=2.0 ** (1 - bias),
        min_subnormal=2.0 ** (1 - bias - m),
        has_inf=inf is not None,
        has_nan=nan is not None,
        nan_code=nan,
        inf_code=inf,
    )


def _int(name: str, bits: int) -> ElementFormat:
    hi = (1 << (bits - 1)) - 1
    return ElementFormat(
        name=name,
        kind="int",
        bits=bits,
        exponent_bits=0,
        mantissa_bits=bits - 1,
        exponent_bias=0,
        max=float(hi),
        min=float(-hi - 1),
        min_normal=1.0,
        min_subnormal=1.0,
        has_inf=False,
        has_nan=False,
    )


@cache
def _build() -> dict[str, ElementFormat]:
    # Limits: /work/shared/reference/numerics.md section 0 (OCP OFP8 / MX v1.0, IEEE 754).
    formats = [
        _float("float8_e4m3fn", 4, 3, max_=448.0, nan=0x7F, inf=None),
        _float("float8_e5m2", 5, 2, max_=57344.0, nan=0x7E, inf=0x7C),
        _float("float6_e3m2fn", 3, 2, max_=28.0, nan=None, inf=None),
        _float("float6_e2m3fn", 2, 3, max_=7.5, nan=None, inf=None),
        _float("float4_e2m1fn", 2, 1, max_=6.0, nan=None, inf=None),
        _float("bfloat16", 8, 7, max_=float.fromhex("0x1.fep127"), nan=0x7FC0, inf=0x7F80),
        _float("float16", 5, 10, max_=65504.0, nan=0x7E00, inf=0x7C00),
        # IEEE single: master weights, optimizer state and FP32 scales (cast works; its 2^32 codes
        # are not tabulated, so encode/decode/quantize stop at 16-bit formats)
        _float("float32", 8, 23, max_=float.fromhex("0x1.fffffep127"), nan=0x7FC00000, inf=0x7F800000),
        ElementFormat(
            name="float8_e8m0fnu",
            kind="scale",
            bits=8,
            exponent_bits=8,
            mantissa_bits=0,
            exponent_bias=127,
            max=2.0**127,
            min=2.0**-127,
            min_normal=2.0**-127,
            min_subnormal=2.0**-127,
            has_inf=False,
            has_nan=True,
            signed=False,
            nan_code=0xFF,
        ),
        _int("int8", 8),
        _int("int4", 4),
    ]
    return {f.name: f for f in formats}


_ALIASES = {
    "e4m3": "float8_e4m3fn",
    "fp8_e4m3": "float8_e4m3fn",
    "e5m2": "float8_e5m2",
    "fp8_e5m2": "float8_e5m2",
    "e3m2": "float6_e3m2fn",
    "fp6_e3m2": "float6_e3m2fn",
    "e2m3": "float6_e2m3fn",
    "fp6_e2m3": "float6_e2m3fn",
    "e2m1": "float4_e2m1fn",
    "fp4_e2m1": "float4_e2m1fn",
    "fp4": "float4_e2m1fn",
    "e8m0": "float8_e8m0fnu",
    "bf16": "bfloat16",
    "fp16": "float16",
    "fp32": "float32",
}


def list_formats() -> list[ElementFormat]:
    """All supported element formats, narrowest first within each kind."""
    return list(_build().values())


def get_format(fmt: str | ElementFormat) -> ElementFormat:
    """Look a format up by its ml_dtypes/torch name (or a short alias such as 'e4m3')."""
    if isinstance(fmt, ElementFormat):
        return fmt
    table = _build()
    key = _ALIASES.get(str(fmt).lower(), str(fmt).lower())
    if key not in table:
        raise CoscaleError(f"unknown number format {fmt!r}; valid formats: {', '.join(table)}")
    return table[key]
