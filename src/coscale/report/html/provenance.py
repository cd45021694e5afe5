"""The provenance appendix: every hardware number and efficiency constant of the chips a report used,
plus the serving-memory modelling constants, each with its source and kind (published, calibrated,
assumed)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from coscale.cost import inference_memory
from coscale.hardware.provenance import explainable_fields, provenance
from coscale.specs.hardware import HardwareSpec

# Module constants the report's memory and capacity numbers use; their sources are the comments
# that sit beside them in the module (read, not retyped).
MODULE_CONSTANTS = (inference_memory, ("RUNTIME_FIXED_BYTES", "RUNTIME_FRACTION", "RUNTIME_MAX_FRACTION",
                                       "PREFILL_CHUNK_TOKENS"))


def _kind(source: str) -> str:
    head = source.split(":", 1)[0].strip().lower()
    if head in ("published", "calibrated", "assumed"):
        return head
    return "assumed" if source.lower().startswith(("estimate", "assumed", "assumption")) else "published"


def hardware_rows(spec: HardwareSpec) -> list[dict[str, Any]]:
    rows = []
    for field in explainable_fields(spec):
        p = provenance(spec, field)
        value = p.value if isinstance(p.value, float) else ", ".join(p.value)
        rows.append({"hardware": spec.id, "field": field, "value": value, "unit": p.unit, "source": p.source,
                     "kind": _kind(p.source)})
    return rows


def constant_rows() -> list[dict[str, Any]]:
    module, names = MODULE_CONSTANTS
    source = inspect.getsource(module)
    rows = []
    for name in names:
        m = re.search(rf"^{name}\s*=\s*[^#\n]*#\s*(.+)$", source, re.M)
        note = m.group(1).strip() if m else "no comment beside the constant"
        rows.append({"hardware": "(model)", "field": f"{module.__name__}.{name}", "value": float(getattr(module, name)),
                     "unit": "B" if name.endswith("_BYTES") else "tokens" if name.endswith("_TOKENS") else "fraction",
                     "source": note, "kind": "assumed"})  # project defaults, informed by the tools the comment names
    return rows


def provenance_rows(chips: list[HardwareSpec]) -> list[dict[str, Any]]:
    return [r for spec in chips for r in hardware_rows(spec)] + constant_rows()
