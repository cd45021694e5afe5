"""AI21 Jamba: Mamba-1 and attention mixers interleaved, each followed by a dense or MoE SwiGLU FFN.

Layer i uses attention when i % attn_layer_period == attn_layer_offset (Mamba-1 otherwise) and an
MoE FFN when i % expert_layer_period == expert_layer_offset. Jamba attention has no positional
encoding. Its Mamba-1 mixer also carries RMSNorms on dt, B and C (dt_rank + 2 * d_state weights
per layer, 8,064 parameters for Jamba-1.5-Mini) that the generic Mamba-1 count does not include.
"""

from __future__ import annotations

from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation, gqa_attention
from coscale.models.families.mamba import mamba1
from coscale.specs.model import LayerSpec, MLPSpec, ModelSpec, MoESpec

ARCHITECTURES = ("JambaForCausalLM",)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    hidden = r.pos_int("hidden_size")
    act = gated_activation(r)
    width = r.pos_int("intermediate_size")
    mamba = mamba1(
        hidden,
        d_state=r.pos_int("mamba_d_state", default=16),
        d_conv=r.pos_int("mamba_d_conv", default=4),
        expand=r.pos_int("mamba_expand", default=2),
        dt_rank=r.data.get("mamba_dt_rank"),
        bias=r.flag("mamba_proj_bias", False),
        conv_bias=r.flag("mamba_conv_bias", True),
        where=r.where,
    )
    attn = gqa_attention(r, sliding_window=r.opt_pos_int("sliding_window"))
    dense = MLPSpec(intermediate_size=width, activation=act)
    moe = MoESpec(
        num_experts=r.pos_int("num_experts"),
        top_k=r.pos_int("num_experts_per_tok"),
        expert_intermediate_size=width,
        activation=act,
    )
    a_period = r.pos_int("attn_layer_period")
    a_offset = r.nonneg_int("attn_layer_offset")
    e_period = r.pos_int("expert_layer_period")
    e_offset = r.nonneg_int("expert_layer_offset")
    layers = [
        LayerSpec(
            mixer=attn if i % a_period == a_offset else mamba,
            ffn=moe if moe.num_experts > 1 and i % e_period == e_offset else dense,
        )
        for i in range(num_layers)
    ]
    notes = ("Mamba-1 dt/B/C RMSNorm weights (dt_rank + 2*d_state per Mamba layer) not counted",)
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False, notes=notes)
