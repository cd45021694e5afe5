"""The one shared core of every scheme: element values on the grid plus per-block multipliers.

`quantize` turns the values into codes and `fake_quant` multiplies them straight back, so both
paths are the same arithmetic by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from coscale.errors import CoscaleError
from coscale.numerics.cast import codes_from_values
from coscale.numerics.formats import ElementFormat, get_format
from coscale.numerics.layout import BlockLayout
from coscale.numerics.nvfp4 import nvfp4_quantize_blocks
from coscale.numerics.rounding import round_to_format
from coscale.numerics.scaling import (
    absmax_scale,
    e8m0_floor_code,
    e8m0_rceil_code,
    e8m0_value,
    fp16_scale,
    int_fraction_bits,
)
from coscale.numerics.schemes import QuantScheme


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
    global_amax: torch.Tensor | None = None,
) -> Scaled:
    """Core of every scheme on a float32/float64 tensor.  `global_amax` lets a caller that
    splits a tensor into row chunks pass the whole tensor's amax (per-tensor and NVFP4 scales)."""
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
        q, dscale, s_dec = nvfp4_quantize_blocks(
            xb, rounding=rounding, gen=gen, s_dec_override=ext, global_amax=global_amax
        )
        codes = _e4m3_codes(dscale)
        return Scaled(values=q, scales=dscale, scale_codes=codes, tensor_scale=s_dec, layout=layout)
    if scheme.scale == "none":
        one = torch.ones((), dtype=torch.float32)
        q = round_to_format(xb, fmt, rounding, "saturate", gen)
        return Scaled(values=q, scales=one, scale_codes=None, tensor_scale=None, layout=layout)
    amax = xb.abs().amax(dim=(2, 4), keepdim=True) if global_amax is None else global_amax
    codes = None
    if ext is not None:
        s = ext.reshape(1, 1, 1, 1, 1)
    elif scheme.scale == "absmax_fp32":
        s = absmax_scale(amax, fmt)
    elif scheme.scale == "absmax_fp16":
        s = fp16_scale(absmax_scale(amax, fmt))
    else:
        rule = e8m0_floor_code if scheme.scale == "e8m0_floor" else e8m0_rceil_code
        codes = rule(amax, fmt)
        s = e8m0_value(codes) / float(1 << int_fraction_bits(fmt))
    q = _element_grid(xb / s, fmt, rounding, gen)
    codes8 = None if codes is None else codes.to(torch.uint8)
    return Scaled(values=q, scales=s, scale_codes=codes8, tensor_scale=None, layout=layout)


def _e4m3_codes(v: torch.Tensor) -> torch.Tensor:
    return codes_from_values(v, get_format("float8_e4m3fn"), strict=False).to(torch.uint8)
