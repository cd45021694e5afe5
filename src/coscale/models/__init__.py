"""Model specs from HuggingFace config.json files: presets, parsers, parameter and cache sizes."""

from coscale.models.cache import kv_cache_bytes_per_sequence, kv_cache_bytes_per_token, ssm_state_bytes_per_sequence
from coscale.models.params import ParamCount, count_params
from coscale.models.registry import list_presets, load_model, preset_info

__all__ = [
    "ParamCount",
    "count_params",
    "kv_cache_bytes_per_sequence",
    "kv_cache_bytes_per_token",
    "list_presets",
    "load_model",
    "preset_info",
    "ssm_state_bytes_per_sequence",
]
