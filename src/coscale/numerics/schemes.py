"""Scaled quantization schemes: one frozen value type, one flat registry, variants by function.

A scheme = element format + block geometry + scale rule.  Quantization runs along the last dim
(the GEMM reduction dim of x @ W.T with W [out, in]); 2D blocks tile the last two dims.

A scheme also states its storage cost: element bits plus the bits of its scales spread over the
elements each scale covers (`bits_per_element`).  Scales over a whole tensor or row are amortised
to 0 (their count does not grow with the block), so per-tensor FP8 is 8 bits, MXFP8 8 + 8/32 and
NVFP4 4 + 8/16 (+ one FP32 tensor scale).  This module imports without torch, so the cost model
derives every byte count from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from coscale.errors import CoscaleError
from coscale.numerics.formats import get_format

ScaleRule = Literal["none", "absmax_fp32", "absmax_fp16", "e8m0_floor", "e8m0_rceil", "nvfp4"]
SCALE_RULES = ("none", "absmax_fp32", "absmax_fp16", "e8m0_floor", "e8m0_rceil", "nvfp4")
# the element format each rule stores its block scales in (None: no scale)
SCALE_FORMAT: dict[str, str | None] = {
    "none": None,
    "absmax_fp32": "float32",
    "absmax_fp16": "float16",
    "e8m0_floor": "float8_e8m0fnu",
    "e8m0_rceil": "float8_e8m0fnu",
    "nvfp4": "float8_e4m3fn",  # UE4M3 block scale (reference/numerics.md section 1.1)
}


@dataclass(frozen=True, kw_only=True, slots=True)
class QuantScheme:
    """element: format name; block: (rows, cols), 0 = whole extent, so (0, 0) is per-tensor,
    (1, 0) per-channel (one scale per row), (1, n) 1D blocks, (r, c) 2D tiles;
    scale: how each block's scale is chosen (see scaling.py)."""

    name: str
    element: str
    block: tuple[int, int] = (0, 0)
    scale: ScaleRule = "absmax_fp32"
    description: str = ""
    # scale layout as stored for the GEMM when it differs from the quantization block (None: same)
    stored_block: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        get_format(self.element)
        if self.scale not in SCALE_RULES:
            raise CoscaleError(f"unknown scale rule {self.scale!r}; use one of {', '.join(SCALE_RULES)}")
        for blk in (self.block, self.stored_block or (0, 0)):
            if len(blk) != 2 or any(int(b) < 0 for b in blk):
                raise CoscaleError(f"block must be (rows, cols) with non-negative sizes, got {blk}")

    @property
    def granularity(self) -> str:
        r, c = self.block
        if self.scale == "none":
            return "element"
        if (r, c) == (0, 0):
            return "tensor"
        if (r, c) == (1, 0):
            return "channel"
        return "block1d" if r == 1 else "block2d"

    @property
    def per_tensor(self) -> bool:
        return self.granularity in ("tensor", "element")

    @property
    def element_bits(self) -> int:
        return get_format(self.element).bits

    @property
    def scale_format(self) -> str | None:
        """Element format of the stored block scales (None for a plain cast)."""
        return SCALE_FORMAT[self.scale]

    @property
    def tensor_scale_format(self) -> str | None:
        """NVFP4's second level: one FP32 scale per tensor (S_dec)."""
        return "float32" if self.scale == "nvfp4" else None

    @property
    def elements_per_scale(self) -> int:
        """Elements one stored scale covers; 0 when a scale spans a whole row or tensor."""
        r, c = self.stored_block or self.block
        return r * c if self.scale_format is not None else 0

    @property
    def scale_bits_per_element(self) -> float:
        """Block-scale bits per element; per-tensor and per-row scales are amortised to 0."""
        fmt, n = self.scale_format, self.elements_per_scale
        return get_format(fmt).bits / n if fmt is not None and n else 0.0

    @property
    def bits_per_element(self) -> float:
        return self.element_bits + self.scale_bits_per_element


def make_scheme(
    element: str, *, block: tuple[int, int] = (0, 0), scale: ScaleRule = "absmax_fp32", name: str = ""
) -> QuantScheme:
    """A scheme not in the registry, e.g. make_scheme('int8', block=(1, 64))."""
    fmt = get_format(element)
    auto = f"{fmt.name}_{scale}_{block[0]}x{block[1]}"
    return QuantScheme(name=name or auto, element=fmt.name, block=block, scale=scale)


def _s(
    name: str, element: str, block: tuple[int, int], scale: ScaleRule, doc: str, stored: tuple[int, int] | None = None
) -> QuantScheme:
    return QuantScheme(name=name, element=element, block=block, scale=scale, description=doc, stored_block=stored)


