"""Scale rules: from a block's amax to the multiplier that maps the block onto the element grid.

- absmax_fp32: s = amax / elem_max in FP32 (TE current scaling, DeepSeek-V3 FP32 block scales,
  symmetric INT).  An all-zero block gets s = 1 (codes all zero); s is floored at 2^-126.
- absmax_fp16: the same scale stored as FP16 (GPTQ / AWQ checkpoints): RNE to float16, clamped to
  FP16's [2^-24, 65504]; elements are then rounded against the stored scale (they saturate if it
  rounded down).
- e8m0_floor: OCP MX v1.0 s = 2^(floor(log2 amax) - emax_elem), clamped to E8M0's 2^-127..2^127.
  floor(log2) is read from the amax bits, never from amax / elem_max (vLLM #43557 pitfall).
- e8m0_rceil: TE/cuBLAS s = 2^ceil(log2(amax * fp32(1/elem_max))), by TE's float_to_e8m0 bit rule.

Non-finite amax (a NaN or Inf in the block) gives a NaN scale (E8M0 code 0xFF): the whole block
dequantizes to NaN, as MX prescribes; FP6/FP4/INT have no NaN of their own to carry it.
"""

from __future__ import annotations

import torch

from coscale.numerics.formats import ElementFormat
from coscale.numerics.rounding import exponent_of

_E8M0_NAN = 0xFF


def fp16_scale(s: torch.Tensor) -> torch.Tensor:
    """An FP32 scale as an FP16 checkpoint stores it: clamped to FP16's finite positive range, RNE."""
    return s.clamp(2.0**-24, 65504.0).to(torch.float16).to(torch.float32)


def element_emax(fmt: ElementFormat) -> int:
    """OCP emax_elem: exponent of the largest element (0 for MXINT8's 1.xxxxxx fixed point)."""
    return 0 if fmt.kind == "int" else fmt.emax


def int_fraction_bits(fmt: ElementFormat) -> int:
    """MXINT elements are two's-complement fixed point with bits-2 fraction bits (int8 x 2^-6)."""
    return fmt.bits - 2 if fmt.kind == "int" else 0


def absmax_scale(amax: torch.Tensor, fmt: ElementFormat) -> torch.Tensor:
    """amax / elem_max, floored at the fp32 min normal 2^-126 so x / s cannot overflow when amax
    is denormal (TE #786 caps the inverse scale for the same reason): such tiny blocks flush to 0."""
    s = (amax / fmt.max).clamp_min_(2.0**-126)
    s = torch.where(amax == 0, torch.ones_like(s), s)
    return torch.where(torch.isfinite(amax), s, torch.full_like(s, float("nan")))


def e8m0_floor_code(amax: torch.Tensor, fmt: ElementFormat) -> torch.Tensor:
    """E8M0 code (int32, bias 127) of the OCP floor scale."""
    a = amax.to(torch.float64)  # float64 exponent is exact for float32 subnormal amax too
    e = exponent_of(a).clamp_min(-1000) - element_emax(fmt)
    code = (e + 127).clamp(0, 254)
    code = torch.where(amax == 0, torch.zeros_like(code), code)
    return torch.where(torch.isfinite(amax), code, torch.full_like(code, _E8M0_NAN))


def e8m0_rceil_code(amax: torch.Tensor, fmt: ElementFormat) -> torch.Tensor:
    """E8M0 code of TE's round-up rule on v = amax * fp32(1/elem_max), from v's float32 bits."""
    rcp = torch.tensor(1.0 / fmt.max, dtype=torch.float32)
    v = amax.to(torch.float32) * rcp
    bits = v.view(torch.int32)
    exp = (bits >> 23) & 0xFF
    man = bits & 0x7FFFFF
    bump = (man > 0) & (exp != 0xFE) & ~((exp == 0) & (man <= 0x400000))
    code = exp + bump.to(torch.int32)
    code = torch.where(amax == 0, torch.zeros_like(code), code)
    return torch.where(torch.isfinite(amax), code, torch.full_like(code, _E8M0_NAN))


def e8m0_value(code: torch.Tensor) -> torch.Tensor:
    """float32 2^(code-127) (2^-127 is an fp32 subnormal), NaN for 0xFF."""
    c = code.to(torch.float64)
    val = torch.pow(2.0, c - 127.0)  # exact in float64 for integer exponents
    val = torch.where(code == _E8M0_NAN, torch.full_like(val, float("nan")), val)
    return val.to(torch.float32)
