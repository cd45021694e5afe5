"""One dictionary that explains a model: layer kinds, parameter counts, KV and SSM state sizes.

The CLI prints it (table or JSON); keeping it a plain function of the ModelSpec means every
figure `coscale describe` shows can be recomputed and tested without the CLI.
"""

from __future__ import annotations

from typing import Any

from coscale.models.cache import kv_cache_bytes_per_sequence, kv_cache_bytes_per_token, ssm_state_bytes_per_sequence
from coscale.models.params import count_params
from coscale.models.registry import list_presets, load_model, preset_info
from coscale.specs.model import AttentionSpec
from coscale.specs.precision import get_kv_format

DEFAULT_KV_PRECISIONS = ("bf16", "fp8", "nvfp4")


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def describe_model(model: str, kv_precisions: list[str] | tuple[str, ...] = DEFAULT_KV_PRECISIONS) -> dict[str, Any]:
    precisions = [get_kv_format(p) for p in (kv_precisions or DEFAULT_KV_PRECISIONS)]
    spec = load_model(model)
    count = count_params(spec)
    layers: dict[str, int] = {}
    for layer in spec.layers:
        layers[layer.kind] = layers.get(layer.kind, 0) + 1
    windows = sorted(
        {
            layer.mixer.sliding_window
            for layer in spec.layers
            if isinstance(layer.mixer, AttentionSpec) and layer.mixer.sliding_window
        }
    )
    ctx = spec.max_position_embeddings
    out: dict[str, Any] = {
        "model": model,
        "name": spec.name,
        "architecture": spec.architecture,
        "source": spec.source,
        "hidden_size": spec.hidden_size,
        "vocab_size": spec.vocab_size,
        "num_layers": spec.num_layers,
        "layers": layers,
        "sliding_windows": windows,
        "max_position_embeddings": ctx,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "params_total": count.total,
        "params_active": count.active,
        "params_active_excl_input_embedding": count.active_excluding_input_embedding,
        "params_embedding": count.embedding,
        "params_lm_head": count.lm_head,
        "params_by_kind": {k.kind: {"layers": k.layers, "total": k.total, "active": k.active} for k in count.by_kind},
        "kv_bytes_per_token": {p.name: _num(kv_cache_bytes_per_token(spec, p.bytes_per_element)) for p in precisions},
        "kv_bytes_per_sequence_at_max_context": (
            {p.name: _num(kv_cache_bytes_per_sequence(spec, ctx, p.bytes_per_element)) for p in precisions}
            if ctx
            else None
        ),
        "ssm_state_bytes_per_sequence": {
            p.name: _num(ssm_state_bytes_per_sequence(spec, p.bytes_per_element)) for p in precisions
        },
        "notes": list(spec.notes),
    }
    if model in list_presets():
        info = preset_info(model)
        out["published"] = {
            "params_total": info.params_total,
            "params_active": info.params_active,
            "active_counts_input_embedding": info.active_counts_input_embedding,
            "hf_repo": info.hf_repo,
            "source": info.source,
        }
    return out
