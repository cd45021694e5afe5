"""Storage cost of one cached element for the KV-cache precisions `describe` reports.

4-bit formats carry block scales: MXFP4 one E8M0 byte per 32 elements, NVFP4 one E4M3 byte per 16
elements (its per-tensor FP32 scale is negligible and not counted). `int4` is taken as packed
nibbles with no scale overhead, as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError


@dataclass(frozen=True, kw_only=True, slots=True)
class KvPrecision:
    name: str
    element_bytes: float
    scale_bytes: float = 0.0
    block: int = 1

    @property
    def bytes_per_element(self) -> float:
        return self.element_bytes + self.scale_bytes / self.block


KV_PRECISIONS = (
    KvPrecision(name="bf16", element_bytes=2),
    KvPrecision(name="fp16", element_bytes=2),
    KvPrecision(name="fp8", element_bytes=1),
    KvPrecision(name="int8", element_bytes=1),
    KvPrecision(name="int4", element_bytes=0.5),
    KvPrecision(name="mxfp4", element_bytes=0.5, scale_bytes=1, block=32),
    KvPrecision(name="nvfp4", element_bytes=0.5, scale_bytes=1, block=16),
)


def kv_precision(name: str) -> KvPrecision:
    for p in KV_PRECISIONS:
        if p.name == name.lower():
            return p
    known = ", ".join(p.name for p in KV_PRECISIONS)
    raise CoscaleError(f"unknown KV precision {name!r}; choose one of: {known}")
