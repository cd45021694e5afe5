"""GQA decoders whose FFN is a mixture of SwiGLU experts: Mixtral and Qwen3-MoE.

Mixtral routes every layer's FFN through `num_local_experts` experts of `intermediate_size`.
Qwen3-MoE uses `moe_intermediate_size` experts on layers where (i + 1) % decoder_sparse_step == 0
and i is not listed in `mlp_only_layers`; the other layers keep a dense `intermediate_size` MLP.
Both routers are a bias-free linear layer (hidden -> experts).
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation, gqa_attention
from coscale.models.families.llama import attention_windows
from coscale.specs.model import LayerSpec, MLPSpec, ModelSpec, MoESpec

ARCHITECTURES = ("MixtralForCausalLM", "Qwen3MoeForCausalLM")


def _moe(r: ConfigReader, num_experts: int, width: int) -> MoESpec:
    top_k = r.pos_int("num_experts_per_tok")
    if top_k > num_experts:
        raise CoscaleError(f"{r.where}: num_experts_per_tok={top_k} exceeds the {num_experts} experts")
    return MoESpec(
        num_experts=num_experts,
        top_k=top_k,
        expert_intermediate_size=width,
        activation=gated_activation(r),
    )


def _ffns(r: ConfigReader, architecture: str, num_layers: int) -> list[MLPSpec | MoESpec]:
    if architecture == "MixtralForCausalLM":
        moe = _moe(r, r.pos_int("num_local_experts"), r.pos_int("intermediate_size"))
        return [moe] * num_layers
    moe = _moe(r, r.pos_int("num_experts"), r.pos_int("moe_intermediate_size"))
    step = r.pos_int("decoder_sparse_step", default=1)
    dense_only = set(r.int_list("mlp_only_layers"))
    out: list[MLPSpec | MoESpec] = []
    for i in range(num_layers):
        if i in dense_only or (i + 1) % step:
            out.append(MLPSpec(intermediate_size=r.pos_int("intermediate_size"), activation="swiglu"))
        else:
            out.append(moe)
    return out


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    qwen = architecture == "Qwen3MoeForCausalLM"
    windows = attention_windows(r, "Qwen" if qwen else architecture, num_layers)
    layers = [
        LayerSpec(
            mixer=gqa_attention(r, sliding_window=window, qkv_bias=r.flag("attention_bias", False), qk_norm=qwen),
            ffn=ffn,
        )
        for window, ffn in zip(windows, _ffns(r, architecture, num_layers), strict=True)
    ]
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False)
