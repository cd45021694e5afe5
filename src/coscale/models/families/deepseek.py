"""DeepSeek-V2/V3: multi-head latent attention (MLA) in every layer, MoE after `first_k_dense_replace`.

The KV cache holds only the `kv_lora_rank` latent plus the shared `qk_rope_head_dim` key per token
and layer, which is why MLA is its own attention kind. V3 routes with a sigmoid score plus a
learned per-expert correction bias (`e_score_correction_bias`, `topk_method = noaux_tc`), counted
here as the router bias. Both route group-limited (`topk_method` `group_limited_greedy` / `noaux_tc`): the
experts form `n_group` groups and a token's experts come from its best `topk_group` groups (V3: 4 of
8), which decides how many nodes a token's dispatch reaches. The multi-token-prediction module
(`num_nextn_predict_layers`) is a training aid that inference does not run; it is noted, not modelled.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation
from coscale.specs.model import AttentionSpec, LayerSpec, MLASpec, MLPSpec, ModelSpec, MoESpec

ARCHITECTURES = ("DeepseekV3ForCausalLM", "DeepseekV2ForCausalLM")
GROUP_LIMITED = ("group_limited_greedy", "noaux_tc")


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


def _routing_groups(r: ConfigReader, experts: int, top_k: int) -> tuple[int, int]:
    """(n_group, topk_group) of a group-limited router; (1, 1) for the plain top-k (`greedy`) one."""
    if r.string("topk_method", default="greedy") not in GROUP_LIMITED:
        return 1, 1
    groups = r.pos_int("n_group", default=1)
    per_token = r.pos_int("topk_group", default=groups)
    if experts % groups:
        raise CoscaleError(f"{r.where}: n_group={groups} does not divide the {experts} routed experts; fix the "
                           f"config.json")
    if per_token > groups or per_token > top_k:
        raise CoscaleError(f"{r.where}: topk_group={per_token} exceeds n_group={groups} or num_experts_per_tok="
                           f"{top_k}; a token picks at most n_group groups and at least one expert in each")
    return (1, 1) if per_token == groups else (groups, per_token)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    act = gated_activation(r)
    dense = MLPSpec(intermediate_size=r.pos_int("intermediate_size"), activation=act)
    experts = r.nonneg_int("n_routed_experts", default=0)
    moe = None
    if experts:
        width = r.pos_int("moe_intermediate_size")
        shared = r.nonneg_int("n_shared_experts", default=0)
        top_k = r.pos_int("num_experts_per_tok")
        groups, per_token = _routing_groups(r, experts, top_k)
        moe = MoESpec(
            num_experts=experts,
            top_k=top_k,
            expert_intermediate_size=width,
            activation=act,
            num_shared_experts=shared,
            shared_intermediate_size=shared * width,
            router_bias=r.string("topk_method", default="greedy") == "noaux_tc",
            routing_groups=groups,
            groups_per_token=per_token,
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
