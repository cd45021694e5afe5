"""NVFP4 scaling in exactly the order of Transformer Engine's reference quantizer.

Why the order matters: NVFP4 is defined by what NVIDIA's kernels compute, and the kernel is
tested at zero tolerance against `NVFP4QuantizerRef._quantize_blockwise_reference`.  Each line
below is one float32 operation of that reference (numbers from reference/numerics.md section 1.1):

    S_enc  = 2688 / global_amax, capped at fp32 max, 1 if it comes out 0
    S_dec  = 1 / S_enc
    dscale = E4M3_RNE(clamp(min(vec_max * (S_enc * fp32(1/6)), fp32_max), -448, 448))
    enc    = min(1 / (dscale * S_dec), fp32_max)
    q      = E2M1_RNE(clamp(x * enc, -6, 6));  x_hat = q * dscale * S_dec

There is no lower clamp on dscale (torchao clamps to 2^-6; TE does not): tiny-amax blocks get
subnormal or zero E4M3 scales, and a zero scale dequantizes the whole block to 0.
"""

from __future__ import annotations

import torch

from coscale.numerics.formats import get_format
from coscale.numerics.rounding import round_to_format

FP32_MAX = torch.finfo(torch.float32).max
E4M3_MAX = 448.0
E2M1_MAX = 6.0


def nvfp4_tensor_scales(global_amax: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(S_enc, S_dec) as float32 scalars from the tensor amax."""
    s_enc = torch.tensor(E4M3_MAX * E2M1_MAX, dtype=torch.float32) / global_amax.to(torch.float32)
    s_enc = torch.clamp(s_enc, max=FP32_MAX)
    s_enc = torch.where(s_enc == 0, torch.ones_like(s_enc), s_enc)
    return s_enc, 1.0 / s_enc


def nvfp4_block_scales(vec_max: torch.Tensor, s_enc: torch.Tensor) -> torch.Tensor:
    """E4M3-representable block decode scales (float32) from block amax."""
    sixth = torch.tensor(1.0 / 6.0, dtype=torch.float32)
    dscale = vec_max * (s_enc * sixth)
    dscale = torch.clamp(torch.clamp(dscale, max=FP32_MAX), -E4M3_MAX, E4M3_MAX)
    return round_to_format(dscale, get_format("float8_e4m3fn"), "nearest_even", "saturate", None)


def nvfp4_quantize_blocks(
    xb: torch.Tensor,
    *,
    rounding: str,
    gen: torch.Generator | None,
    s_dec_override: torch.Tensor | None = None,
    global_amax: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """xb: float32 blocks [B, nR, r, nC, c]. Returns (E2M1 values, dscale [B,nR,1,nC,1], S_dec)."""
    if s_dec_override is None:
        s_enc, s_dec = nvfp4_tensor_scales(xb.abs().amax() if global_amax is None else global_amax)
    else:
        s_dec = s_dec_override.to(torch.float32)
        s_enc = torch.clamp(1.0 / s_dec, max=FP32_MAX)
    vec_max = xb.abs().amax(dim=(2, 4), keepdim=True)
    dscale = nvfp4_block_scales(vec_max, s_enc)
    enc = torch.clamp(1.0 / (dscale * s_dec), max=FP32_MAX)
    scaled = torch.clamp(xb * enc, -E2M1_MAX, E2M1_MAX)
    q = round_to_format(scaled, get_format("float4_e2m1fn"), rounding, "saturate", gen)
    return q, dscale, s_dec
