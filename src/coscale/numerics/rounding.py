"""Vectorised rounding of float32/float64 torch tensors onto an element format's value grid.

Why this shape: every binary float format is "integers times a power of two" per binade, so
rounding is `round(|x| / ulp) * ulp` with the ulp taken from |x|'s own exponent, clamped below at
the format's subnormal exponent.  Powers of two are built from exponent bits, so every multiply
is exact and the only rounding step is the one we choose (RNE or stochastic).
"""

from __future__ import annotations

import torch

from coscale.numerics.formats import ElementFormat
from coscale.numerics.policies import OVERFLOWS as OVERFLOWS  # re-exported: callers import them from here too
from coscale.numerics.policies import ROUNDINGS as ROUNDINGS
from coscale.numerics.policies import Overflow as Overflow
from coscale.numerics.policies import Rounding as Rounding
from coscale.numerics.policies import check_policies as check_policies


def make_generator(seed: int | None) -> torch.Generator:
    """A private generator: seeded runs are reproducible and never touch torch's global RNG."""
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def exponent_of(a: torch.Tensor) -> torch.Tensor:
    """floor(log2(a)) for positive normal a, read from the bits (zero/subnormal give the min)."""
    if a.dtype == torch.float64:
        return ((a.view(torch.int64) >> 52) & 0x7FF).to(torch.int32) - 1023
    return ((a.view(torch.int32) >> 23) & 0xFF) - 127


