"""Turn one catalog document (already-decoded JSON) into a validated `HardwareSpec`.

Every number in a file is a quantity `{"value": ..., "unit": "...", "source": "..."}`; this module
checks each one (present, finite, positive, known unit, non-empty source), converts it to SI and
records its source under the spec field name, so `provenance()` can later explain any figure.
Errors name the file and the field, because a user adding a chip edits exactly that line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from coscale.errors import CoscaleError
from coscale.hardware.units import FRACTION_OF_TDP, to_si
from coscale.specs.hardware import COMPUTE_CLASSES, HardwareSpec

# file key -> (HardwareSpec field, unit kind); all required.
QUANTITY_FIELDS: dict[str, tuple[str, str]] = {
    "memory": ("memory_bytes", "capacity"),
    "memory_bw": ("memory_bw_Bps", "bandwidth"),
    "scaleup_bw": ("scaleup_bw_Bps", "bandwidth"),
    "scaleup_domain": ("scaleup_domain", "count"),
    "scaleout_bw": ("scaleout_bw_Bps", "bandwidth"),
    "host_link": ("host_link_Bps", "bandwidth"),
    "tdp": ("tdp_w", "power"),
}
TEXT_FIELDS = ("id", "name", "vendor")
OTHER_FIELDS = ("peak_flops", "idle_power", "compute_units", "block_scaled_formats", "notes")
ALLOWED_KEYS = frozenset(TEXT_FIELDS + tuple(QUANTITY_FIELDS) + OTHER_FIELDS)

# Block-scaled format -> the element compute class whose tensor-core rate it runs at.
BLOCK_SCALED_ELEMENT: dict[str, str] = {"mxfp8": "fp8", "mxfp6": "fp6", "mxfp4": "fp4", "nvfp4": "fp4"}


class _Doc:
    """Reads fields of one document, prefixing every error with the file it came from."""

    def __init__(self, doc: Mapping[str, Any], origin: str) -> None:
        self.doc = doc
        self.origin = origin
        self.sources: dict[str, str] = {}

    def fail(self, key: str, problem: str) -> CoscaleError:
        return CoscaleError(f"{self.origin}: field '{key}' {problem}")

    def text(self, key: str) -> str:
        value = self.doc.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "is missing or empty; add a non-empty string")
        return value

    def quantity(self, key: str, raw: Any, kind: str, record_as: str) -> float:
        if not isinstance(raw, Mapping):
            raise self.fail(key, 'must be an object {"value": number, "unit": "...", "source": "..."}')
        extra = set(raw) - {"value", "unit", "source"}
        if extra:
            raise self.fail(key, f"has unexpected keys {sorted(extra)}; allowed: value, unit, source")
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"has value {value!r}; give a finite number")
        if value <= 0:
            raise self.fail(key, f"has value {value!r}; it must be > 0 (omit unsupported precisions)")
        unit = raw.get("unit")
        if not isinstance(unit, str):
            raise self.fail(key, "has no 'unit'; add one, e.g. \"TFLOP/s\", \"GiB\", \"TB/s\", \"W\"")
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail(key, "has no 'source'; cite the datasheet, or write 'estimate: <reasoning>'")
        self.sources[record_as] = source
        if kind == "power_or_fraction" and unit == FRACTION_OF_TDP:
            return float(value)  # caller multiplies by TDP
        return to_si(float(value), unit, "power" if kind == "power_or_fraction" else kind,
                     where=f"{self.origin}: field '{key}'")


def _peak_flops(d: _Doc) -> dict[str, float]:
    raw = d.doc.get("peak_flops")
    if not isinstance(raw, Mapping) or not raw:
        raise d.fail("peak_flops", "must be a non-empty object mapping compute class -> quantity")
    peaks: dict[str, float] = {}
    for cls, qty in raw.items():
        if cls not in COMPUTE_CLASSES:
            raise d.fail(f"peak_flops.{cls}", f"is not a compute class; use one of {', '.join(COMPUTE_CLASSES)}")
        peaks[cls] = d.quantity(f"peak_flops.{cls}", qty, "rate", f"peak_flops.{cls}")
    return peaks


def _block_scaled(d: _Doc, peaks: Mapping[str, float]) -> tuple[str, ...]:
    raw = d.doc.get("block_scaled_formats")
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not isinstance(raw.get("value"), list):
        raise d.fail("block_scaled_formats", 'must be {"value": ["mxfp8", ...], "source": "..."}')
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise d.fail("block_scaled_formats", "has no 'source'; cite where the support is documented")
    formats = tuple(raw["value"])
    for fmt in formats:
        if fmt not in BLOCK_SCALED_ELEMENT:
            raise d.fail("block_scaled_formats", f"lists unknown format {fmt!r}; use {sorted(BLOCK_SCALED_ELEMENT)}")
        if BLOCK_SCALED_ELEMENT[fmt] not in peaks:
            raise d.fail("block_scaled_formats",
                         f"lists {fmt} but peak_flops has no {BLOCK_SCALED_ELEMENT[fmt]} rate; add it")
    d.sources["block_scaled_formats"] = source
    return formats


def _notes(d: _Doc) -> tuple[str, ...]:
    raw = d.doc.get("notes", [])
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise d.fail("notes", "must be a list of strings")
    return tuple(raw)


def parse_hardware(doc: Any, origin: str) -> HardwareSpec:
    """Validate a decoded catalog document and build the spec; `origin` (a path) appears in errors."""
    if not isinstance(doc, Mapping):
        raise CoscaleError(f"{origin}: top level must be a JSON object describing one accelerator")
    d = _Doc(doc, origin)
    unknown = set(doc) - ALLOWED_KEYS
    if unknown:
        raise d.fail(min(unknown), f"is not recognised; allowed fields: {', '.join(sorted(ALLOWED_KEYS))}")
    texts = {key: d.text(key) for key in TEXT_FIELDS}
    values: dict[str, float] = {}
    for key, (field, kind) in QUANTITY_FIELDS.items():
        if key not in doc:
            raise d.fail(key, 'is missing; add {"value": ..., "unit": ..., "source": ...}')
        values[field] = d.quantity(key, doc[key], kind, field)
    domain = values["scaleup_domain"]
    if domain != int(domain):
        raise d.fail("scaleup_domain", f"is {domain}; it must be a whole number of devices")
    if "idle_power" not in doc:
        raise d.fail("idle_power", f'is missing; give watts or {{"value": 0.1, "unit": "{FRACTION_OF_TDP}", ...}}')
    idle = d.quantity("idle_power", doc["idle_power"], "power_or_fraction", "idle_w")
    if doc["idle_power"].get("unit") == FRACTION_OF_TDP:
        idle *= values["tdp_w"]
    if idle >= values["tdp_w"]:
        raise d.fail("idle_power", f"({idle:g} W) is not below tdp ({values['tdp_w']:g} W); check the unit")
    units = 0.0
    if "compute_units" in doc:  # optional: SMs/CUs for the cost model's wave-quantisation
        units = d.quantity("compute_units", doc["compute_units"], "count", "compute_units")
        if units != int(units):
            raise d.fail("compute_units", f"is {units}; it must be a whole number of SMs/CUs")
    peaks = _peak_flops(d)
    formats = _block_scaled(d, peaks)
    return HardwareSpec(
        id=texts["id"],
        name=texts["name"],
        vendor=texts["vendor"],
        peak_flops=peaks,
        memory_bytes=values["memory_bytes"],
        memory_bw_Bps=values["memory_bw_Bps"],
        scaleup_bw_Bps=values["scaleup_bw_Bps"],
        scaleup_domain=int(domain),
        scaleout_bw_Bps=values["scaleout_bw_Bps"],
        host_link_Bps=values["host_link_Bps"],
        tdp_w=values["tdp_w"],
        idle_w=idle,
        compute_units=int(units),
        block_scaled_formats=formats,
        sources=d.sources,
        notes=_notes(d),
    )
