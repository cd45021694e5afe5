"""`quantize` / `dequantize` and the `QuantizedTensor` they exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from coscale.errors import CoscaleError
from coscale.numerics.arrays import ArrayKind, to_work
from coscale.numerics.cast import codes_from_values, pack_fp4
from coscale.numerics.chunks import row_chunks
from coscale.numerics.core import Scaled, scaled_values
from coscale.numerics.formats import get_format
from coscale.numerics.layout import BlockLayout
from coscale.numerics.reference import decode_table
from coscale.numerics.rounding import check_policies, make_generator
from coscale.numerics.schemes import QuantScheme, get_scheme


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
        table = decode_table(fmt).to(self.codes.device)
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
    fmt = get_format(sch.element)
    code_dtype = torch.uint8 if fmt.bits <= 8 else torch.int32
    sf = None if scale is None else torch.as_tensor(scale, dtype=torch.float32)
    layout = BlockLayout.of(tuple(work.shape), sch.block)

    def encoded(sc: Scaled) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        c = codes_from_values(sc.values, fmt, strict=False).to(code_dtype)
        c = c.reshape(sc.layout.batch, sc.layout.padded_rows, sc.layout.padded_cols)
        return c, sc.scales.to(torch.float32), sc.scale_codes, sc.tensor_scale

    chunks = row_chunks(work, sch, rounding=rounding, gen=gen, scale=sf)
    if chunks is None:
        parts = [encoded(scaled_values(work, sch, rounding=rounding, gen=gen, scale=sf))]
    else:  # codes taken while each chunk is still in cache; chunk values are dropped
        parts = [encoded(sc) for _, _, sc in chunks]

    def joined(items: list[torch.Tensor | None], dim: int) -> torch.Tensor | None:
        if items[0] is None or items[0].dim() == 0 or len(items) == 1 or sch.granularity == "tensor":
            return items[0]
        return torch.cat(items, dim=dim)  # type: ignore[arg-type]

    return QuantizedTensor(
        codes=torch.cat([p[0] for p in parts], dim=1),
        scales=joined([p[1] for p in parts], 1),  # type: ignore[arg-type]
        scale_codes=joined([p[2] for p in parts], 1),
        tensor_scale=parts[0][3],
        scheme=sch,
        layout=layout,
        kind=kind,
    )


def dequantize(q: QuantizedTensor) -> Any:
    return q.dequantize()
