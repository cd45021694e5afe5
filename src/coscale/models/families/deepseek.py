"""DeepSeek-V2/V3: multi-head latent attention (MLA) in every layer, MoE after `first_k_dense_replace`.

The KV cache holds only the `kv_lora_rank` latent plus the shared `qk_rope_head_dim` key per token
and layer, which is why MLA is its own attention kind. V3 routes with a sigmoid score plus a
learned per-expert correction bias (`e_score_correction_bias`, `topk_method = noaux_tc`), counted
here as the router bias. The multi-token-prediction module (`num_nextn_predict_layers`) is a
training aid that inference does not run; it is noted, not modelled.
"""

from __future__ import annotations

from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation
from coscale.specs.model import AttentionSpec, LayerSpec, MLASpec, MLPSpec, ModelSpec, MoESpec

ARCHITECTURES = ("DeepseekV3ForCausalLM", "DeepseekV2ForCausalLM")


def _mla(r: ConfigReader) -> AttentionSpec:
    heads = r.pos_int("num_attention_heads")
    mla = MLASpec(
        q_lora_rank=r.opt_pos_int("q_lora_rank"),
        kv_lora_rank=r.pos_int("kv_lora_rank"),
        qk_nope_head_dim=r.pos_int("qk_nope_head_dim"),
        qk_rope_head_dim=r.pos_int("qk_rope_head_dim"),
        v_head_dim=r.pos_int("v_head_dim"),
    )
    return AttentionSpec(
        num_heads=heads,
        num_kv_heads=heads,
        head_dim=mla.qk_nope_head_dim + mla.qk_rope_head_dim,
        v_head_dim=mla.v_head_dim,
        mla=mla,
        qkv_bias=r.flag("attention_bias", False),
        out_bias=r.flag("attention_bias", False),
    )


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    act = gated_activation(r)
    dense = MLPSpec(intermediate_size=r.pos_int("intermediate_size"), activation=act)
    experts = r.nonneg_int("n_routed_experts", default=0)
    moe = None
    if experts:
        width = r.pos_int("moe_intermediate_size")
        shared = r.nonneg_int("n_shared_experts", default=0)
        moe = MoESpec(
            num_experts=experts,
            top_k=r.pos_int("num_experts_per_tok"),
            expert_intermediate_size=width,
            activation=act,
            num_shared_experts=shared,
            shared_intermediate_size=shared * width,
            router_bias=r.string("topk_method", default="greedy") == "noaux_tc",
        )
    first_dense = r.nonneg_int("first_k_dense_replace", default=0)
    freq = r.pos_int("moe_layer_freq", default=1)
    attn = _mla(r)
    layers = [
        LayerSpec(mixer=attn, ffn=moe if moe and i >= first_dense and i % freq == 0 else dense)
        for i in range(num_layers)
    ]
    notes: tuple[str, ...] = ()
    mtp = r.nonneg_int("num_nextn_predict_layers", default=0)
    if mtp:
        notes = (f"{mtp} multi-token-prediction module(s) not counted: inference does not run them",)
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False, notes=notes)
