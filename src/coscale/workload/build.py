"""Model + forward pass -> operator list for one GPU (identical layers are merged with a count)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from coscale.specs.model import AttentionSpec, Mamba2Spec, MLPSpec, ModelSpec, MoESpec
from coscale.specs.precision import STORAGE_FORMATS
from coscale.workload.attention import attention_ops
from coscale.workload.ffn import mlp_ops, moe_ops
from coscale.workload.forward_pass import EMBEDDING_BYTES, OUTPUT_BYTES, ForwardPass
from coscale.workload.mamba import mamba_ops
from coscale.workload.ops import Collective, Op
from coscale.workload.projections import gemm
from coscale.workload.quantize import with_input_casts

# Elementwise traffic per residual sub-block, in units of tokens x hidden x BF16: RMSNorm read +
# write, residual add (two reads, one write), and the activation or RoPE pass (read + write).
_ELEMENTWISE_PASSES = 7


def forward_ops(model: ModelSpec, p: ForwardPass) -> list[Op]:
    """All operators of one forward pass on one GPU of a tensor-parallel group."""
    h = model.hidden_size
    t = p.tokens
    ops = [Op(name="embedding", kind="embedding", layer="embedding", count=1,
              act_bytes=t * h * (OUTPUT_BYTES + EMBEDDING_BYTES))]
    for layer, count in Counter(model.layers).items():
        kind = layer.kind
        for block in (layer.mixer, layer.ffn):
            if block is None:
                continue
            ops += _block_ops(block, p, kind, count, h)
            ops.append(Op(name="norm_residual", kind="elementwise", layer=kind, count=count,
                          flops=8.0 * t * h, act_bytes=_ELEMENTWISE_PASSES * t * h * OUTPUT_BYTES))
            if p.tp > 1:  # row-parallel output (or, with EP, the TP group's token slices) is reduced
                ops.append(Op(name="tp_all_reduce", kind="collective", layer=kind, count=count,
                              collective=Collective(kind="all_reduce", bytes=t * h * OUTPUT_BYTES, group=p.tp)))
    logits_tokens = p.num_seqs  # prefill only needs the last position's logits; decode has one token anyway
    # encoders end in a pooler / classifier of `head_outputs` features instead of an LM head
    vocab = model.head_outputs if model.head_outputs else -(-model.vocab_size // p.tp)
    bf16 = STORAGE_FORMATS["bf16"]
    head_pass = replace(p, weights=bf16, activations=bf16, gemm_class=p.head_class)
    if vocab:  # an encoder stack feeding a decoder (Whisper's) has no head of its own
        ops.append(gemm("lm_head", "lm_head", 1, head_pass, logits_tokens, vocab, h))
    return with_input_casts(ops, p)


def _block_ops(block: object, p: ForwardPass, kind: str, count: int, hidden: int) -> list[Op]:
    if isinstance(block, AttentionSpec):
        return attention_ops(block, p, kind, count, hidden)
    if isinstance(block, Mamba2Spec):
        return mamba_ops(block, p, kind, count, hidden)
    if isinstance(block, MoESpec):
        return moe_ops(block, p, kind, count, hidden)
    if isinstance(block, MLPSpec):
        return mlp_ops(block, p, kind, count, hidden)
    raise TypeError(f"unknown block type {type(block).__name__}")
