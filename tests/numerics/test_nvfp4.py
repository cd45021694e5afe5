"""NVFP4 against a literal, element-by-element port of TE's reference order of operations
(reference/numerics.md 1.1) in numpy float32 scalars, on random and adversarial tensors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

from coscale.numerics import fake_quant, quantize
from coscale.numerics.nvfp4 import nvfp4_tensor_scales

F32 = np.float32
FP32_MAX = np.finfo(np.float32).max
E2M1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]


def _e2m1_rne(v: float) -> float:
    """Nearest E2M1 magnitude by search, ties to the even code."""
    a = abs(v)
    d = [abs(a - g) for g in E2M1]
    best = [i for i, di in enumerate(d) if di == min(d)]
    i = best[0] if len(best) == 1 else next(j for j in best if j % 2 == 0)
    return float(np.copysign(E2M1[i], v))


def reference_nvfp4(x: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """One float32 operation per line, exactly as the TE reference; loops over blocks."""
    x = x.astype(F32)
    with np.errstate(all="ignore"):
        gamax = F32(np.max(np.abs(x))) if not np.isnan(x).any() else F32(np.nan)
        s_enc = F32(F32(448 * 6) / gamax)
        s_enc = F32(min(s_enc, FP32_MAX)) if not np.isnan(s_enc) else s_enc
        s_enc = F32(1.0) if s_enc == 0 else s_enc
        s_dec = F32(F32(1.0) / s_enc)
        out = np.empty_like(x)
        br, bc = block
        for r0 in range(0, x.shape[0], br):
            for c0 in range(0, x.shape[1], bc):
                blk = x[r0 : r0 + br, c0 : c0 + bc]
                vmax = F32(np.max(np.abs(blk))) if not np.isnan(blk).any() else F32(np.nan)
                d = F32(vmax * F32(s_enc * F32(1.0 / 6.0)))
                d = F32(np.clip(np.minimum(d, FP32_MAX), -448, 448))
                d = F32(np.array(d, F32).astype(ml_dtypes.float8_e4m3fn).astype(F32))
                enc = F32(np.minimum(F32(F32(1.0) / F32(d * s_dec)), FP32_MAX))
                for idx, v in np.ndenumerate(blk):
                    q = F32(np.clip(F32(v * enc), -6, 6))
                    q = F32(np.nan) if np.isnan(q) else F32(_e2m1_rne(float(q)))
                    out[r0 + idx[0], c0 + idx[1]] = F32(F32(q * d) * s_dec)
    return out


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    normal = rng.standard_normal((32, 64)).astype(F32)
    tiny = normal.copy()
    tiny[0, :16] *= 1e-6  # tiny-amax block: subnormal / zero E4M3 block scale
    tiny[1, 16:32] = 0.0  # all-zero block
    tiny[2, :16] = 2.0**-140
    outlier = normal.copy()
    outlier[5, 3] = 3e4  # huge tensor amax: most blocks get subnormal block scales
    ties = (rng.integers(-12, 13, (16, 32)) * 0.25).astype(F32)
    special = normal.copy()
    special[3, 4] = np.inf
    special[7, 40] = -np.inf
    nan = normal.copy()
    nan[1, 1] = np.nan
    return [normal, tiny, outlier, ties, special, nan, np.zeros((16, 16), F32)]


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize(("scheme", "block"), [("nvfp4", (1, 16)), ("nvfp4_2d", (16, 16))])
def test_matches_te_reference(case: int, scheme: str, block: tuple[int, int]) -> None:
    x = _cases()[case]
    ref = reference_nvfp4(x, block)
    got = fake_quant(x, scheme)
    assert np.array_equal(got, ref, equal_nan=True)
    assert np.array_equal(quantize(x, scheme).dequantize(), ref, equal_nan=True)


def test_codes_scales_layout_and_packing() -> None:
    x = torch.randn(4, 32, generator=torch.Generator().manual_seed(1))
    q = quantize(x, "nvfp4")
    assert q.codes.shape == (1, 4, 32) and q.codes.dtype == torch.uint8 and int(q.codes.max()) < 16
    assert q.scale_codes.numel() == 8 and q.tensor_scale.numel() == 1
    assert torch.isclose(q.tensor_scale, x.abs().max() / 2688)
    packed = q.packed_codes()
    assert packed.shape == (1, 4, 16)
    assert torch.equal(packed & 0xF, q.codes[..., 0::2]) and torch.equal(packed >> 4, q.codes[..., 1::2])


def test_tiny_blocks_get_subnormal_scales_without_clamp() -> None:
    x = torch.ones(1, 32)
    x[0, 0] = 1000.0
    x[0, 16:] = 1e-3
    q = quantize(x, "nvfp4")
    assert q.scales.flatten()[1] < 2**-6  # E4M3 subnormal block scale (TE has no lower clamp)
    assert q.scale_codes.flatten()[1] < 8  # exponent field 0


def test_external_tensor_scale() -> None:
    x = torch.randn(8, 32, generator=torch.Generator().manual_seed(0))
    _, s_dec = nvfp4_tensor_scales(x.abs().amax())
    same = quantize(x, "nvfp4", scale=s_dec)
    assert torch.equal(same.dequantize(), fake_quant(x, "nvfp4"))
