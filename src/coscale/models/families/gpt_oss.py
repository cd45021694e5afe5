"""OpenAI gpt-oss: GQA with learned attention sinks and biases, alternating sliding/full layers, MoE.

Every layer is attention + MoE. `layer_types` says which layers use the `sliding_window` (128
tokens); when a config omits it, the HF default alternates starting with a sliding layer 0.
Experts are SwiGLU (with a clamp that does not change sizes) with biases on gate_up and down;
the router is a linear layer with bias.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation, gqa_attention, layer_windows
from coscale.specs.model import LayerSpec, ModelSpec, MoESpec

ARCHITECTURES = ("GptOssForCausalLM",)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    window = r.pos_int("sliding_window")
    if r.has("layer_types"):
        windows = layer_windows(r, num_layers, window)
    else:
        windows = [window if i % 2 == 0 else None for i in range(num_layers)]
    experts = r.pos_int("num_local_experts")
    top_k = r.pos_int("num_experts_per_tok", "experts_per_token")
    if top_k > experts:
        raise CoscaleError(f"{r.where}: num_experts_per_tok={top_k} exceeds the {experts} experts")
    moe = MoESpec(
        num_experts=experts,
        top_k=top_k,
        expert_intermediate_size=r.pos_int("intermediate_size"),
        activation=gated_activation(r),
        expert_bias=True,
        router_bias=True,
    )
    bias = r.flag("attention_bias", True)
    layers = [
        LayerSpec(mixer=gqa_attention(r, sliding_window=w, qkv_bias=bias, out_bias=bias, sinks=True), ffn=moe)
        for w in windows
    ]
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False)
