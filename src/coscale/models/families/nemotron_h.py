"""NVIDIA Nemotron-H, Nemotron Nano 2 and Nemotron 3 Nano: one block per layer, from a pattern string.

`hybrid_override_pattern` has one character per layer: M = Mamba-2 mixer, * = attention (no RoPE),
- = non-gated squared-ReLU MLP, E = MoE of squared-ReLU experts plus a shared expert. The Mamba
inner width is mamba_num_heads * mamba_head_dim, which for Nano 2 and Nemotron 3 differs from
expand * hidden_size, so it is never derived from `expand`. Nemotron 3's router is a sigmoid with
a learned correction bias (counted as the router bias). Latent MoE (`moe_latent_size`) is not
modelled yet and is refused rather than mis-counted.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gqa_attention
from coscale.specs.model import LayerSpec, Mamba2Spec, MLPSpec, ModelSpec, MoESpec

ARCHITECTURES = ("NemotronHForCausalLM",)
PATTERN_CHARS = {"M": "Mamba-2", "*": "attention", "-": "MLP", "E": "MoE"}


def _mamba(r: ConfigReader) -> Mamba2Spec:
    heads = r.pos_int("mamba_num_heads")
    head_dim = r.pos_int("mamba_head_dim")
    groups = r.pos_int("n_groups", "mamba_n_groups")
    if heads % groups:
        raise CoscaleError(f"{r.where}: mamba_num_heads={heads} is not a multiple of n_groups={groups}")
    return Mamba2Spec(
        d_inner=heads * head_dim,
        d_state=r.pos_int("ssm_state_size"),
        num_heads=heads,
        head_dim=head_dim,
        n_groups=groups,
        conv_kernel=r.pos_int("conv_kernel", "mamba_d_conv"),
        chunk_size=r.pos_int("chunk_size", "mamba_chunk_size", default=256),
        bias=r.flag("mamba_proj_bias", r.flag("use_bias", False)),
        conv_bias=r.flag("use_conv_bias", r.flag("mamba_conv_bias", True)),
    )


def _moe(r: ConfigReader) -> MoESpec:
    if r.has("moe_latent_size"):
        raise CoscaleError(
            f"{r.where}: latent MoE ('moe_latent_size') is not supported yet; remove it or use a non-latent model"
        )
    shared_width = r.nonneg_int("moe_shared_expert_intermediate_size", default=0)
    return MoESpec(
        num_experts=r.pos_int("n_routed_experts"),
        top_k=r.pos_int("num_experts_per_tok"),
        expert_intermediate_size=r.pos_int("moe_intermediate_size"),
        activation="relu2",
        num_shared_experts=r.nonneg_int("n_shared_experts", default=1 if shared_width else 0),
        shared_intermediate_size=shared_width,
        expert_bias=r.flag("mlp_bias", False),
        router_bias=True,
    )


def _block(r: ConfigReader, char: str) -> LayerSpec:
    """The one block a pattern character stands for (each Nemotron-H layer has a single norm + block)."""
    if char == "M":
        return LayerSpec(mixer=_mamba(r), ffn=None)
    if char == "*":
        bias = r.flag("attention_bias", False)
        window = r.opt_pos_int("sliding_window")
        return LayerSpec(mixer=gqa_attention(r, sliding_window=window, qkv_bias=bias, out_bias=bias), ffn=None)
    if char == "-":
        width = r.pos_int("intermediate_size")
        return LayerSpec(
            mixer=None, ffn=MLPSpec(intermediate_size=width, activation="relu2", bias=r.flag("mlp_bias", False))
        )
    return LayerSpec(mixer=None, ffn=_moe(r))


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    pattern = r.string("hybrid_override_pattern")
    if len(pattern) != num_layers:
        raise CoscaleError(
            f"{r.where}: hybrid_override_pattern has {len(pattern)} characters but num_hidden_layers="
            f"{num_layers}; they must be equal"
        )
    unknown = sorted(set(pattern) - PATTERN_CHARS.keys())
    if unknown:
        legend = ", ".join(f"{c}={k}" for c, k in PATTERN_CHARS.items())
        raise CoscaleError(f"{r.where}: hybrid_override_pattern has unknown block(s) {unknown}; known: {legend}")
    act = r.string("mlp_hidden_act", default="relu2")
    if act != "relu2":
        raise CoscaleError(f"{r.where}: mlp_hidden_act={act!r} is not supported (Nemotron-H uses relu2)")
    built = {c: _block(r, c) for c in set(pattern)}
    layers = [built[c] for c in pattern]
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False)
