"""Bytes per element and tensor-core classes are derived from the numerics schemes and equal the
published figures. Expected values are built from the format definitions in
/work/shared/reference/numerics.md (element bits, block size, scale width), not from the code."""

from __future__ import annotations

import pytest

from coscale.errors import CoscaleError
from coscale.numerics.schemes import get_scheme, list_schemes
from coscale.specs.precision import KV_CACHE_FORMATS, STORAGE_FORMATS, get_kv_format

# numerics.md section 0: element widths; scale widths: E8M0 = 8, UE4M3 = 8, FP32 = 32, FP16 = 16
E4M3, E2M3, E2M1, INT4, INT8, BF16, FP32 = 8, 6, 4, 4, 8, 16, 32

PUBLISHED_BITS = {
    # section 2.1: "Bits per element including scale: 8.25, 6.25 and 4.25" (k = 32, one E8M0 per block)
    "mxfp8_e4m3": 8.25,
    "mxfp8_e4m3_rceil": 8.25,
    "mxfp6_e2m3": 6.25,
    "mxfp4": 4.25,
    "mxint8": INT8 + 8 / 32,
    # section 1.1: 16 elements per UE4M3 block scale; the one FP32 tensor scale amortises to 0
    "nvfp4": E2M1 + 8 / 16,
    # 16x16 weight tiles: TE stores the 1x16 scale layout the GEMM reads, filled with the tile's scale
    "nvfp4_2d": E2M1 + 8 / 16,
    # section 1.3 Float8BlockScaling / 5.2 DeepSeek-V3: 1x128 activations, 128x128 weights, FP32 scales
    "fp8_block128": E4M3 + FP32 / 128,
    "fp8_block128x128": E4M3 + FP32 / (128 * 128),
    # section 1.3 DelayedScaling / Float8CurrentScaling: one FP32 scale per tensor
    "fp8_e4m3_tensor": E4M3,
    "fp8_e5m2_tensor": 8,
    # GPTQ-style INT4: one FP16 scale per group of 128
    "int4_group128_fp16": INT4 + 16 / 128,
    "int4_group128": INT4 + FP32 / 128,
    "int8_channel": INT8,  # one scale per row of thousands: amortised
    "bf16": BF16,
    "fp32": FP32,
}


@pytest.mark.parametrize(("scheme", "bits"), sorted(PUBLISHED_BITS.items()))
def test_scheme_bits_per_element_match_the_published_figures(scheme: str, bits: float) -> None:
    assert get_scheme(scheme).bits_per_element == bits


def test_every_scheme_states_its_storage() -> None:
    for s in list_schemes():
        assert s.bits_per_element >= s.element_bits
        assert (s.scale_bits_per_element > 0) == (s.granularity in ("block1d", "block2d"))


# (name, bits per element with scales, tensor-core class): the cost model's formats, unchanged
# from the hand-typed table they replace, now read off the schemes
COST_FORMATS = [
    ("fp32", FP32, "fp32"),
    ("bf16", BF16, "bf16"),
    ("fp16", 16, "fp16"),
    ("fp8", E4M3, "fp8"),
    ("int8", INT8, "int8"),
    ("int4", INT4 + 16 / 128, "int4"),
    ("mxfp8", 8.25, "fp8"),
    ("mxfp6", 6.25, "fp6"),
    ("mxfp4", 4.25, "fp4"),
    ("nvfp4", E2M1 + 8 / 16, "fp4"),
    ("fp8-e5m2", 8, "fp8"),
    ("fp8-block128", E4M3 + FP32 / 128, "fp8"),
    ("fp8-block128x128", E4M3 + FP32 / 128**2, "fp8"),
]


@pytest.mark.parametrize(("name", "bits", "compute"), COST_FORMATS)
def test_storage_format_bytes_and_class_derive_from_its_scheme(name: str, bits: float, compute: str) -> None:
    fmt = STORAGE_FORMATS[name]
    assert fmt.bytes_per_element == bits / 8
    assert fmt.compute_class == compute
    assert fmt.element_bits + fmt.scale_bits_per_element == get_scheme(fmt.scheme).bits_per_element


def test_every_storage_format_is_listed_and_kv_formats_resolve() -> None:
    assert sorted(STORAGE_FORMATS) == sorted(n for n, _, _ in COST_FORMATS)
    for name in KV_CACHE_FORMATS:
        assert get_kv_format(name) is STORAGE_FORMATS[name]
    with pytest.raises(CoscaleError, match=r"unknown KV-cache precision 'fp3'\. Did you mean fp8"):
        get_kv_format("fp3")
