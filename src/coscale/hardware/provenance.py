"""Where each number of a `HardwareSpec` came from, for `explain`-style output.

Specs carry SI values plus a `sources` map keyed by field name (`peak_flops.<class>` for rates).
This turns a field name into a small record a report can print next to the number it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.specs.hardware import HardwareSpec

SI_UNITS: dict[str, str] = {
    "memory_bytes": "B",
    "memory_bw_Bps": "B/s",
    "scaleup_bw_Bps": "B/s (per direction)",
    "scaleup_domain": "devices",
    "scaleout_bw_Bps": "B/s (per direction)",
    "host_link_Bps": "B/s (per direction)",
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
        return self.source.lower().startswith("estimate")


def explainable_fields(spec: HardwareSpec) -> list[str]:
    """All field names `provenance` accepts for this spec."""
    fields = list(SI_UNITS) + [f"peak_flops.{c}" for c in spec.peak_flops]
    if spec.compute_units:
        fields.append("compute_units")
    if spec.block_scaled_formats:
        fields.append("block_scaled_formats")
    return fields


def provenance(spec: HardwareSpec, field: str) -> Provenance:
    """Source of `field` (e.g. 'memory_bw_Bps', 'peak_flops.fp8') of `spec`."""
    if field not in explainable_fields(spec):
        raise CoscaleError(
            f"'{field}' is not a sourced field of {spec.id}; use one of {', '.join(explainable_fields(spec))}"
        )
    if field.startswith("peak_flops."):
        value: float | tuple[str, ...] = spec.peak_flops[field.split(".", 1)[1]]
        unit = "FLOP/s"
    elif field == "block_scaled_formats":
        value, unit = spec.block_scaled_formats, "formats"
    elif field == "compute_units":
        value, unit = float(spec.compute_units), "SMs/CUs"
    else:
        value, unit = float(getattr(spec, field)), SI_UNITS[field]
    source = spec.sources.get(field)
    if source is None:
        raise CoscaleError(f"{spec.id}: no source recorded for '{field}'; add one to its hardware file")
    return Provenance(hardware_id=spec.id, field=field, value=value, unit=unit, source=source)