def pow2(k: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Exact 2**k for an integer tensor k within the normal range of `dtype`."""
    if dtype == torch.float64:
        return ((k.to(torch.int64) + 1023) << 52).view(torch.float64)
    return ((k.to(torch.int32) + 127) << 23).view(torch.float32)


def round_integer(s: torch.Tensor, rounding: str, gen: torch.Generator | None) -> torch.Tensor:
    """Round to an integer: ties to even, or stochastically with P(up) = fractional part.

    The stochastic path compares a uniform draw with the exact fractional part instead of
    computing floor(s + u): the sum can round up across an integer, which would move values
    that are already representable.
    """
    if rounding == "nearest_even":
        return torch.round(s)
    fl = torch.floor(s)
    # drawn on the CPU generator and moved: the same seed gives the same bits on any device
    u = torch.rand(s.shape, generator=gen, dtype=s.dtype).to(s.device)
    return fl + (u < (s - fl)).to(s.dtype)


def apply_overflow(q: torch.Tensor, x: torch.Tensor, fmt: ElementFormat, overflow: str) -> torch.Tensor:
    """Resolve |q| > max per policy; formats lacking the asked special value fall back.

    'inf' falls back to NaN when the format has NaN but no Inf (E4M3), and to saturation when it
    has neither (FP6/FP4/INT): exactly ml_dtypes' behaviour.  'nan' falls back to saturation.
    'saturate' is PTX `.satfinite`: Inf inputs also become +-max.  Under 'nan'/'inf', Inf inputs
    stay Inf where the format has Inf and otherwise follow the policy.
    """
    over = q.abs() > fmt.max
    big = torch.full_like(q, fmt.max).copysign(x)
    if overflow == "inf" and fmt.has_inf:
        special = torch.full_like(q, float("inf")).copysign(x)
    elif overflow in ("inf", "nan") and fmt.has_nan:
        special = torch.full_like(q, float("nan"))
    else:
        special = big
    if fmt.has_inf and overflow != "saturate":
        special = torch.where(torch.isinf(x), x, special)
    return torch.where(over, special, q)


def round_float(
    x: torch.Tensor, fmt: ElementFormat, rounding: str, overflow: str, gen: torch.Generator | None
) -> torch.Tensor:
    """Round x (float32/float64) to a signed binary float format (FP8/FP6/FP4/BF16/FP16)."""
    if x.dtype == torch.float32 and fmt.mantissa_bits - fmt.emin > 126:
        # BF16's smallest ulp (2**-133) is not a normal float32: compute in float64 (exact).
        return round_float(x.to(torch.float64), fmt, rounding, overflow, gen).to(x.dtype)
    a = x.abs()
    e = exponent_of(a).clamp(fmt.emin, fmt.emax + 1)
    m = fmt.mantissa_bits
    r = round_integer(a * pow2(m - e, a.dtype), rounding, gen)
    q = (r * pow2(e - m, a.dtype)).copysign(x)
    q = apply_overflow(q, x, fmt, overflow)
    return torch.where(torch.isnan(x), x, q)


def round_int(x: torch.Tensor, fmt: ElementFormat, rounding: str, gen: torch.Generator | None) -> torch.Tensor:
    """Round to an integer format; out-of-range values saturate (INT has no Inf/NaN codes)."""
    q = round_integer(x, rounding, gen).clamp(fmt.min, fmt.max)
    return torch.where(torch.isnan(x), x, q)


def round_e8m0(
    x: torch.Tensor, fmt: ElementFormat, rounding: str, overflow: str, gen: torch.Generator | None
) -> torch.Tensor:
    """Round to E8M0 (powers of two 2^-127..2^127), with ml_dtypes' conventions.

    Zero, negatives and NaN have no E8M0 value and give NaN (torch instead maps 0 to 2^-127 and
    ignores the sign; see README).  Positive values below 2^-127 round up to 2^-127.
    """
    a = x.to(torch.float64).clamp_min(0)  # float64: 2**-128..2**128 are all normal there
    e = exponent_of(a).clamp(-127, 128)
    q = round_integer(a * pow2(-e, a.dtype), rounding, gen) * pow2(e, a.dtype)
    q = torch.where(a < fmt.min, torch.full_like(a, fmt.min), q)
    q = apply_overflow(q, a, fmt, overflow).to(x.dtype)
    invalid = torch.isnan(x) | (x <= 0)
    return torch.where(invalid, torch.full_like(x, float("nan")), q)


# torch's own fp32 -> bf16/fp16 casts are RNE and fast; its float8 -> fp32 widening is slow on
# CPU (measured ~8x a clone), so FP8 uses the arithmetic path below.
_NATIVE = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def round_saturate_fast(x: torch.Tensor, fmt: ElementFormat) -> torch.Tensor:
    """float32 RNE + saturate in as few tensor passes as possible (the path every scheme uses).

    BF16/FP16: clamp to +-max, then torch's own RNE cast (clamping first makes the cast
    saturating).  FP8/FP6/FP4: exponent from the bits, clamped to
    [emin, emax]; round(a / ulp) * ulp; clamp_max(max) also maps Inf to max; NaN flows through.
    Tests check this against `round_float` and the table-search reference on every input.
    """
    native = _NATIVE.get(fmt.name)
    if native is not None:
        return x.clamp(-fmt.max, fmt.max).to(native).to(torch.float32)
    a = x.abs()
    e = (a.view(torch.int32) >> 23).clamp_(fmt.emin + 127, fmt.emax + 127)
    m = fmt.mantissa_bits
    inv = ((254 + m) - e).bitwise_left_shift_(23).view(torch.float32)
    ulp = e.sub_(m).bitwise_left_shift_(23).view(torch.float32)
    return a.mul_(inv).round_().mul_(ulp).clamp_max_(fmt.max).copysign_(x)


def round_chunked(
    x: torch.Tensor, fmt: ElementFormat, rounding: str, overflow: str, gen: torch.Generator | None
) -> torch.Tensor:
    """round_to_format over cache-sized 2^18-element pieces (see chunks.py for why)."""
    n, step = x.numel(), 1 << 18
    if n < 2 * step:
        return round_to_format(x, fmt, rounding, overflow, gen)
    flat, out = x.reshape(-1), torch.empty_like(x).reshape(-1)
    for i in range(0, n, step):
        out[i : i + step] = round_to_format(flat[i : i + step], fmt, rounding, overflow, gen)
    return out.reshape(x.shape)


def round_to_format(
    x: torch.Tensor, fmt: ElementFormat, rounding: str, overflow: str, gen: torch.Generator | None
) -> torch.Tensor:
    fast = rounding == "nearest_even" and overflow == "saturate" and x.dtype == torch.float32
    if fast and fmt.kind == "float":
        return round_saturate_fast(x, fmt)
    if fmt.kind == "int":
        return round_int(x, fmt, rounding, gen)
    if fmt.kind == "scale":
        return round_e8m0(x, fmt, rounding, overflow, gen)
    return round_float(x, fmt, rounding, overflow, gen)
