"""Reading a HuggingFace config.json as raw JSON, with errors that name the key and the file.

Every family parser reads sizes through `ConfigReader`, so a missing key, a wrong type or a
non-positive size always becomes one CoscaleError naming the file, the key and the fix, instead
of a KeyError traceback deep inside a parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.jsonfile import read_json_file

MAX_SIZE = 2**31 - 1  # any width, count or length: a 32-bit index, as in every framework's tensors
MAX_LAYERS = 100_000  # assumption: 500x the deepest published LLM (~200 layers); bounds per-layer loops
LAYER_KEYS = frozenset({"num_hidden_layers", "n_layer", "num_layers", "n_layers"})


def _bound(where: str, key: str, value: int) -> int:
    limit = MAX_LAYERS if key in LAYER_KEYS else MAX_SIZE
    if value > limit:
        shown = f"{value:.3g}" if value < 10**300 else f"a {len(str(value))}-digit number"
        raise CoscaleError(f"{where}: {key!r} is {shown}, more than the {limit:,} allowed; fix the config.json")
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse `path` (a config.json, or a directory holding one) into a dict."""
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise CoscaleError(f"no config.json at {file}; pass a preset id, a config.json or its directory")
    data = read_json_file(file, fix="fix the file or re-download it")
    if not isinstance(data, dict):
        raise CoscaleError(f"{file} holds a JSON {type(data).__name__}, not an object; expected a config.json")
    return data


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigReader:
    """Typed, validated access to one config dict; `where` names the file in every error."""

    data: dict[str, Any]
    where: str

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _missing(self, keys: tuple[str, ...]) -> CoscaleError:
        names = " or ".join(repr(k) for k in keys)
        return CoscaleError(f"{self.where}: required key {names} is missing; add it to the config.json")

    def raw(self, *keys: str) -> Any:
        """The first of `keys` that is present and not null (aliases of one field)."""
        for key in keys:
            if self.data.get(key) is not None:
                return self.data[key]
        raise self._missing(keys)

    def pos_int(self, *keys: str, default: int | None = None) -> int:
        """A strictly positive integer size (layers, widths, heads)."""
        if default is not None and not any(self.has(k) for k in keys):
            return default
        value = self.raw(*keys)
        key = next(k for k in keys if self.has(k))
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise CoscaleError(f"{self.where}: {key!r} must be an integer, got {value!r}; fix the config.json")
        if value <= 0:
            raise CoscaleError(f"{self.where}: {key!r} must be positive, got {value}; fix the config.json")
        return _bound(self.where, key, value)

    def nonneg_int(self, *keys: str, default: int | None = None) -> int:
        """An integer that may be zero (counts such as shared experts, dense-first layers)."""
        if default is not None and not any(self.has(k) for k in keys):
            return default
        value = self.raw(*keys)
        key = next(k for k in keys if self.has(k))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CoscaleError(f"{self.where}: {key!r} must be a non-negative integer, got {value!r}")
        return _bound(self.where, key, value)

    def opt_pos_int(self, *keys: str) -> int | None:
        """A positive integer, or None when absent/null."""
        return self.pos_int(*keys) if any(self.has(k) for k in keys) else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise CoscaleError(f"{self.where}: {key!r} must be true or false, got {value!r}")
        return value

    def string(self, *keys: str, default: str | None = None) -> str:
        if default is not None and not any(self.has(k) for k in keys):
            return default
        value = self.raw(*keys)
        if not isinstance(value, str) or not value:
            raise CoscaleError(f"{self.where}: {keys[0]!r} must be a non-empty string, got {value!r}")
        return value

    def int_list(self, key: str) -> list[int]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, int) and v >= 0 for v in value):
            raise CoscaleError(f"{self.where}: {key!r} must be a list of layer indices, got {value!r}")
        return value

    def str_list(self, key: str) -> list[str]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CoscaleError(f"{self.where}: {key!r} must be a list of strings, got {value!r}")
        return value

    def sub(self, key: str) -> ConfigReader:
        """A nested object (e.g. mamba_ssm's `ssm_cfg`); absent means empty."""
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise CoscaleError(f"{self.where}: {key!r} must be a JSON object, got {value!r}")
        return ConfigReader(data=value, where=f"{self.where} [{key}]")

    def divide(self, numerator: int, denominator: int, what: str) -> int:
        """Exact integer division of two sizes; a remainder means an inconsistent config."""
        if numerator % denominator:
            raise CoscaleError(
                f"{self.where}: {what} ({numerator}/{denominator}) is not a whole number; fix the config"
            )
        return numerator // denominator
