"""Which tensor-core class a format really computes in on a given chip — never a rate it lacks."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.specs.hardware import HardwareSpec

# What a GEMM falls back to when the chip has no units for the format: the next wider class
# whose operands the dequantised values still fit exactly (FP4/FP6 values are exact in FP8 E4M3;
# INT4 in INT8; everything in BF16).
_FALLBACK = {
    "fp4": ("fp4", "fp8", "bf16", "fp16", "fp32"),
    "fp6": ("fp6", "fp8", "bf16", "fp16", "fp32"),
    "fp8": ("fp8", "bf16", "fp16", "fp32"),
    "int4": ("int4", "int8", "bf16", "fp16", "fp32"),
    "int8": ("int8", "bf16", "fp16", "fp32"),
    "bf16": ("bf16", "fp16", "fp32"),
    "fp16": ("fp16", "bf16", "fp32"),
    "fp32": ("fp32", "tf32", "bf16"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedClass:
    requested: str
    used: str

    @property
    def note(self) -> str | None:
        if self.used == self.requested:
            return None
        return (f"no {self.requested.upper()} tensor cores on this chip: assumed "
                f"{self.used.upper()} compute on dequantised operands (storage stays {self.requested.upper()})")


def resolve_compute_class(hardware: HardwareSpec, requested: str) -> ResolvedClass:
    for candidate in _FALLBACK.get(requested, (requested,)):
        if hardware.compute.supports(candidate):
            return ResolvedClass(requested=requested, used=candidate)
    raise CoscaleError(
        f"{hardware.name} publishes no compute rate for {requested.upper()} or any fallback; "
        f"add a peak rate to its hardware file."
    )
