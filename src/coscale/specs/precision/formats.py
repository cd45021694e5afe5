"""Storage formats for the cost model: a name, the `coscale.numerics` scheme behind it, and what
follows from that scheme (bits per element with scales, the tensor-core class).

Nothing here is typed by hand: element bits, scale bits per element and the compute class are read
off the scheme's element and scale formats, so the cost model and the emulator cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coscale.numerics.formats import ElementFormat, get_format
from coscale.numerics.schemes import get_scheme
from coscale.registry import Registry


def tensor_core_class(fmt: ElementFormat) -> str:
    """The tensor-core class (a key of HardwareSpec.peak_flops) that GEMMs on `fmt` operands use."""
    if fmt.kind == "int":
        return f"int{fmt.bits}"
    if fmt.bits == 16:
        return "bf16" if fmt.exponent_bits == 8 else "fp16"
    return f"fp{fmt.bits}"


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageFormat:
    """How one tensor role is stored: `scheme` names a `coscale.numerics` scheme; the rest derives."""

    name: str
    scheme: str
    description: str
    element_bits: float = field(init=False)
    scale_bits_per_element: float = field(init=False)  # block scales spread over their elements
    compute_class: str = field(init=False)  # tensor-core class a GEMM on this format uses

    def __post_init__(self) -> None:
        sch = get_scheme(self.scheme)
        object.__setattr__(self, "element_bits", sch.element_bits)
        object.__setattr__(self, "scale_bits_per_element", sch.scale_bits_per_element)
        object.__setattr__(self, "compute_class", tensor_core_class(get_format(sch.element)))

    @property
    def bytes_per_element(self) -> float:
        return (self.element_bits + self.scale_bits_per_element) / 8.0


def _f(name: str, scheme: str, description: str) -> tuple[str, StorageFormat]:
    return name, StorageFormat(name=name, scheme=scheme, description=description)


STORAGE_FORMATS: Registry[StorageFormat] = Registry(
    "storage format",
    (
        _f("fp32", "fp32", "IEEE single"),
        _f("bf16", "bf16", "bfloat16"),
        _f("fp16", "fp16", "IEEE half"),
        _f("fp8", "fp8_e4m3_tensor", "FP8 E4M3 with a per-tensor FP32 scale"),
        _f("fp8-e5m2", "fp8_e5m2_tensor", "FP8 E5M2 with a per-tensor FP32 scale (HYBRID-recipe gradients)"),
        _f("fp8-block128", "fp8_block128", "FP8 E4M3, FP32 scale per 1x128 (DeepSeek-V3 activations, gradients)"),
        _f("fp8-block128x128", "fp8_block128x128", "FP8 E4M3, FP32 scale per 128x128 block (DeepSeek-V3 weights)"),
        _f("int8", "int8_channel", "INT8 with per-channel (weights) / per-token (activations) scales"),
        _f("int4", "int4_group128_fp16", "INT4 with an FP16 scale per 128-element group"),
        _f("mxfp8", "mxfp8_e4m3_rceil", "OCP MXFP8 E4M3: E8M0 scale per 32 elements (rounded up, as TE/cuBLAS)"),
        _f("mxfp6", "mxfp6_e2m3", "OCP MXFP6 E2M3: E8M0 scale per 32 elements"),
        _f("mxfp4", "mxfp4", "OCP MXFP4 E2M1: E8M0 scale per 32 elements"),
        _f("nvfp4", "nvfp4", "NVFP4 E2M1: E4M3 scale per 16 elements + FP32 tensor scale"),
    ),
)

KV_CACHE_FORMATS = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4", "nvfp4")
KV_FORMATS: Registry[StorageFormat] = Registry(
    "KV-cache precision", ((n, STORAGE_FORMATS[n]) for n in KV_CACHE_FORMATS)
)


def get_kv_format(name: str) -> StorageFormat:
    """A KV-cache storage format by name (bf16, fp8, nvfp4, ...)."""
    return KV_FORMATS.lookup(name)
