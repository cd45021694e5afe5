"""Efficiency families: `efficiency/<family>.json` files -> `EfficiencyModel` values with provenance.

A family file lists each numeric field with its value, its kind (published | calibrated |
assumed) and its source (plus the validation case ids for calibrated values). A family without
measurements of its own says `"borrows": "<family>"` and why; it inherits that family's values,
and each inherited constant is recorded as *assumed* ("borrowed from ..."), since a constant
calibrated on one chip is an assumption on another. A chip file names its family and may override
fields (`efficiency_overrides`), each with its own source.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.specs.efficiency import (
    SOURCE_KINDS,
    AttentionFractions,
    EfficiencyModel,
    FieldSource,
    GemmFractions,
    efficiency_paths,
)

_NESTED = {"gemm_peak": GemmFractions, "attention_peak": AttentionFractions}
_INT_FIELDS = frozenset({"gemm_tile", "gemm_min_tile_m", "split_k_min"})


def families_dir() -> Path:
    return Path(str(files("coscale.hardware") / "efficiency"))


def family_ids() -> list[str]:
    return sorted(p.stem for p in families_dir().glob("*.json"))


def _field_source(origin: str, path: str, raw: Mapping[str, Any], *, default_kind: str | None) -> FieldSource:
    kind = raw.get("kind", default_kind)
    if kind not in SOURCE_KINDS:
        raise CoscaleError(f"{origin}: '{path}' needs \"kind\": one of {', '.join(SOURCE_KINDS)}")
    detail = raw.get("source")
    if not isinstance(detail, str) or not detail.strip():
        raise CoscaleError(f"{origin}: '{path}' has no 'source'; cite the measurement or state the assumption")
    cases = raw.get("cases", [])
    if not isinstance(cases, list) or not all(isinstance(c, str) for c in cases):
        raise CoscaleError(f"{origin}: '{path}' has bad 'cases'; give a list of validation case ids")
    if kind == "calibrated" and not cases:
        raise CoscaleError(f"{origin}: '{path}' is calibrated but names no case; add \"cases\": [\"<case id>\"]")
    return FieldSource(kind=kind, detail=detail, cases=tuple(cases))


def _number(origin: str, path: str, raw: Mapping[str, Any]) -> float | int:
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise CoscaleError(f"{origin}: '{path}' has value {value!r}; give a finite number > 0")
    if path in _INT_FIELDS:
        if value != int(value):
            raise CoscaleError(f"{origin}: '{path}' is {value!r}; it must be a whole number")
        return int(value)
    return float(value)


def apply_fields(model: EfficiencyModel, raw: Any, origin: str, *, default_kind: str | None = None) -> EfficiencyModel:
    """`model` with the fields in `raw` ({path: {value, kind, source, cases?}}) set, sources recorded."""
    if not isinstance(raw, Mapping):
        raise CoscaleError(
            f"{origin}: efficiency fields must be an object {{\"<path>\": {{\"value\": ..., \"source\": ...}}}}")
    known = efficiency_paths()
    values: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    sources = dict(model.sources)
    for path, entry in raw.items():
        if path not in known:
            raise CoscaleError(f"{origin}: '{path}' is not an efficiency field; use one of {', '.join(known)}")
        if not isinstance(entry, Mapping):
            raise CoscaleError(f"{origin}: '{path}' must be {{\"value\": ..., \"kind\": ..., \"source\": ...}}")
        number = _number(origin, path, entry)
        sources[path] = _field_source(origin, path, entry, default_kind=default_kind)
        head, _, leaf = path.partition(".")
        if leaf:
            nested.setdefault(head, {})[leaf] = number
        else:
            values[head] = number
    for head, leaves in nested.items():
        values[head] = replace(getattr(model, head), **leaves)
    ordered = tuple((p, sources[p]) for p in known if p in sources)
    return replace(model, **values, sources=ordered)


def _borrowed(base: EfficiencyModel, family: str) -> EfficiencyModel:
    sources = tuple(
        (p, FieldSource(kind="assumed", detail=f"borrowed from {base.family}: {s.kind}: {s.detail}"))
        for p, s in base.sources
    )
    return replace(base, family=family, borrows=base.family, sources=sources, notes=())


def load_family(name: str, _seen: tuple[str, ...] = ()) -> EfficiencyModel:
    """The efficiency model of one family, e.g. 'nvidia-hopper'."""
    ids = family_ids()
    if name not in ids:
        raise CoscaleError(f"unknown efficiency family '{name}'; use one of {', '.join(ids)}")
    if name in _seen:
        raise CoscaleError(f"efficiency family '{name}' borrows from itself via {' -> '.join(_seen)}")
    origin = str(families_dir() / f"{name}.json")
    doc = json.loads(Path(origin).read_text(encoding="utf-8"))
    borrows = doc.get("borrows")
    if borrows:
        if not str(doc.get("borrows_why", "")).strip():
            raise CoscaleError(f"{origin}: 'borrows' needs 'borrows_why': say why this family has no data of its own")
        model = _borrowed(load_family(borrows, (*_seen, name)), name)
        note = f"borrows the {borrows} curves: {doc['borrows_why']}"
        model = replace(model, notes=(note,))
    else:
        model = EfficiencyModel(family=name, borrows="", sources=())
    model = apply_fields(model, doc.get("fields", {}), origin)
    notes = tuple(doc.get("notes", []))
    return replace(model, notes=(*model.notes, *notes))


def numeric_fields_of(model: EfficiencyModel) -> dict[str, float]:
    """path -> value for every numeric field (for comparisons and reports)."""
    out: dict[str, float] = {}
    for f in fields(model):
        value = getattr(model, f.name)
        if f.name in _NESTED:
            out.update({f"{f.name}.{g.name}": getattr(value, g.name) for g in fields(value)})
        elif f.name in efficiency_paths():
            out[f.name] = value
    return out
