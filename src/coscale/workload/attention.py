"""Softmax attention operators: GQA/MHA, sliding window, MLA (absorbed in decode), TP-sharded heads.

Projections see every token of the step; the attention kernel is costed per token group, since
decode streams each sequence's whole cache while prefill keeps K/V tiles on chip.
"""

from __future__ import annotations

import numpy as np

from coscale.specs.model import AttentionSpec
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass, Phase
from coscale.workload.ops import Op
from coscale.workload.projections import gemm
from coscale.workload.shape import TokenGroup


def attention_ops(spec: AttentionSpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    if spec.mla:
        return _mla_ops(spec, p, layer, count, hidden)
    if spec.memory_tokens:
        return _cross_ops(spec, p, layer, count, hidden)
    heads = spec.num_heads // p.tp
    kv_heads = max(spec.num_kv_heads // p.tp, 1)
    t = p.tokens
    qkv_out = (heads + 2 * kv_heads) * spec.head_dim
    ops = [gemm("attn.qkv_proj", layer, count, p, t, qkv_out, hidden)]
    kv_elems = kv_heads * (spec.head_dim + spec.v_head_dim)
    ops += [_core(spec, p, phase, g, layer, count, heads, kv_elems, spec.head_dim, spec.v_head_dim)
            for phase, g in p.groups()]
    ops.append(gemm("attn.o_proj", layer, count, p, t, hidden, heads * spec.v_head_dim))
    return ops


def _core(spec: AttentionSpec, p: ForwardPass, phase: Phase, g: TokenGroup, layer: str, count: int, heads: int,
          kv_elems: int, qk_dim: int, v_dim: int) -> Op:
    """The fused attention kernel (FlashAttention / paged decode attention) over one token group."""
    if spec.causal:
        pairs = g.query_keys(spec.sliding_window)  # query-key pairs under the causal mask and window
    else:  # bidirectional (an encoder pass): every new token sees every token of its sequence
        pairs = g.total(g.seqs * g.new_tokens * (g.context + g.new_tokens))
    t = g.tokens
    flops = 2.0 * heads * pairs * (qk_dim + v_dim)
    q_out_bytes = t * heads * (qk_dim + v_dim) * OUTPUT_BYTES
    if phase == "decode":
        # every sequence streams its whole (window-capped) cache and appends one token
        cache = (pairs + t) * kv_elems * p.kv_bpe
    else:
        # prefill keeps K/V tiles on chip: each cached element is written once and read once
        cache = 2.0 * g.cached_tokens(spec.sliding_window) * kv_elems * p.kv_bpe
    keys = np.divide(pairs, t, out=np.zeros_like(pairs), where=t > 0)
    return Op(name="attn.core", kind="attention", layer=layer, count=count, flops=flops,
              act_bytes=q_out_bytes, cache_bytes=cache, compute_class=p.attention_class, attn_len=keys,
              phase=phase)


def _mla_ops(spec: AttentionSpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    """DeepSeek MLA. Prefill expands the latent to per-head K/V (MHA with qk 192 / v 128);
    decode absorbs W_UK into the query and W_UV into the output and attends over the cached
    576-wide latent directly (MQA-like), as FlashMLA does."""
    mla = spec.mla
    assert mla is not None
    heads = spec.num_heads // p.tp
    t = p.tokens
    qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    latent = mla.kv_lora_rank + mla.qk_rope_head_dim
    ops: list[Op] = []
    if mla.q_lora_rank:
        ops.append(gemm("mla.q_a_proj", layer, count, p, t, mla.q_lora_rank, hidden))
        ops.append(gemm("mla.q_b_proj", layer, count, p, t, heads * qk, mla.q_lora_rank))
    else:
        ops.append(gemm("mla.q_proj", layer, count, p, t, heads * qk, hidden))
    ops.append(gemm("mla.kv_a_proj", layer, count, p, t, latent, hidden))
    for phase, g in p.groups():
        gt = g.tokens
        if phase == "prefill":
            kv_up = heads * (mla.qk_nope_head_dim + mla.v_head_dim)
            ops.append(gemm("mla.kv_b_proj", layer, count, p, gt, kv_up, mla.kv_lora_rank, phase))
            ops.append(_core(spec, p, phase, g, layer, count, heads, latent, qk, mla.v_head_dim))
        else:
            ops.append(gemm("mla.q_absorb", layer, count, p, gt, heads * mla.kv_lora_rank, mla.qk_nope_head_dim,
                            phase))
            ops.append(_core(spec, p, phase, g, layer, count, heads, latent, latent, mla.kv_lora_rank))
            ops.append(gemm("mla.v_absorb", layer, count, p, gt, heads * mla.v_head_dim, mla.kv_lora_rank, phase))
    ops.append(gemm("mla.o_proj", layer, count, p, t, hidden, heads * mla.v_head_dim))
    return ops


def _cross_ops(spec: AttentionSpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    """Cross-attention over a fixed encoder memory of `memory_tokens` positions (Whisper's decoder).

    Queries come from the step's tokens; keys and values are the encoder output projected once per
    request and kept for its life (vLLM's cross-attention cache). Every step each sequence reads its
    whole memory K/V. The projection of the memory runs in the request's first prefill chunk (a
    chunk on no cached prefix), costed per chunk like the attention kernel."""
    memory = float(spec.memory_tokens or 0)
    heads = spec.num_heads // p.tp
    kv_heads = max(spec.num_kv_heads // p.tp, 1)
    kv_elems = kv_heads * (spec.head_dim + spec.v_head_dim)
    t = p.tokens
    ops = [gemm("xattn.q_proj", layer, count, p, t, heads * spec.head_dim, hidden)]
    for phase, g in p.groups():
        gt = g.tokens
        pairs = gt * memory
        ops.append(Op(name="xattn.core", kind="attention", layer=layer, count=count,
                      flops=2.0 * heads * pairs * (spec.head_dim + spec.v_head_dim),
                      act_bytes=gt * heads * (spec.head_dim + spec.v_head_dim) * OUTPUT_BYTES,
                      cache_bytes=g.num_seqs * memory * kv_elems * p.kv_bpe, compute_class=p.attention_class,
                      attn_len=np.where(gt > 0, memory, 0.0), phase=phase))
        if phase == "prefill":
            rows = g.total(g.seqs * (g.context == 0)) * memory  # first chunks project their request's memory
            ops.append(Op(name="xattn.kv_proj", kind="gemm", layer=layer, count=count,
                          flops=2.0 * rows * kv_elems * hidden,
                          weight_bytes=np.where(rows > 0, kv_elems * hidden * p.weight_bpe, 0.0),
                          act_bytes=rows * (hidden * p.act_bpe + kv_elems * p.kv_bpe),
                          compute_class=p.gemm_class, phase=phase))
    ops.append(gemm("xattn.o_proj", layer, count, p, t, hidden, heads * spec.v_head_dim))
    return ops
