"""`quantize` / `dequantize` and the `QuantizedTensor` they exchange.

`scaled_values` is the one shared core: it returns the element values (on the element grid)
and the per-block multipliers; `quantize` turns the values into codes, `fake_quant` multiplies
them straight back, so both paths are the same arithmetic by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from coscale.errors import CoscaleError
from coscale.numerics.arrays import ArrayKind, to_work
from coscale.numerics.cast import codes_from_values, pack_fp4
from coscale.numerics.formats import ElementFormat, get_format
from coscale.numerics.layout import BlockLayout
from coscale.numerics.nvfp4 import nvfp4_quantize_blocks
from coscale.numerics.reference import decode_table
from coscale.numerics.rounding import check_policies, make_generator, round_to_format
from coscale.numerics.scaling import (
    absmax_scale,
    e8m0_floor_code,
    e8m0_rceil_code,
    e8m0_value,
    int_fraction_bits,
)
from coscale.numerics.schemes import QuantScheme, get_scheme


@dataclass(frozen=True, kw_only=True, slots=True)
class Scaled:
    """Intermediate result in block form [B, nR, r, nC, c] (scales broadcast as [B,nR,1,nC,1])."""

    values: torch.Tensor
    scales: torch.Tensor
    scale_codes: torch.Tensor | None
    tensor_scale: torch.Tensor | None
    layout: BlockLayout

    def dequantized(self) -> torch.Tensor:
        out = self.values * self.scales
        if self.tensor_scale is not None:
            out = out * self.tensor_scale
        return self.layout.from_blocks(out)


def _element_grid(x: torch.Tensor, fmt: ElementFormat, rounding: str, gen: Any) -> torch.Tensor:
    q = round_to_format(x, fmt, rounding, "saturate", gen)
    if fmt.kind == "int":  # symmetric: the -2^(b-1) code stays unused (TensorRT, microxcaling)
        q = q.clamp_min(-fmt.max)
    return q


def scaled_values(
    x: torch.Tensor,
    scheme: QuantScheme,
    *,
    rounding: str = "nearest_even",
    gen: torch.Generator | None = None,
    scale: torch.Tensor | float | None = None,
) -> Scaled:
    """Core of every scheme on a float32/float64 tensor."""
    fmt = get_format(scheme.element)
    layout = BlockLayout.of(tuple(x.shape), scheme.block)
    xb = layout.to_blocks(x.to(torch.float32))
    ext = None if scale is None else torch.as_tensor(scale, dtype=torch.float32)
    if ext is not None and not scheme.per_tensor and scheme.scale != "nvfp4":
        raise CoscaleError(
            f"scale= is only for per-tensor schemes and nvfp4's tensor scale; {scheme.name} is "
            f"{scheme.granularity}-scaled, so drop scale="
        )
    if scheme.scale == "nvfp4":
        q, dscale, s_dec = nvfp4_quantize_blocks(xb, rounding=rounding, gen=gen, s_dec_override=ext)
        codes = _e4m3_codes(dscale)
        return Scaled(values=q, scales=dscale, scale_codes=codes, tensor_scale=s_dec, layout=layout)
    if scheme.scale == "none":
        one = torch.ones((), dtype=torch.float32)
        q = round_to_format(xb, fmt, rounding, "saturate", gen)
        return Scaled(values=q, scales=one, scale_codes=None, tensor_scale=None, layout=layout)
    amax = xb.abs().amax(dim=(2, 4), keepdim=True)
    codes = None
    if ext is not None:
        s = ext.reshape(1, 1, 1, 1, 1)
    elif scheme.scale == "absmax_fp32":
        s = absmax_scale(amax, fmt)
    else:
        rule = e8m0_floor_code if scheme.scale == "e8m0_floor" else e8m0_rceil_code
        codes = rule(amax, fmt)
        s = e8m0_value(codes) / float(1 << int_fraction_bits(fmt))
    q = _element_grid(xb / s, fmt, rounding, gen)
    codes8 = None if codes is None else codes.to(torch.uint8)
    return Scaled(values=q, scales=s, scale_codes=codes8, tensor_scale=None, layout=layout)


def _e4m3_codes(v: torch.Tensor) -> torch.Tensor:
    return codes_from_values(v, get_format("float8_e4m3fn"), strict=False).to(torch.uint8)


@dataclass(frozen=True, kw_only=True, slots=True)
class QuantizedTensor:
    """Element codes (uint8, int32 for 16-bit formats; one per element, padded to whole blocks), the per-block decode
    multipliers `scales` (float32; x ~= value(code) * scale [* tensor_scale]), the raw scale
    bytes where the scale has a narrow format (E8M0 for MX, E4M3 for NVFP4), and the FP32
    tensor scale (NVFP4's S_dec).  `dequantize()` gives the caller's array type back."""

    codes: torch.Tensor
    scales: torch.Tensor
    scale_codes: torch.Tensor | None
    tensor_scale: torch.Tensor | None
    scheme: QuantScheme
    layout: BlockLayout
    kind: ArrayKind

    @property
    def shape(self) -> tuple[int, ...]:
        return self.layout.shape

    def packed_codes(self) -> torch.Tensor:
        """FP4 codes two per byte (even index low nibble) along the padded last dim."""
        if get_format(self.scheme.element).bits != 4:
            raise CoscaleError(f"{self.scheme.name} is not a 4-bit scheme; use .codes")
        return pack_fp4(self.codes)

    def dequantize(self) -> Any:
        fmt = get_format(self.scheme.element)
        table = decode_table(fmt)
        vals = table[self.codes.to(torch.int64)].reshape(self.layout.blocks_shape)
        out = vals * self.scales
        if self.tensor_scale is not None:
            out = out * self.tensor_scale
        return self.kind.restore(self.layout.from_blocks(out))


def quantize(
    x: Any,
    scheme: str | QuantScheme,
    *,
    rounding: str = "nearest_even",
    seed: int | None = None,
    scale: torch.Tensor | float | None = None,
) -> QuantizedTensor:
    """Quantize x with a named scheme. `scale` (per-tensor schemes and nvfp4 only) is a
    precomputed decode scale (x ~= value * scale), e.g. amax_history_max / elem_max for delayed
    scaling; for nvfp4 it replaces S_dec = amax / 2688."""
    sch = get_scheme(scheme)
    check_policies(rounding, "saturate")
    work, kind = to_work(x)
    gen = make_generator(seed) if rounding == "stochastic" else None
    sc = scaled_values(work, sch, rounding=rounding, gen=gen, scale=scale)
    fmt = get_format(sch.element)
    code_dtype = torch.uint8 if fmt.bits <= 8 else torch.int32
    codes = codes_from_values(sc.values, fmt, strict=False).to(code_dtype)
    return QuantizedTensor(
        codes=codes.reshape(sc.layout.batch, sc.layout.padded_rows, sc.layout.padded_cols),
        scales=sc.scales.to(torch.float32),
        scale_codes=sc.scale_codes,
        tensor_scale=sc.tensor_scale,
        scheme=sch,
        layout=sc.layout,
        kind=kind,
    )


def dequantize(q: QuantizedTensor) -> Any:
    return q.dequantize()
