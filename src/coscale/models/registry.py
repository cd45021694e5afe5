"""The preset registry: ids -> shipped config.json snapshots + published counts, and `load_model`.

Presets are data (presets/<id>.json is a HF config.json, presets/index.json holds the display
name, repository and published parameter counts), so adding a model is adding two entries, and
any user config is loaded by exactly the same parser as a preset.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.models.loader import load_config_path, parse_config
from coscale.specs.model import ModelSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class PresetInfo:
    """What index.json says about one preset: provenance and the published parameter counts."""

    id: str
    name: str
    hf_repo: str | None
    params_total: float
    params_active: float
    active_counts_input_embedding: bool  # False where the vendor excludes it (gpt-oss)
    source: str
    notes: str = ""


def _presets_dir() -> resources.abc.Traversable:
    return resources.files("coscale.models") / "presets"


def preset_index() -> dict[str, PresetInfo]:
    raw = json.loads((_presets_dir() / "index.json").read_text(encoding="utf-8"))["models"]
    return {
        pid: PresetInfo(
            id=pid,
            name=v["name"],
            hf_repo=v["hf_repo"],
            params_total=float(v["params_total"]),
            params_active=float(v["params_active"]),
            active_counts_input_embedding=bool(v["active_counts_input_embedding"]),
            source=v["source"],
            notes=v.get("notes", ""),
        )
        for pid, v in raw.items()
    }


def list_presets() -> list[str]:
    return sorted(preset_index())


def preset_info(preset_id: str) -> PresetInfo:
    index = preset_index()
    if preset_id not in index:
        raise _unknown(preset_id, list(index))
    return index[preset_id]


def _unknown(name: str, ids: list[str]) -> CoscaleError:
    close = difflib.get_close_matches(name.lower(), ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "run `coscale list models` to list presets"
    return CoscaleError(f"unknown model {name!r} (not a preset id or an existing path); {hint}")


def load_preset(preset_id: str) -> ModelSpec:
    info = preset_info(preset_id)
    text = (_presets_dir() / f"{preset_id}.json").read_text(encoding="utf-8")
    spec = parse_config(json.loads(text), name=info.name, where=f"preset {preset_id}")
    return replace(spec, source=f"preset {preset_id}")


def load_model(id_or_path: str) -> ModelSpec:
    """A ModelSpec from a preset id, a config.json path or a directory holding config.json
    (`lab:<preset>` models are resolved a layer above, by `coscale.resolve.resolve_model`)."""
    if not id_or_path or not id_or_path.strip():
        raise CoscaleError("empty model name; pass a preset id (see `coscale list models`) or a config.json path")
    if id_or_path in preset_index():
        return load_preset(id_or_path)
    path = Path(id_or_path).expanduser()
    if path.exists():
        return load_config_path(path)
    raise _unknown(id_or_path, list_presets())
