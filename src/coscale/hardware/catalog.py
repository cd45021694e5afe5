"""The built-in accelerator catalog: one JSON file per chip in `catalog/`, addressed by id or path.

Presets are data, not code: adding a chip means writing one file (copy the example in this
folder's README.md) and passing its path wherever an id is accepted. Lookups read the files each
time rather than caching them in module state; the whole catalog loads in milliseconds.
"""

from __future__ import annotations

import difflib
from importlib.resources import files
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.hardware.parse import parse_hardware
from coscale.jsonfile import read_json_file
from coscale.specs.hardware import HardwareSpec


def catalog_dir() -> Path:
    """Folder holding the built-in `<id>.json` files (inside the installed package)."""
    return Path(str(files("coscale.hardware") / "catalog"))


def catalog_ids() -> list[str]:
    """Ids of all built-in accelerators, sorted."""
    return sorted(p.stem for p in catalog_dir().glob("*.json"))


def load_hardware_file(path: str | Path) -> HardwareSpec:
    """Load one accelerator from a JSON file; every problem becomes a one-line CoscaleError."""
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"hardware file '{p}' does not exist; pass a catalog id or a path to a .json file")
    doc = read_json_file(p, fix="fix the hardware file (see hardware/README.md)")
    return parse_hardware(doc, str(p))


def _looks_like_path(id_or_path: str) -> bool:
    return id_or_path.endswith(".json") or "/" in id_or_path or "\\" in id_or_path


def _normalise(wanted: str) -> str:
    return wanted.strip().lower().replace("_", "-").replace(" ", "-")


def suggest_ids(wanted: str, ids: list[str]) -> list[str]:
    """Close catalog ids for a mistyped one: fuzzy matches first, then ids containing the text."""
    key = _normalise(wanted)
    close = difflib.get_close_matches(key, ids, n=4, cutoff=0.6)
    tokens = [t for t in key.split("-") if len(t) >= 3] or [key]
    contained = [i for i in ids if any(t and t in i for t in tokens) and i not in close]
    return (close + contained)[:5]


def load_hardware(id_or_path: str) -> HardwareSpec:
    """Load a built-in accelerator by id (e.g. 'h100-sxm') or a user's file by path."""
    if _looks_like_path(id_or_path) or Path(id_or_path).is_file():
        return load_hardware_file(id_or_path)
    ids = catalog_ids()
    if _normalise(id_or_path) in ids:  # 'H100_SXM' is unambiguous, so accept it
        return load_hardware_file(catalog_dir() / f"{_normalise(id_or_path)}.json")
    hints = suggest_ids(id_or_path, ids)
    hint = f"did you mean {', '.join(hints)}?" if hints else "run `coscale list hardware` to see the ids"
    raise CoscaleError(f"unknown hardware '{id_or_path}'; {hint} (or pass a path to a .json file)")


def list_hardware() -> list[HardwareSpec]:
    """Every built-in accelerator, in id order."""
    return [load_hardware_file(catalog_dir() / f"{i}.json") for i in catalog_ids()]
