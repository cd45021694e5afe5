"""GPTQ (Frantar et al., 2022): weight rounding that compensates each column's error on the rest.

Variant note: `lab.ptq` collects every layer's Hessian in one calibration pass of the unquantized
model, whereas reference GPTQ quantizes block by block and feeds each layer the outputs of the
already-quantized earlier layers.

With H = 2 X^T X from calibration inputs, quantizing column i and pushing its error onto the not yet
quantized columns through the Cholesky factor of H^-1 minimises the layer's output error
||XW^T - XQ^T||^2 greedily. Scales are symmetric absmax per row and per group of `group` columns,
computed from the already-updated weights when a group starts (GPTQ's "grouped scales"), and the
rounding is the same round-half-to-even-and-clamp as the plain INT schemes, so with H = I GPTQ
reduces exactly to round-to-nearest.
"""

from __future__ import annotations

import torch


def hessian_from_inputs(inputs: list[torch.Tensor]) -> tuple[torch.Tensor, int]:
    """(sum of X^T X over the calibration activations, number of rows) in float64."""
    xs = [x.reshape(-1, x.shape[-1]).double() for x in inputs if x.numel()]
    if not xs:
        return torch.zeros(0, 0, dtype=torch.float64), 0
    h = sum(x.t() @ x for x in xs)
    return h, sum(x.shape[0] for x in xs)


def _round_sym(w: torch.Tensor, scale: torch.Tensor, qmax: int) -> torch.Tensor:
    return torch.clamp(torch.round(w / scale), -qmax, qmax) * scale


def group_scales(w: torch.Tensor, qmax: int) -> torch.Tensor:
    """Per-row absmax scale of a (rows, group) slice; all-zero rows get scale 1."""
    amax = w.abs().amax(dim=1, keepdim=True)
    return torch.where(amax > 0, amax / qmax, torch.ones_like(amax))


def gptq_quantize(
    weight: torch.Tensor, hessian: torch.Tensor, *, bits: int = 4, group: int = 128, damp: float = 0.01
) -> torch.Tensor:
    """Return the dequantized GPTQ weight (same shape/dtype as `weight`)."""
    qmax = 2 ** (bits - 1) - 1
    w = weight.detach().double().clone()
    cols = w.shape[1]
    h = hessian.double().clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h += damp * torch.diag(h).mean() * torch.eye(cols, dtype=h.dtype, device=h.device)
    chol = torch.linalg.cholesky(h)
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(chol), upper=True)
    q = torch.zeros_like(w)
    scale = torch.ones(w.shape[0], 1, dtype=w.dtype, device=w.device)
    for i in range(cols):
        if i % group == 0:
            scale = group_scales(w[:, i : i + group], qmax)
        col = w[:, i : i + 1]
        q[:, i : i + 1] = _round_sym(col, scale, qmax)
        err = (col - q[:, i : i + 1]) / hinv[i, i]
        w[:, i + 1 :] -= err @ hinv[i : i + 1, i + 1 :]
    return q.to(weight.dtype)


def rtn_group_quantize(weight: torch.Tensor, *, bits: int = 4, group: int = 128) -> torch.Tensor:
    """Plain round-to-nearest with the same grouped symmetric scales (the GPTQ identity case)."""
    qmax = 2 ** (bits - 1) - 1
    w = weight.detach().double()
    out = torch.empty_like(w)
    for start in range(0, w.shape[1], group):
        block = w[:, start : start + group]
        out[:, start : start + group] = _round_sym(block, group_scales(block, qmax), qmax)
    return out.to(weight.dtype)
