"""Accelerators by composition: compute + memory tiers + links + power (+ the family's efficiency).

All numbers in SI units (FLOP/s, bytes, bytes/s, seconds, W). A catalog file (JSON) describes one
accelerator with a `source` for every number (see `coscale.hardware`). Every numeric field has a
dotted path (`hw.get("memory.hbm.bandwidth_Bps")`, `hw.with_value("compute.fp8", 2e15)`,
`numeric_paths(hw)`) so sweeps and sensitivity analyses address fields by name. Systems of many
devices: `System`; named pools of systems joined by a fabric: `coscale.specs.cluster.Cluster`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from typing import Any

from coscale.errors import CoscaleError
from coscale.specs.efficiency import EfficiencyModel, FieldSource
from coscale.specs.paths import get_path, numeric_paths_of, replace_path

# Compute classes a tensor unit may support; one field of ComputeSpec each.
COMPUTE_CLASSES = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")


@dataclass(frozen=True, kw_only=True, slots=True)
class ComputeSpec:
    """Dense peak rate per compute class (FLOP/s or OP/s); 0.0 = the chip has no units for it."""

    fp32: float = 0.0
    tf32: float = 0.0
    bf16: float = 0.0
    fp16: float = 0.0
    fp8: float = 0.0
    fp6: float = 0.0
    fp4: float = 0.0
    int8: float = 0.0
    int4: float = 0.0
    compute_units: int = 0  # SMs / CUs that GEMM tiles are spread over (0 = unknown: no wave model)
    block_scaled_formats: tuple[str, ...] = ()  # hardware-native block scaling: 'mxfp8', 'mxfp4', 'nvfp4'...

    def peak(self, compute_class: str) -> float:
        if compute_class not in COMPUTE_CLASSES:
            raise KeyError(compute_class)
        return float(getattr(self, compute_class))

    def supports(self, compute_class: str) -> bool:
        return compute_class in COMPUTE_CLASSES and getattr(self, compute_class) > 0.0

    def rates(self) -> tuple[tuple[str, float], ...]:
        """(class, rate) for every supported class, in COMPUTE_CLASSES order."""
        return tuple((c, float(getattr(self, c))) for c in COMPUTE_CLASSES if self.supports(c))


@dataclass(frozen=True, kw_only=True, slots=True)
class MemoryTier:
    """One level of memory as seen from one device: per-device capacity, bandwidth and access latency."""

    capacity_bytes: float
    bandwidth_Bps: float  # what one device reaches this tier at, per direction
    latency_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class MemorySpec:
    """Device memory plus the optional tiers behind it (per device share of a shared resource).

    `host` is CPU DRAM; its bandwidth is what the device reaches it at: the smaller of the host
    link (PCIe or NVLink-C2C) and the device's share of DRAM bandwidth. `nvme` is local flash.
    `None` means the tier is absent (unified-memory parts, wafer-scale engines) or unpublished.
    """

    hbm: MemoryTier
    host: MemoryTier | None = None
    nvme: MemoryTier | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    """Per-device, per-direction bandwidth and the small-message latency of one hop class."""

    bandwidth_Bps: float
    latency_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ScaleUpLink(Link):
    """The scale-up fabric (NVLink, xGMI, ICI) and how many devices share it."""

    domain_size: int  # devices per scale-up domain (8 for an HGX node, 72 for GB200 NVL72)

    def __post_init__(self) -> None:
        if self.domain_size < 1:
            raise CoscaleError(
                f"links.scaleup.domain_size is {self.domain_size}; use 1 for a device without a scale-up fabric")


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkSpec:
    scaleup: ScaleUpLink
    scaleout: Link  # between domains (InfiniBand / Ethernet NIC), per device
    host: Link  # to the host CPU (PCIe / NVLink-C2C)


@dataclass(frozen=True, kw_only=True, slots=True)
class PowerSpec:
    tdp_w: float  # board power used for energy estimates
    idle_w: float  # power when idle


@dataclass(frozen=True, kw_only=True, slots=True)
class HardwareSpec:
    id: str
    name: str
    vendor: str
    compute: ComputeSpec
    memory: MemorySpec
    links: LinkSpec
    power: PowerSpec
    efficiency: EfficiencyModel = field(default_factory=EfficiencyModel)  # the loader sets the chip's family
    sources: tuple[tuple[str, str], ...] = ()  # dotted field path -> citation (or 'estimate: ...')
    notes: tuple[str, ...] = ()

    def source(self, path: str) -> str | None:
        """Citation recorded for a dotted field path, or None."""
        return next((s for p, s in self.sources if p == path), None)

    def get(self, path: str) -> float:
        """Value of a numeric field by dotted path, e.g. 'memory.hbm.bandwidth_Bps'."""
        return get_path(self, path, lambda: numeric_paths(self))

    def with_value(self, path: str, value: float) -> HardwareSpec:
        """A copy with one numeric field changed; its provenance becomes 'set by with_value'."""
        new = replace_path(self, path, value, lambda: numeric_paths(self))
        note = f"set by with_value to {value:g} (was {self.get(path):g})"
        if path.startswith("efficiency."):
            leaf = path.split(".", 1)[1]
            eff = new.efficiency
            rest = tuple((p, s) for p, s in eff.sources if p != leaf)
            sources = (*rest, (leaf, FieldSource(kind="assumed", detail=note)))
            return _replace(new, efficiency=_replace(eff, sources=sources))
        rest_hw = tuple((p, s) for p, s in self.sources if p != path)
        return _replace(new, sources=(*rest_hw, (path, note)))


def _replace(obj: Any, **changes: Any) -> Any:
    kwargs = {f.name: getattr(obj, f.name) for f in fields(obj)}
    kwargs.update(changes)
    return type(obj)(**kwargs)


_TEXT_FIELDS = frozenset({"id", "name", "vendor", "sources", "notes", "family", "borrows", "block_scaled_formats"})


def numeric_paths(hw: HardwareSpec, *, include_efficiency: bool = True) -> tuple[str, ...]:
    """Every numeric field of `hw` as a dotted path (absent tiers are skipped), in field order."""
    paths = numeric_paths_of(hw, skip=_TEXT_FIELDS)
    return paths if include_efficiency else tuple(p for p in paths if not p.startswith("efficiency."))


@dataclass(frozen=True, kw_only=True, slots=True)
class System:
    """`num_gpus` accelerators: scale-up domains of `links.scaleup.domain_size` joined by scale-out links."""

    hardware: HardwareSpec
    num_gpus: int

    def __post_init__(self) -> None:
        try:
            whole = operator.index(self.num_gpus)  # int or numpy integer, not 2.0 or True-as-a-count
        except TypeError:
            whole = 0
        if isinstance(self.num_gpus, bool) or whole < 1:
            raise CoscaleError(f"a system needs a whole number of GPUs >= 1, got {self.num_gpus!r}")

    @property
    def num_domains(self) -> int:
        return -(-self.num_gpus // self.hardware.links.scaleup.domain_size)

    def link_for(self, group_size: int) -> Link:
        """The link a collective over `group_size` consecutive GPUs runs on: scale-up if it fits a domain."""
        links = self.hardware.links
        return links.scaleup if group_size <= links.scaleup.domain_size else links.scaleout

