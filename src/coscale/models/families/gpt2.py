"""GPT-2-style decoders (`GPT2LMHeadModel`), also used to describe Megatron/GPT-3 validation models.

Pre-LayerNorm (weight + bias), learned absolute positions (`n_positions` rows), MHA with fused
biased QKV, a biased GELU MLP of width `n_inner` (null: 4 * n_embd), and an LM head tied to the
token embedding unless `tie_word_embeddings` is false.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model
from coscale.specs.model import AttentionSpec, LayerSpec, MLPSpec, ModelSpec

ARCHITECTURES = ("GPT2LMHeadModel",)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    hidden = r.pos_int("n_embd")
    heads = r.pos_int("n_head")
    act = r.string("activation_function", default="gelu_new")
    if not act.startswith("gelu"):
        raise CoscaleError(f"{r.where}: activation_function={act!r} is not supported (expected a gelu variant)")
    hd = r.divide(hidden, heads, "n_embd / n_head")
    attn = AttentionSpec(num_heads=heads, num_kv_heads=heads, head_dim=hd, v_head_dim=hd, qkv_bias=True, out_bias=True)
    mlp = MLPSpec(intermediate_size=r.pos_int("n_inner", default=4 * hidden), activation="gelu", bias=True)
    layers = [LayerSpec(mixer=attn, ffn=mlp)] * r.pos_int("n_layer")
    return build_model(
        r,
        name=name,
        architecture=architecture,
        layers=layers,
        tie_default=True,
        hidden_key="n_embd",
        max_pos=r.pos_int("n_positions"),
        learned_positions=True,
        norm="layernorm",
    )
