"""Where each number of a `HardwareSpec` came from, for `explain`-style output.

Specs carry SI values plus `sources`: (dotted path, citation) pairs recorded by the loader for
every number of the chip file ('memory.hbm.bandwidth_Bps', 'compute.fp8', ...). Efficiency
constants carry their own `FieldSource` (published / calibrated / assumed) and are explained with
the prefix 'efficiency.'. This turns a path into a small record a report can print next to the
number it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.specs.hardware import HardwareSpec, numeric_paths

UNIT_BY_LEAF: dict[str, str] = {
    "capacity_bytes": "B",
    "bandwidth_Bps": "B/s (per direction)",
    "latency_s": "s",
    "domain_size": "devices",
    "compute_units": "SMs/CUs",
    "tdp_w": "W",
    "idle_w": "W",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Provenance:
    """One field of one accelerator: its SI value and the citation (or labelled estimate) behind it."""

    hardware_id: str
    field: str
    value: float | tuple[str, ...]
    unit: str
    source: str

    @property
    def is_estimate(self) -> bool:
        return self.source.lower().startswith(("estimate", "assumed"))


def explainable_fields(spec: HardwareSpec) -> list[str]:
    """All field paths `provenance` accepts for this spec (unsupported classes excluded)."""
    fields = [p for p in numeric_paths(spec, include_efficiency=False)
              if not (p.startswith("compute.") and p != "compute.compute_units" and not spec.get(p))]
    if not spec.compute.compute_units:
        fields.remove("compute.compute_units")
    if spec.source("compute.block_scaled_formats") is not None:
        fields.append("compute.block_scaled_formats")
    return fields + [f"efficiency.{p}" for p, _ in spec.efficiency.sources]


def _unit(path: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    if path.startswith("efficiency."):
        return "s" if leaf.endswith("_s") else "B" if leaf.endswith("_bytes") else "fraction or count"
    return UNIT_BY_LEAF.get(leaf, "FLOP/s")


def provenance(spec: HardwareSpec, field: str) -> Provenance:
    """Source of `field` (e.g. 'memory.hbm.bandwidth_Bps', 'compute.fp8', 'efficiency.gemm_peak.fp8')."""
    known = explainable_fields(spec)
    if field not in known:
        raise CoscaleError(f"'{field}' is not a sourced field of {spec.id}; use one of {', '.join(known)}")
    if field == "compute.block_scaled_formats":
        value: float | tuple[str, ...] = spec.compute.block_scaled_formats
        unit = "formats"
    else:
        value, unit = float(spec.get(field)), _unit(field)
    if field.startswith("efficiency."):
        eff = spec.efficiency.source(field.split(".", 1)[1])
        source = None if eff is None else str(eff)
    else:
        source = spec.source(field)
    if source is None:
        raise CoscaleError(f"{spec.id}: no source recorded for '{field}'; add one to its hardware file")
    return Provenance(hardware_id=spec.id, field=field, value=value, unit=unit, source=source)
