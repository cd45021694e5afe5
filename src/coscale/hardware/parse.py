"""Turn one catalog document (already-decoded JSON) into a validated, composed `HardwareSpec`.

Every number in a file is a quantity `{"value": ..., "unit": "...", "source": "..."}` nested as the
spec is (compute / memory.{hbm,host,nvme} / links.{scaleup,scaleout,host} / power). This module
checks each one (present, finite, positive, known unit, non-empty source), converts it to SI and
records its source under the spec's dotted path ('memory.hbm.bandwidth_Bps'), so `provenance()`
can later explain any figure. Errors name the file and the field, because a user adding a chip
edits exactly that line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from coscale.errors import CoscaleError
from coscale.hardware.families import apply_fields, load_family
from coscale.hardware.units import FRACTION_OF_TDP, to_si
from coscale.specs.hardware import (
    COMPUTE_CLASSES,
    ComputeSpec,
    HardwareSpec,
    Link,
    LinkSpec,
    MemorySpec,
    MemoryTier,
    PowerSpec,
    ScaleUpLink,
)

TEXT_FIELDS = ("id", "name", "vendor", "efficiency")
SECTIONS = ("compute", "memory", "links", "power")
ALLOWED_KEYS = frozenset((*TEXT_FIELDS, *SECTIONS, "efficiency_overrides", "notes"))

# file key -> (spec field, unit kind) inside a memory tier / link / power block
TIER_KEYS = {"capacity": ("capacity_bytes", "capacity"), "bandwidth": ("bandwidth_Bps", "bandwidth"),
             "latency": ("latency_s", "time")}
LINK_KEYS = {"bandwidth": ("bandwidth_Bps", "bandwidth"), "latency": ("latency_s", "time")}
SCALEUP_KEYS = {**LINK_KEYS, "domain_size": ("domain_size", "count")}
POWER_KEYS = {"tdp": ("tdp_w", "power"), "idle": ("idle_w", "power_or_fraction")}

# Block-scaled format -> the element compute class whose tensor-core rate it runs at.
BLOCK_SCALED_ELEMENT: dict[str, str] = {"mxfp8": "fp8", "mxfp6": "fp6", "mxfp4": "fp4", "nvfp4": "fp4"}

# Physical plausibility per quantity kind, in SI (assumption: wide envelopes around every shipped
# device, from a 1 GFLOP/s microcontroller-class part to a wafer-scale engine's 21 PB/s SRAM and
# 23 kW). A value outside is almost always a unit slip (MB for TB, W for kW) and is refused.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "rate": (1e9, 1e18, "FLOP/s"),
    "capacity": (1e6, 1e15, "bytes"),
    "bandwidth": (1e8, 1e17, "bytes/s"),
    "time": (1e-12, 1e3, "s"),
    "power": (0.1, 1e5, "W"),
    "count": (1.0, 1e7, ""),
}

QUANTITY_HINT = '{"value": <number>, "unit": "<unit>", "source": "<citation or estimate: ...>"}'


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

    def block(self, parent: Mapping[str, Any], key: str, where: str, allowed: set[str] | frozenset[str],
              *, required: bool = True) -> Mapping[str, Any] | None:
        raw = parent.get(key)
        if raw is None:
            if required:
                fields = ", ".join(sorted(allowed))
                raise self.fail(where, f"is missing; add an object with {fields} (see hardware/README.md)")
            return None
        if not isinstance(raw, Mapping):
            raise self.fail(where, f"must be an object with {', '.join(sorted(allowed))}")
        unknown = set(raw) - set(allowed)
        if unknown:
            raise self.fail(f"{where}.{min(unknown)}", f"is not recognised; allowed: {', '.join(sorted(allowed))}")
        return raw

    def quantity(self, key: str, raw: Any, kind: str, record_as: str) -> float:
        if raw is None:
            raise self.fail(key, f"is missing; add {QUANTITY_HINT}")
        if not isinstance(raw, Mapping):
            raise self.fail(key, f"must be an object {QUANTITY_HINT}")
        extra = set(raw) - {"value", "unit", "source"}
        if extra:
            raise self.fail(key, f"has unexpected keys {sorted(extra)}; allowed: value, unit, source")
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"has value {value!r}; give a finite number")
        if value <= 0:
            peak = key.startswith("compute.") and key != "compute.compute_units"
            hint = " (omit unsupported precisions)" if peak else ""
            raise self.fail(key, f"has value {value!r}; it must be > 0{hint}")
        unit = raw.get("unit")
        if not isinstance(unit, str):
            raise self.fail(key, "has no 'unit'; add one, e.g. \"TFLOP/s\", \"GiB\", \"TB/s\", \"us\", \"W\"")
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail(key, "has no 'source'; cite the datasheet, or write 'estimate: <reasoning>'")
        self.sources[record_as] = source
        if kind == "power_or_fraction" and unit == FRACTION_OF_TDP:
            return float(value)  # caller multiplies by TDP
        si_kind = "power" if kind == "power_or_fraction" else kind
        si = to_si(float(value), unit, si_kind, where=f"{self.origin}: field '{key}'")
        low, high, si_unit = PLAUSIBLE[si_kind]
        if not low <= si <= high:
            raise self.fail(key, f"is {value:g} {unit} = {si:g} {si_unit}, outside the plausible {low:g}-{high:g} "
                                 f"{si_unit} for any accelerator; check the value and its unit")
        return si

    def whole(self, key: str, value: float) -> int:
        if value != int(value):
            raise self.fail(key, f"is {value:g}; it must be a whole number")
        return int(value)

    def values(self, raw: Mapping[str, Any], where: str, spec_prefix: str,
               keys: Mapping[str, tuple[str, str]]) -> dict[str, float]:
        return {name: self.quantity(f"{where}.{key}", raw.get(key), kind, f"{spec_prefix}.{name}")
                for key, (name, kind) in keys.items()}


def _compute(d: _Doc) -> ComputeSpec:
    allowed = frozenset((*COMPUTE_CLASSES, "compute_units", "block_scaled_formats"))
    raw = d.block(d.doc, "compute", "compute", allowed)
    assert raw is not None
    peaks = {cls: d.quantity(f"compute.{cls}", raw[cls], "rate", f"compute.{cls}")
             for cls in COMPUTE_CLASSES if cls in raw}
    if not peaks:
        raise d.fail("compute", f"has no peak rate; add at least one of {', '.join(COMPUTE_CLASSES)}")
    units = 0
    if "compute_units" in raw:  # optional: SMs/CUs for the cost model's wave quantisation
        units = d.whole("compute.compute_units",
                        d.quantity("compute.compute_units", raw["compute_units"], "count", "compute.compute_units"))
    formats = _block_scaled(d, raw.get("block_scaled_formats"), peaks)
    return ComputeSpec(**peaks, compute_units=units, block_scaled_formats=formats)


def _block_scaled(d: _Doc, raw: Any, peaks: Mapping[str, float]) -> tuple[str, ...]:
    key = "compute.block_scaled_formats"
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not isinstance(raw.get("value"), list):
        raise d.fail(key, 'must be {"value": ["mxfp8", ...], "source": "..."}')
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise d.fail(key, "has no 'source'; cite where the support is documented")
    formats = tuple(raw["value"])
    for fmt in formats:
        if fmt not in BLOCK_SCALED_ELEMENT:
            raise d.fail(key, f"lists unknown format {fmt!r}; use {sorted(BLOCK_SCALED_ELEMENT)}")
        if BLOCK_SCALED_ELEMENT[fmt] not in peaks:
            raise d.fail(key, f"lists {fmt} but compute has no {BLOCK_SCALED_ELEMENT[fmt]} rate; add it")
    d.sources[key] = source
    return formats


def _tier(d: _Doc, raw: Mapping[str, Any], name: str) -> MemoryTier | None:
    block = d.block(raw, name, f"memory.{name}", frozenset(TIER_KEYS), required=name == "hbm")
    if block is None:
        return None
    return MemoryTier(**d.values(block, f"memory.{name}", f"memory.{name}", TIER_KEYS))


def _links(d: _Doc) -> LinkSpec:
    raw = d.block(d.doc, "links", "links", frozenset({"scaleup", "scaleout", "host"}))
    assert raw is not None
    up = d.block(raw, "scaleup", "links.scaleup", frozenset(SCALEUP_KEYS))
    assert up is not None
    up_values = d.values(up, "links.scaleup", "links.scaleup", SCALEUP_KEYS)
    up_values["domain_size"] = d.whole("links.scaleup.domain_size", up_values["domain_size"])
    others = {}
    for name in ("scaleout", "host"):
        block = d.block(raw, name, f"links.{name}", frozenset(LINK_KEYS))
        assert block is not None
        others[name] = Link(**d.values(block, f"links.{name}", f"links.{name}", LINK_KEYS))
    return LinkSpec(scaleup=ScaleUpLink(**up_values), scaleout=others["scaleout"], host=others["host"])


def _memory(d: _Doc, links: LinkSpec) -> MemorySpec:
    raw = d.block(d.doc, "memory", "memory", frozenset({"hbm", "host", "nvme"}))
    assert raw is not None
    hbm = _tier(d, raw, "hbm")
    assert hbm is not None
    host = _tier(d, raw, "host")
    if host is not None and links.host.bandwidth_Bps < host.bandwidth_Bps:
        # the device reaches host DRAM no faster than its host link carries
        dram = d.sources["memory.host.bandwidth_Bps"]
        d.sources["memory.host.bandwidth_Bps"] = (
            f"limited by links.host ({links.host.bandwidth_Bps / 1e9:g} GB/s per direction: "
            f"{d.sources['links.host.bandwidth_Bps']}); DRAM side {host.bandwidth_Bps / 1e9:g} GB/s: {dram}")
        host = MemoryTier(capacity_bytes=host.capacity_bytes, bandwidth_Bps=links.host.bandwidth_Bps,
                          latency_s=host.latency_s)
    return MemorySpec(hbm=hbm, host=host, nvme=_tier(d, raw, "nvme"))


def _power(d: _Doc) -> PowerSpec:
    raw = d.block(d.doc, "power", "power", frozenset(POWER_KEYS))
    assert raw is not None
    tdp = d.quantity("power.tdp", raw.get("tdp"), "power", "power.tdp_w")
    if raw.get("idle") is None:
        raise d.fail("power.idle", f'is missing; give watts or {{"value": 0.1, "unit": "{FRACTION_OF_TDP}", ...}}')
    idle = d.quantity("power.idle", raw["idle"], "power_or_fraction", "power.idle_w")
    if raw["idle"].get("unit") == FRACTION_OF_TDP:
        idle *= tdp
    if idle >= tdp:
        raise d.fail("power.idle", f"({idle:g} W) is not below power.tdp ({tdp:g} W); check the unit")
    return PowerSpec(tdp_w=tdp, idle_w=idle)


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
    try:
        efficiency = load_family(texts["efficiency"])
    except CoscaleError as exc:
        raise d.fail("efficiency", f"names no known family ({exc})") from None
    if "efficiency_overrides" in doc:
        efficiency = apply_fields(efficiency, doc["efficiency_overrides"], f"{origin}: efficiency_overrides")
    compute = _compute(d)
    links = _links(d)
    memory = _memory(d, links)
    power = _power(d)
    return HardwareSpec(
        id=texts["id"], name=texts["name"], vendor=texts["vendor"],
        compute=compute, memory=memory, links=links, power=power, efficiency=efficiency,
        sources=tuple(sorted(d.sources.items())), notes=_notes(d),
    )
