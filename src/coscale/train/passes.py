"""The forward operators of one training micro-batch on one GPU, per unique layer and for the head.

Training is a prefill-shaped pass: `micro_batch` sequences of seq_len/cp new tokens, no cache. Two
adjustments to the inference list: the LM head runs on every token (not just the last), and with
context parallelism each query still attends to the whole causal prefix, so attention FLOPs are
those of the full sequence split cp ways (load-balanced ring attention, Liu et al. 2023).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from coscale.cost.compute_class import resolve_compute_class
from coscale.specs.hardware import HardwareSpec
from coscale.specs.model import LayerSpec, ModelSpec
from coscale.specs.precision import STORAGE_FORMATS
from coscale.train.precision import TrainingPrecision
from coscale.workload.attention import keys_per_query
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import ForwardPass
from coscale.workload.ops import Op
from coscale.workload.projections import gemm


@dataclass(frozen=True, kw_only=True, slots=True)
class ShardKey:
    """What the per-GPU operator shapes depend on (and what cost caches are keyed by)."""

    tp: int
    cp: int
    ep: int
    micro_batch: int
    seq_len: int


def training_pass(key: ShardKey, hardware: HardwareSpec, precision: TrainingPrecision) -> ForwardPass:
    fmt = STORAGE_FORMATS["bf16"]
    gemm_fmt = {"fp8": STORAGE_FORMATS["fp8"], "fp4": STORAGE_FORMATS["nvfp4"]}.get(precision.gemm_class, fmt)
    return ForwardPass(
        phase="prefill", seqs=key.micro_batch, new_tokens=key.seq_len // key.cp, context=0, tp=key.tp,
        ep=key.ep, attention_dp=max(key.ep // key.tp, 1), weights=gemm_fmt, activations=gemm_fmt,
        kv_cache=fmt, gemm_class=resolve_compute_class(hardware, precision.gemm_class).used,
        attention_class=resolve_compute_class(hardware, precision.attention_class).used,
    )


def _full_sequence_attention(op: Op, key: ShardKey, layer: LayerSpec, p: ForwardPass) -> Op:
    if op.kind != "attention" or key.cp == 1 or layer.mixer is None:
        return op
    full = replace(p, new_tokens=key.seq_len)
    keys = keys_per_query(layer.mixer, full)  # type: ignore[arg-type]
    scale = keys / op.attn_len
    return replace(op, flops=op.flops * scale, attn_len=keys)


def layer_forward_ops(model: ModelSpec, layer: LayerSpec, p: ForwardPass, key: ShardKey) -> list[Op]:
    """Forward operators of one instance of `layer` (embedding and head stripped)."""
    single = replace(model, layers=(layer,))
    ops = [op for op in forward_ops(single, p) if op.layer not in ("embedding", "lm_head")]
    return [_full_sequence_attention(op, key, layer, p) for op in ops]


def head_forward_ops(model: ModelSpec, p: ForwardPass) -> tuple[list[Op], list[Op]]:
    """(first-stage ops, last-stage ops): embedding lookup; final norm + LM head over every token."""
    single = replace(model, layers=())
    ops = forward_ops(single, p)
    embed = [op for op in ops if op.layer == "embedding"]
    vocab = -(-model.vocab_size // p.tp)
    head = gemm("lm_head", "lm_head", 1, p, p.tokens, vocab, model.hidden_size)
    # BF16-class GEMM: the LM head stays in high precision in every FP8/FP4 recipe
    head = replace(head, compute_class=p.attention_class)
    # softmax cross-entropy over FP32 logits: write them, read for the loss, write the gradient
    loss = Op(name="cross_entropy", kind="elementwise", layer="lm_head", count=1,
              flops=5.0 * p.tokens * vocab, act_bytes=12.0 * p.tokens * vocab)
    return embed, [head, loss]
