"""Accelerator and system specs as frozen values. All numbers in SI units (FLOP/s, bytes, bytes/s, W).

A catalog file (JSON) describes one accelerator with a `source` for every number; see
`coscale.hardware.catalog`. A `System` is that accelerator times `num_gpus`, grouped into scale-up
domains (an NVLink node of 8, an NVL72 rack) joined by a scale-out network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Compute classes a tensor unit may support; keys of HardwareSpec.peak_flops.
COMPUTE_CLASSES = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")


@dataclass(frozen=True, kw_only=True, slots=True)
class HardwareSpec:
    id: str
    name: str
    vendor: str
    peak_flops: dict[str, float]  # dense peak per compute class (FLOP/s or OP/s); absent = unsupported
    memory_bytes: float  # device memory capacity (HBM/GDDR/LPDDR/SRAM)
    memory_bw_Bps: float  # device memory bandwidth
    scaleup_bw_Bps: float  # per GPU, per direction, inside a scale-up domain (NVLink, xGMI, ICI)
    scaleup_domain: int  # GPUs per scale-up domain (8 for an HGX node, 72 for GB200 NVL72)
    scaleout_bw_Bps: float  # per GPU, per direction, between domains (InfiniBand / Ethernet NIC)
    host_link_Bps: float  # per direction to the host (PCIe / C2C)
    tdp_w: float  # board power used for energy estimates
    idle_w: float  # power when idle (fraction of TDP unless published)
    compute_units: int = 0  # SMs / CUs / cores that GEMM tiles are spread over (0 = unknown: no wave model)
    block_scaled_formats: tuple[str, ...] = ()  # hardware-native block scaling: 'mxfp8', 'mxfp4', 'nvfp4'...
    sources: dict[str, str] = field(default_factory=dict)  # field name -> citation
    notes: tuple[str, ...] = ()

    def supports(self, compute_class: str) -> bool:
        return self.peak_flops.get(compute_class, 0.0) > 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class System:
    """`num_gpus` accelerators: scale-up domains of `hardware.scaleup_domain` joined by scale-out links."""

    hardware: HardwareSpec
    num_gpus: int

    @property
    def num_domains(self) -> int:
        return -(-self.num_gpus // self.hardware.scaleup_domain)

    def link_bw_Bps(self, group_size: int) -> float:
        """Per-GPU per-direction bandwidth for a collective over `group_size` consecutive GPUs."""
        if group_size <= self.hardware.scaleup_domain:
            return self.hardware.scaleup_bw_Bps
        return self.hardware.scaleout_bw_Bps
