"""Softmax attention operators: GQA/MHA, sliding window, MLA (absorbed in decode), TP-sharded heads."""

from __future__ import annotations

from coscale.specs.model import AttentionSpec
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass
from coscale.workload.ops import Op
from coscale.workload.projections import gemm


def keys_per_query(spec: AttentionSpec, p: ForwardPass) -> float:
    """Mean keys each new query attends to under the causal mask (and window, if any).

    New tokens sit at positions context+1 .. context+new_tokens; position q sees min(q, window)
    keys. Covers prefill (context 0), chunked prefill (context > 0) and decode (one new token)."""
    first, last = p.context + 1, p.context + p.new_tokens
    window = spec.sliding_window or last
    unwindowed_end = min(last, window)  # positions that still see all earlier tokens
    total = 0.0
    if unwindowed_end >= first:
        total += (first + unwindowed_end) * (unwindowed_end - first + 1) / 2.0
    total += max(0, last - max(first - 1, window)) * window
    return total / p.new_tokens


def cached_tokens(spec: AttentionSpec, p: ForwardPass) -> int:
    """Tokens held in this layer's cache per sequence after the pass (window-capped)."""
    total = p.context + p.new_tokens
    return min(total, spec.sliding_window) if spec.sliding_window else total


def attention_ops(spec: AttentionSpec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    if spec.mla:
        return _mla_ops(spec, p, layer, count, hidden)
    heads = spec.num_heads // p.tp
    kv_heads = max(spec.num_kv_heads // p.tp, 1)
    t = p.tokens
    qkv_out = (heads + 2 * kv_heads) * spec.head_dim
    ops = [
        gemm("attn.qkv_proj", layer, count, p, t, qkv_out, hidden),
        _core(spec, p, layer, count, heads, kv_heads * (spec.head_dim + spec.v_head_dim), spec.head_dim,
              spec.v_head_dim),
        gemm("attn.o_proj", layer, count, p, t, hidden, heads * spec.v_head_dim),
    ]
    return ops


def _core(spec: AttentionSpec, p: ForwardPass, layer: str, count: int, heads: int, kv_elems: int,
          qk_dim: int, v_dim: int) -> Op:
    """The fused attention kernel (FlashAttention / paged decode attention)."""
    keys = keys_per_query(spec, p)
    t = p.tokens
    flops = 2.0 * t * heads * keys * (qk_dim + v_dim)
    q_out_bytes = t * heads * (qk_dim + v_dim) * OUTPUT_BYTES
    if p.phase == "decode":
        # every sequence streams its whole (window-capped) cache and appends one token
        cache = p.seqs * (keys * kv_elems * p.kv_bpe) + t * kv_elems * p.kv_bpe
    else:
        # prefill keeps K/V tiles on chip: each cached element is written once and read once
        cache = 2.0 * p.seqs * cached_tokens(spec, p) * kv_elems * p.kv_bpe
    return Op(name="attn.core", kind="attention", layer=layer, count=count, flops=flops,
              act_bytes=q_out_bytes, cache_bytes=cache, compute_class=p.attention_class, attn_len=keys)


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
    if p.phase == "prefill":
        kv_up = heads * (mla.qk_nope_head_dim + mla.v_head_dim)
        ops.append(gemm("mla.kv_b_proj", layer, count, p, t, kv_up, mla.kv_lora_rank))
        ops.append(_core(spec, p, layer, count, heads, latent, qk, mla.v_head_dim))
    else:
        ops.append(gemm("mla.q_absorb", layer, count, p, t, heads * mla.kv_lora_rank, mla.qk_nope_head_dim))
        ops.append(_core(spec, p, layer, count, heads, latent, latent, mla.kv_lora_rank))
        ops.append(gemm("mla.v_absorb", layer, count, p, t, heads * mla.v_head_dim, mla.kv_lora_rank))
    ops.append(gemm("mla.o_proj", layer, count, p, t, hidden, heads * mla.v_head_dim))
    return ops
