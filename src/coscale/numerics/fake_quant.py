"""`fake_quant`: quantize-dequantize in the forward pass, identity (straight-through) backward.

Why straight-through and not clipped: the schemes scale to the current amax, so nothing is
clipped except by the element grid itself (FP8 saturation under a delayed scale is the rare
exception); passing the gradient unchanged is what TE/torchao emulation do.
"""

from __future__ import annotations

from typing import Any

import torch

from coscale.numerics.arrays import to_work
from coscale.numerics.chunks import row_chunks
from coscale.numerics.core import scaled_values
from coscale.numerics.rounding import check_policies, make_generator
from coscale.numerics.schemes import QuantScheme, get_scheme


def fake_quant_tensor(
    x: torch.Tensor,
    scheme: QuantScheme,
    *,
    rounding: str = "nearest_even",
    gen: torch.Generator | None = None,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """No-autograd fast path: dequantize(quantize(x)) in x's dtype."""
    work = x if x.dtype in (torch.float32, torch.float64) else x.float()
    chunks = row_chunks(work, scheme, rounding=rounding, gen=gen, scale=scale)
    if chunks is None:
        return scaled_values(work, scheme, rounding=rounding, gen=gen, scale=scale).dequantized().to(x.dtype)
    out = torch.empty(work.shape, dtype=x.dtype, device=x.device)
    out2 = out.view(-1, work.shape[-1])
    for r0, r1, sc in chunks:
        out2[r0:r1] = sc.dequantized()
    return out


class _FakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scheme: QuantScheme, rounding: str, seed: int | None) -> Any:
        gen = make_generator(seed) if rounding == "stochastic" else None
        return fake_quant_tensor(x, scheme, rounding=rounding, gen=gen)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        return grad, None, None, None


def fake_quant(x: Any, scheme: str | QuantScheme, *, rounding: str = "nearest_even", seed: int | None = None) -> Any:
    """dequantize(quantize(x, scheme)) with a straight-through gradient for torch tensors;
    numpy input gives a numpy array of the same dtype."""
    sch = get_scheme(scheme)
    check_policies(rounding, "saturate")
    if isinstance(x, torch.Tensor):
        to_work(x)  # dtype check with a clear message
        return _FakeQuant.apply(x, sch, rounding, seed)
    work, kind = to_work(x)
    gen = make_generator(seed) if rounding == "stochastic" else None
    return kind.restore(fake_quant_tensor(work, sch, rounding=rounding, gen=gen))
