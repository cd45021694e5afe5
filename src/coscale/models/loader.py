"""Turn a raw config.json dict into a ModelSpec by dispatching on `architectures[0]`.

Only architectures whose layer shapes we understand are accepted; anything else is refused with
the supported list, because silently treating an unknown family as Llama mis-counts it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader, read_config_file
from coscale.models.families import deepseek, encoder, gpt2, gpt_oss, jamba, llama, mamba, moe, nemotron_h, whisper
from coscale.specs.model import ModelSpec

Parser = Callable[[ConfigReader, str, str], ModelSpec]
FAMILIES = (llama, moe, deepseek, gpt_oss, nemotron_h, mamba, jamba, gpt2, encoder, whisper)


def parsers() -> dict[str, Parser]:
    """Architecture name -> parser, built from each family module's ARCHITECTURES."""
    return {arch: fam.parse for fam in FAMILIES for arch in fam.ARCHITECTURES}


def supported_architectures() -> list[str]:
    return sorted(parsers())


def architecture_of(data: dict[str, Any], where: str) -> str:
    """`architectures[0]`, or `MambaLMHeadModel` for a mamba_ssm config (which has no such key)."""
    if mamba.looks_like_mamba_ssm(data):
        return mamba.MAMBA_SSM
    archs = data.get("architectures")
    if archs is None:
        raise CoscaleError(f"{where}: required key 'architectures' is missing; add e.g. [\"LlamaForCausalLM\"]")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise CoscaleError(f"{where}: 'architectures' must be a non-empty list of strings, got {archs!r}")
    return archs[0]


def parse_config(data: dict[str, Any], *, name: str, where: str) -> ModelSpec:
    """Parse an already-loaded config dict; `where` names its origin in errors and in `source`."""
    arch = architecture_of(data, where)
    parser = parsers().get(arch)
    if parser is None:
        raise CoscaleError(
            f"{where}: architecture {arch!r} is not supported; supported: {', '.join(supported_architectures())}"
        )
    return parser(ConfigReader(data=data, where=where), name, arch)


def load_config_path(path: Path) -> ModelSpec:
    """A ModelSpec from a config.json file or a directory holding one."""
    data = read_config_file(path)
    file = path / "config.json" if path.is_dir() else path
    default_name = path.name if path.is_dir() else (file.parent.name or file.stem)
    name = data.get("_name_or_path") or default_name
    return parse_config(data, name=str(name), where=str(file))
