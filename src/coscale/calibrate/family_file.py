"""Read an efficiency-family file written by `coscale calibrate` (or by hand): `--efficiency FILE`.

Fields the file names replace those of the family it borrows from, with the file's provenance; every
other field is inherited and recorded as assumed ("borrowed from ..."). Torch-free."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.hardware.families import apply_fields, family_ids, load_family
from coscale.jsonfile import read_json_file
from coscale.specs.efficiency import EfficiencyModel, FieldSource


def load_efficiency_file(path: str | Path) -> EfficiencyModel:
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"--efficiency file '{p}' does not exist; pass a file written by `coscale calibrate`")
    doc = read_json_file(p, fix="rerun `coscale calibrate`")
    if not isinstance(doc, dict) or not isinstance(doc.get("family"), str):
        raise CoscaleError(f"{p}: needs a \"family\" name and \"fields\"; rerun `coscale calibrate`")
    borrows = doc.get("borrows", "nvidia-hopper")
    if borrows not in family_ids():
        raise CoscaleError(f"{p}: 'borrows' is '{borrows}'; use one of {', '.join(family_ids())}")
    base = load_family(borrows)
    inherited = tuple((k, FieldSource(kind="assumed", detail=f"borrowed from {base.family}: {s.kind}: {s.detail}"))
                      for k, s in base.sources)
    model = replace(base, family=doc["family"], borrows=borrows, sources=inherited,
                    notes=(f"read from {p}", *doc.get("notes", [])))
    return apply_fields(model, doc.get("fields", {}), str(p))
