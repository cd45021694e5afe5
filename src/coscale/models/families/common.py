"""Pieces shared by the family parsers: GQA attention, activations, per-layer windows, the ModelSpec.

Keeping these in one place means a key such as `head_dim` (explicit in Qwen3, implied by
hidden_size / num_attention_heads in Llama 2) is interpreted the same way in every family.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.specs.model import AttentionSpec, LayerSpec, MlpActivation, ModelSpec

GATED_ACTS = ("silu", "swish")


def gated_activation(r: ConfigReader, key: str = "hidden_act") -> MlpActivation:
    """The gate/up/down families only ship SiLU gates; anything else would be mis-costed, so refuse it."""
    act = r.string(key, default="silu")
    if act not in GATED_ACTS:
        raise CoscaleError(f"{r.where}: {key}={act!r} is not supported for this family (expected silu)")
    return "swiglu"


def head_dim(r: ConfigReader, hidden: int, heads: int) -> int:
    """Explicit `head_dim` when present (Qwen3, gpt-oss), else hidden_size / num_attention_heads."""
    if r.has("head_dim") or r.has("attention_head_dim"):
        return r.pos_int("head_dim", "attention_head_dim")
    return r.divide(hidden, heads, "hidden_size / num_attention_heads")


def gqa_attention(
    r: ConfigReader,
    *,
    sliding_window: int | None = None,
    qkv_bias: bool = False,
    out_bias: bool = False,
    qk_norm: bool = False,
    sinks: bool = False,
) -> AttentionSpec:
    hidden = r.pos_int("hidden_size")
    heads = r.pos_int("num_attention_heads")
    kv_heads = r.pos_int("num_key_value_heads", default=heads)
    if heads % kv_heads:
        raise CoscaleError(
            f"{r.where}: num_attention_heads={heads} is not a multiple of num_key_value_heads={kv_heads}; "
            f"each KV head serves a whole group of query heads, so use a divisor of {heads}"
        )
    hd = head_dim(r, hidden, heads)
    return AttentionSpec(
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=hd,
        v_head_dim=hd,
        sliding_window=sliding_window,
        qkv_bias=qkv_bias,
        out_bias=out_bias,
        qk_norm=qk_norm,
        sinks=sinks,
    )


def layer_windows(r: ConfigReader, num_layers: int, window: int | None) -> list[int | None]:
    """Per-layer attention window: `layer_types` when the config lists them, else `window` everywhere."""
    if not r.has("layer_types"):
        return [window] * num_layers
    types = r.str_list("layer_types")
    if len(types) != num_layers:
        raise CoscaleError(
            f"{r.where}: layer_types has {len(types)} entries but num_hidden_layers={num_layers}; make them agree"
        )
    out: list[int | None] = []
    for i, kind in enumerate(types):
        if kind == "full_attention":
            out.append(None)
        elif kind == "sliding_attention":
            if window is None:
                raise CoscaleError(f"{r.where}: layer {i} is sliding_attention but 'sliding_window' is not set")
            out.append(window)
        else:
            raise CoscaleError(
                f"{r.where}: layer_types[{i}]={kind!r} is unknown (expected full_attention or sliding_attention)"
            )
    return out


def build_model(
    r: ConfigReader,
    *,
    name: str,
    architecture: str,
    layers: list[LayerSpec],
    tie_default: bool,
    hidden_key: str = "hidden_size",
    vocab_size: int | None = None,
    max_pos: int | None = None,
    learned_positions: bool = False,
    norm: str = "rmsnorm",
    notes: tuple[str, ...] = (),
) -> ModelSpec:
    """Wrap parsed layers with the model-level sizes every family shares."""
    if not layers:
        raise CoscaleError(f"{r.where}: the model has no layers; check num_hidden_layers")
    if max_pos is None:
        max_pos = r.opt_pos_int("max_position_embeddings")
    return ModelSpec(
        name=name,
        architecture=architecture,
        hidden_size=r.pos_int(hidden_key),
        vocab_size=vocab_size if vocab_size is not None else r.pos_int("vocab_size"),
        layers=tuple(layers),
        tie_word_embeddings=r.flag("tie_word_embeddings", tie_default),
        max_position_embeddings=max_pos,
        learned_positions=learned_positions,
        norm="layernorm" if norm == "layernorm" else "rmsnorm",
        source=r.where,
        notes=notes,
    )