@cache
def _registry() -> dict[str, QuantScheme]:
    e4, e5 = "float8_e4m3fn", "float8_e5m2"
    items = [
        _s("bf16", "bfloat16", (0, 0), "none", "plain RNE cast to bfloat16"),
        _s("fp16", "float16", (0, 0), "none", "plain RNE cast to float16"),
        _s("fp32", "float32", (0, 0), "none", "plain RNE cast to float32 (master weights, optimizer state)"),
        _s("fp8_e4m3", e4, (0, 0), "none", "plain saturating cast to E4M3, no scale"),
        _s("fp8_e4m3_tensor", e4, (0, 0), "absmax_fp32", "E4M3, FP32 per-tensor scale amax/448"),
        _s("fp8_e5m2_tensor", e5, (0, 0), "absmax_fp32", "E5M2, FP32 per-tensor scale amax/57344"),
        _s("fp8_e4m3_channel", e4, (1, 0), "absmax_fp32", "E4M3, FP32 scale per row"),
        _s("fp8_block128", e4, (1, 128), "absmax_fp32", "DeepSeek-V3 activations: 1x128, FP32 scales"),
        _s("fp8_block128x128", e4, (128, 128), "absmax_fp32", "DeepSeek-V3 weights: 128x128, FP32"),
        _s("fp8_e4m3_block16", e4, (1, 16), "absmax_fp32", "E4M3 1x16 blocks, FP32 scales"),
        _s("fp8_e4m3_block32", e4, (1, 32), "absmax_fp32", "E4M3 1x32 blocks, FP32 scales"),
        _s("fp8_e4m3_block16x16", e4, (16, 16), "absmax_fp32", "E4M3 16x16 tiles, FP32 scales"),
        _s("mxfp8_e4m3", e4, (1, 32), "e8m0_floor", "OCP MX v1.0: 1x32, E8M0 scale, floor rule"),
        _s("mxfp8_e4m3_rceil", e4, (1, 32), "e8m0_rceil", "MXFP8 with cuBLAS/TE round-up scale"),
        _s("mxfp8_e5m2", e5, (1, 32), "e8m0_floor", "OCP MXFP8 E5M2"),
        _s("mxfp8_e5m2_rceil", e5, (1, 32), "e8m0_rceil", "MXFP8 E5M2, round-up scale"),
        _s("mxfp6_e2m3", "float6_e2m3fn", (1, 32), "e8m0_floor", "OCP MXFP6 E2M3"),
        _s("mxfp6_e3m2", "float6_e3m2fn", (1, 32), "e8m0_floor", "OCP MXFP6 E3M2"),
        _s("mxfp4", "float4_e2m1fn", (1, 32), "e8m0_floor", "OCP MXFP4 E2M1"),
        _s("mxfp4_rceil", "float4_e2m1fn", (1, 32), "e8m0_rceil", "MXFP4, round-up scale"),
        _s("mxint8", "int8", (1, 32), "e8m0_floor", "OCP MXINT8: int8 x 2^-6, E8M0 scale"),
        _s("nvfp4", "float4_e2m1fn", (1, 16), "nvfp4", "NVFP4: 1x16, E4M3 block + FP32 tensor scale"),
        # TE keeps the 1x16 scale layout the GEMM reads, each filled with its 16x16 tile's scale
        # (transformer_engine tests/pytorch/references quantize_blockwise_reference)
        _s("nvfp4_2d", "float4_e2m1fn", (16, 16), "nvfp4", "NVFP4 16x16 tiles (weights)", stored=(1, 16)),
        _s("int8_tensor", "int8", (0, 0), "absmax_fp32", "symmetric INT8, amax/127 per tensor"),
        _s("int8_channel", "int8", (1, 0), "absmax_fp32", "symmetric INT8 per row"),
        _s("int8_group128", "int8", (1, 128), "absmax_fp32", "symmetric INT8, groups of 128"),
        _s("int4_tensor", "int4", (0, 0), "absmax_fp32", "symmetric INT4 per tensor"),
        _s("int4_channel", "int4", (1, 0), "absmax_fp32", "symmetric INT4 per row"),
        _s("int4_group32", "int4", (1, 32), "absmax_fp32", "symmetric INT4, groups of 32"),
        _s("int4_group64", "int4", (1, 64), "absmax_fp32", "symmetric INT4, groups of 64"),
        _s("int4_group128", "int4", (1, 128), "absmax_fp32", "symmetric INT4, groups of 128"),
        _s("int4_group128_fp16", "int4", (1, 128), "absmax_fp16", "symmetric INT4, groups of 128, FP16 scales (GPTQ)"),
    ]
    return {s.name: s for s in items}


def list_schemes() -> list[QuantScheme]:
    return list(_registry().values())


def get_scheme(scheme: str | QuantScheme) -> QuantScheme:
    """Registry lookup; a QuantScheme passes through (for make_scheme variants)."""
    if isinstance(scheme, QuantScheme):
        return scheme
    reg = _registry()
    if scheme not in reg:
        raise CoscaleError(f"unknown quantization scheme {scheme!r}; valid schemes: {', '.join(reg)}")
    return reg[scheme]
