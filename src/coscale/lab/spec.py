"""Describe a lab model with the predictor's `ModelSpec`, so it can be costed like any HF model."""

from __future__ import annotations

from coscale.lab.config import LabModelConfig
from coscale.specs.model import AttentionSpec, LayerSpec, Mamba2Spec, MLPSpec, ModelSpec, MoESpec


def _layer(kind: str, cfg: LabModelConfig) -> LayerSpec:
    if kind == "M":
        mixer = Mamba2Spec(
            d_inner=cfg.mamba_d_inner,
            d_state=cfg.mamba_d_state,
            num_heads=cfg.mamba_heads,
            head_dim=cfg.mamba_head_dim,
            n_groups=cfg.mamba_groups,
            conv_kernel=cfg.mamba_conv,
            chunk_size=cfg.mamba_chunk,
        )
        return LayerSpec(mixer=mixer, ffn=None)
    if kind == "*":
        attn = AttentionSpec(
            num_heads=cfg.n_heads, num_kv_heads=cfg.n_kv_heads, head_dim=cfg.head_dim, v_head_dim=cfg.head_dim
        )
        return LayerSpec(mixer=attn, ffn=None)
    if kind == "-":
        return LayerSpec(mixer=None, ffn=MLPSpec(intermediate_size=cfg.mlp_hidden, activation=cfg.mlp_activation))
    moe = MoESpec(
        num_experts=cfg.n_experts,
        top_k=cfg.top_k,
        expert_intermediate_size=cfg.expert_hidden,
        activation=cfg.mlp_activation,
    )
    return LayerSpec(mixer=None, ffn=moe)


def to_model_spec(cfg: LabModelConfig, *, name: str = "lab") -> ModelSpec:
    """One `LayerSpec` per pattern character, as Nemotron-H's hybrid_override_pattern is read."""
    return ModelSpec(
        name=name,
        architecture="CoscaleLabLM",
        hidden_size=cfg.d_model,
        vocab_size=cfg.vocab_size,
        layers=tuple(_layer(kind, cfg) for kind in cfg.pattern),
        tie_word_embeddings=False,
        norm="rmsnorm",
        source=f"coscale.lab preset {name}",
        notes=(f"layer pattern {cfg.pattern}",),
    )
