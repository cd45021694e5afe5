"""Run a scheme over row chunks that fit in cache.

Why: on CPU every torch op is one pass over memory; a scheme is ~10 ops, so on a 64 MB tensor
the intermediates, not the arithmetic, set the speed.  Chunks of ~2^18 elements keep them in
L2.  Whole blocks stay inside one chunk (chunk rows are a multiple of the block rows) and the
per-tensor / NVFP4 tensor amax is taken once over the whole tensor first, so results are
bit-identical to the unchunked computation (tests check this).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from coscale.numerics.core import Scaled, scaled_values
from coscale.numerics.layout import BlockLayout
from coscale.numerics.schemes import QuantScheme

CHUNK_ELEMENTS = 1 << 18


def row_chunks(
    x: torch.Tensor,
    scheme: QuantScheme,
    *,
    rounding: str,
    gen: torch.Generator | None,
    scale: torch.Tensor | None,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> Iterator[tuple[int, int, Scaled]] | None:
    """Yield (row_start, row_stop, Scaled) over the [rows, cols] view of x, or None when the
    tensor is small or its blocks span the batch dims (then the caller runs it whole)."""
    layout = BlockLayout.of(tuple(x.shape), scheme.block)
    if x.numel() < 2 * chunk_elements or layout.batch != 1:
        return None
    br = 1 if scheme.block[0] == 0 else scheme.block[0]
    step = max(br, (chunk_elements // max(layout.cols, 1)) // br * br)
    if step >= layout.rows:
        return None
    x2 = x.reshape(layout.rows, layout.cols)
    global_amax = None
    if scheme.granularity == "tensor" or scheme.scale == "nvfp4":
        lo, hi = torch.aminmax(x2)  # one vectorised pass; NaN propagates (checked in tests)
        global_amax = torch.maximum(-lo, hi).to(torch.float32)

    def gen_chunks() -> Iterator[tuple[int, int, Scaled]]:
        for r0 in range(0, layout.rows, step):
            r1 = min(r0 + step, layout.rows)
            sc = scaled_values(x2[r0:r1], scheme, rounding=rounding, gen=gen, scale=scale, global_amax=global_amax)
            yield r0, r1, sc

    return gen_chunks()
