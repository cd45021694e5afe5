"""Model architecture as a frozen value: a stack of layers, each a token mixer plus an optional FFN.

A Llama layer is attention + MLP; a Nemotron-H layer is exactly one block (Mamba-2, attention, MLP
or MoE), so either `mixer` or `ffn` may be None. Every size is read from a HuggingFace config.json
by `coscale.models.loader`; nothing here is hand-typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MlpActivation = Literal["swiglu", "relu2", "gelu"]


@dataclass(frozen=True, kw_only=True, slots=True)
class MLASpec:
    """DeepSeek multi-head latent attention: low-rank Q and a cached compressed KV latent."""

    q_lora_rank: int | None  # None: a full-rank Q projection
    kv_lora_rank: int  # width of the cached latent
    qk_nope_head_dim: int
    qk_rope_head_dim: int  # the shared decoupled RoPE key, cached beside the latent
    v_head_dim: int


@dataclass(frozen=True, kw_only=True, slots=True)
class AttentionSpec:
    """Softmax attention (MHA when num_kv_heads == num_heads, GQA/MQA below, MLA when `mla` is set)."""

    num_heads: int
    num_kv_heads: int
    head_dim: int  # Q/K head dim (for MLA: nope + rope)
    v_head_dim: int  # V head dim (== head_dim except MLA)
    sliding_window: int | None = None  # tokens a query sees; None = full causal attention
    mla: MLASpec | None = None
    qkv_bias: bool = False
    out_bias: bool = False
    qk_norm: bool = False
    sinks: bool = False  # gpt-oss learned per-head attention sinks
    causal: bool = True  # False: bidirectional (encoders): every query sees every key of its sequence
    memory_tokens: int | None = None  # cross-attention: keys are this many encoder positions, not the sequence


@dataclass(frozen=True, kw_only=True, slots=True)
class Mamba2Spec:
    """Mamba-2 (SSD) mixer; `version=1` is a Mamba-1 selective scan (Jamba) with `dt_rank`."""

    d_inner: int
    d_state: int
    num_heads: int  # Mamba-2 heads (d_inner / head_dim); for Mamba-1 equals d_inner
    head_dim: int
    n_groups: int
    conv_kernel: int
    chunk_size: int = 256
    version: Literal[1, 2] = 2
    dt_rank: int = 0  # Mamba-1 only
    bias: bool = False
    conv_bias: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class MLPSpec:
    """Dense feed-forward block."""

    intermediate_size: int
    activation: MlpActivation
    bias: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class MoESpec:
    """Mixture of experts: a router picks `top_k` of `num_experts`; shared experts always run.

    Group-limited routing (DeepSeek-V2/V3's `n_group` / `topk_group`): the experts form
    `routing_groups` contiguous groups and a token's top_k come from the `groups_per_token` groups
    with the best scores; 1 / 1 is unrestricted routing."""

    num_experts: int
    top_k: int
    expert_intermediate_size: int
    activation: MlpActivation
    num_shared_experts: int = 0
    shared_intermediate_size: int = 0  # total width of the shared expert(s)
    expert_bias: bool = False
    router_bias: bool = False
    routing_groups: int = 1
    groups_per_token: int = 1


Mixer = AttentionSpec | Mamba2Spec
Ffn = MLPSpec | MoESpec


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerSpec:
    mixer: Mixer | None
    ffn: Ffn | None

    @property
    def kind(self) -> str:
        """Short name of the layer: 'attention+mlp', 'mamba2', 'moe', ..."""
        parts = []
        if isinstance(self.mixer, AttentionSpec):
            m = self.mixer
            parts.append("mla" if m.mla else "swa" if m.sliding_window else "cross_attention" if m.memory_tokens
                         else "attention" if m.causal else "bidirectional")
        elif isinstance(self.mixer, Mamba2Spec):
            parts.append(f"mamba{self.mixer.version}")
        if isinstance(self.ffn, MLPSpec):
            parts.append("mlp")
        elif isinstance(self.ffn, MoESpec):
            parts.append("moe")
        return "+".join(parts)


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSpec:
    """A whole model: embeddings, `layers`, final norm and LM head. An encoder (BERT, XLM-R) has
    bidirectional attention and a pooler / classifier head of `head_outputs` features; an
    encoder-decoder (Whisper) is its decoder, with the encoder stack in `encoder`."""

    name: str
    architecture: str  # config.json architectures[0]
    hidden_size: int
    vocab_size: int
    layers: tuple[LayerSpec, ...]
    tie_word_embeddings: bool = False
    max_position_embeddings: int | None = None
    learned_positions: bool = False  # GPT-2 style absolute position table
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    source: str = ""  # where the config came from (preset id or file path)
    notes: tuple[str, ...] = field(default_factory=tuple)
    head_outputs: int | None = None  # output head width: None = LM head over the vocabulary; encoders: pooler
    encoder: ModelSpec | None = None  # encoder-decoder models (Whisper): the encoder stack this decoder attends to

    @property
    def num_layers(self) -> int:
        return len(self.layers)
