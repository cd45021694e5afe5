"""Activation bytes one GPU stores per layer and micro-batch for the backward pass.

Transformer layers follow Korthikanti et al. 2022 ("Reducing Activation Recomputation", Sec. 4):
per layer sbh(34 + 5as/h) bytes at 16-bit without parallelism, of which 10sbh (norm inputs, the
first projection inputs, dropout masks) is replicated under plain TP and the rest is split t ways;
sequence parallelism splits everything t ways; selective recompute drops the 5as^2b softmax term;
full recompute keeps only the 2sbh layer input. The same bookkeeping (which tensor the backward
needs, its width, whether it is TP-sharded) is applied to GQA, SwiGLU, FlashAttention (no s^2
tensor, only the FP32 log-sum-exp), Mamba-2 (SSD chunk states, Dao & Gu 2024 Sec. 6) and MoE
(router logits plus the permuted token buffers of Megatron-Core's token dispatcher).
`s` is the sequence share of one GPU (seq_len / cp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coscale.specs.model import AttentionSpec, LayerSpec, Mamba2Spec, MLPSpec, MoESpec
from coscale.train.layout import Recompute
from coscale.workload.ffn import up_width
from coscale.workload.mamba import conv_channels

ACT = 2.0  # BF16 activations (FP8 recipes keep BF16 copies for the non-GEMM ops; conservative)
MASK = 1.0  # dropout mask: one byte per element
FP32 = 4.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ActShape:
    s: int  # tokens of one sequence on this GPU (seq_len / cp)
    b: int  # micro-batch
    h: int
    tp: int
    ep: int = 1
    sequence_parallel: bool = True
    flash_attention: bool = True
    dropout: bool = False


def _split(rep: float, sharded: float, a: ActShape) -> float:
    """`rep` is replicated over TP unless sequence parallelism shards it; `sharded` always is."""
    return (rep / a.tp if a.sequence_parallel else rep) + sharded / a.tp


def _attention(spec: AttentionSpec, a: ActShape, recompute: Recompute) -> float:
    sbh = a.s * a.b * a.h
    sb = a.s * a.b
    if spec.mla:
        m = spec.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        qkv = spec.num_heads * (2 * qk + m.v_head_dim)
        latent = m.kv_lora_rank + m.qk_rope_head_dim + (m.q_lora_rank or 0)
        sharded = ACT * sb * (qkv + spec.num_heads * m.v_head_dim)
        rep = ACT * 2 * sbh + ACT * sb * latent
    else:
        qkv = spec.num_heads * spec.head_dim + spec.num_kv_heads * (spec.head_dim + spec.v_head_dim)
        sharded = ACT * sb * (qkv + spec.num_heads * spec.v_head_dim)  # Q, K, V and the o_proj input
        rep = ACT * 2 * sbh  # norm input and QKV-projection input
    if a.dropout:
        rep += MASK * sbh
    if a.flash_attention:
        sharded += FP32 * sb * spec.num_heads  # softmax log-sum-exp per query and head
    elif recompute == "none":
        keys = min(a.s, spec.sliding_window or a.s)
        sharded += (2 * ACT + (MASK if a.dropout else 0.0)) * spec.num_heads * sb * keys  # 5as^2b
    return _split(rep, sharded, a)


def _mlp(inter: int, activation: str, tokens: float, a: ActShape, tp: int) -> float:
    """Up-projection output (the activation's input) and the down-projection input, TP-sharded."""
    return ACT * tokens * (up_width(inter, activation) + inter) / tp


def _ffn(spec: MLPSpec | MoESpec, a: ActShape) -> float:
    sbh = a.s * a.b * a.h
    rep = ACT * 2 * sbh + (MASK * sbh if a.dropout else 0.0)  # norm input and up-projection input
    if isinstance(spec, MLPSpec):
        return _split(rep, 0.0, a) + _mlp(spec.intermediate_size, spec.activation, a.s * a.b, a, a.tp)
    rep += FP32 * a.s * a.b * spec.num_experts  # router logits (softmax/top-k backward)
    total = _split(rep, 0.0, a)
    if a.ep > 1:  # experts whole on each rank; the group's SP-shards are dispatched here
        routed = a.s * a.b * spec.top_k / a.tp
        total += _mlp(spec.expert_intermediate_size, spec.activation, routed, a, 1)
    else:
        routed = a.s * a.b * spec.top_k
        total += _mlp(spec.expert_intermediate_size, spec.activation, routed, a, a.tp)
    total += 2 * ACT * routed * a.h  # permuted expert inputs and outputs (dispatch / combine buffers)
    if spec.shared_intermediate_size:
        total += _mlp(spec.shared_intermediate_size, spec.activation, a.s * a.b, a, a.tp)
    return total


def _mamba(spec: Mamba2Spec, a: ActShape) -> float:
    sb = a.s * a.b
    rep = ACT * 2 * sb * a.h  # norm input and in_proj input
    d = spec.d_inner
    in_width = 2 * d + 2 * spec.n_groups * spec.d_state + spec.num_heads
    sharded = ACT * sb * (in_width + conv_channels(spec) + 3 * d)  # z|xBC|dt, conv out, y, gated-norm, out_proj in
    chunks = math.ceil(a.s / spec.chunk_size)
    sharded += FP32 * a.b * chunks * d * spec.d_state  # SSD chunk states kept for the backward
    return _split(rep, sharded, a)


def layer_activation_bytes(layer: LayerSpec, a: ActShape, recompute: Recompute) -> float:
    """Bytes one layer keeps per micro-batch until its backward runs."""
    if recompute == "full":
        return ACT * a.s * a.b * a.h / (a.tp if a.sequence_parallel else 1)  # the layer input only
    total = 0.0
    if isinstance(layer.mixer, AttentionSpec):
        total += _attention(layer.mixer, a, recompute)
    elif isinstance(layer.mixer, Mamba2Spec):
        total += _mamba(layer.mixer, a)
    if layer.ffn is not None:
        total += _ffn(layer.ffn, a)
    return total


def head_activation_bytes(vocab: int, a: ActShape) -> float:
    """Last stage: FP32 logits for the cross-entropy backward, vocab-parallel over TP."""
    return FP32 * a.s * a.b * vocab / a.tp + ACT * a.s * a.b * a.h / a.tp
