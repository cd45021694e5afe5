"""Whisper-style encoder-decoder speech recognition (`WhisperForConditionalGeneration`).

The encoder: two conv1d layers over `num_mel_bins` log-mel channels (stride 2: 3000 frames of a 30 s
window -> `max_source_positions` = 1500 positions), then `encoder_layers` pre-LayerNorm layers of
bidirectional MHA + biased GELU MLP, and a final LayerNorm. The decoder: `decoder_layers` layers of
causal self-attention, cross-attention over the 1500 encoder positions and a GELU MLP (three
LayerNorms), learned positions (`max_target_positions`), an LM head tied to the token embedding.

As a ModelSpec the decoder is the model (it is what the engine steps through, with a KV cache) and
`encoder` holds the encoder stack; each decoder layer is two LayerSpecs (self-attention alone, then
cross-attention + MLP) so every sub-block keeps its own norm. Cross-attention K/V are projected once
per request and kept per sequence (`AttentionSpec.memory_tokens`). Not counted: the conv stem (5.4 M
parameters in large-v3, ~1 % of the encoder's FLOPs over a window) and the K projection's missing
bias (Whisper's k_proj has none; `qkv_bias` counts one: 1,280 parameters per attention block).
"""

from __future__ import annotations

from dataclasses import replace

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model
from coscale.specs.model import AttentionSpec, LayerSpec, MLPSpec, ModelSpec

ARCHITECTURES = ("WhisperForConditionalGeneration",)


def _attention(r: ConfigReader, heads_key: str, hidden: int, **kw: object) -> AttentionSpec:
    heads = r.pos_int(heads_key)
    hd = r.divide(hidden, heads, f"d_model / {heads_key}")
    return AttentionSpec(num_heads=heads, num_kv_heads=heads, head_dim=hd, v_head_dim=hd, qkv_bias=True,
                         out_bias=True, **kw)  # type: ignore[arg-type]


def _mlp(r: ConfigReader, key: str) -> MLPSpec:
    return MLPSpec(intermediate_size=r.pos_int(key), activation="gelu", bias=True)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    hidden = r.pos_int("d_model")
    act = r.string("activation_function", default="gelu")
    if not act.startswith("gelu"):
        raise CoscaleError(f"{r.where}: activation_function={act!r} is not supported (expected a gelu variant)")
    source = r.pos_int("max_source_positions")
    enc_layers = [LayerSpec(mixer=_attention(r, "encoder_attention_heads", hidden, causal=False),
                            ffn=_mlp(r, "encoder_ffn_dim"))] * r.pos_int("encoder_layers")
    encoder = ModelSpec(name=f"{name} encoder", architecture=f"{architecture}.encoder", hidden_size=hidden,
                        vocab_size=0, layers=tuple(enc_layers), tie_word_embeddings=True,
                        max_position_embeddings=source, learned_positions=True, norm="layernorm", source=r.where,
                        notes=(f"conv stem over {r.pos_int('num_mel_bins')} mel bins not costed",))
    self_attn = LayerSpec(mixer=_attention(r, "decoder_attention_heads", hidden), ffn=None)
    cross = LayerSpec(mixer=_attention(r, "decoder_attention_heads", hidden, memory_tokens=source),
                      ffn=_mlp(r, "decoder_ffn_dim"))
    decoder = build_model(r, name=name, architecture=architecture, layers=[self_attn, cross] * r.pos_int(
        "decoder_layers"), tie_default=True, hidden_key="d_model", max_pos=r.pos_int("max_target_positions"),
        learned_positions=True, norm="layernorm",
        notes=(f"encoder-decoder: {len(enc_layers)}-layer audio encoder over {source} positions per 30 s window",))
    return replace(decoder, encoder=encoder)
