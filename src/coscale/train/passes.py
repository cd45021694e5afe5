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
from coscale.specs.model import AttentionSpec, LayerSpec, ModelSpec, MoESpec
from coscale.train.attention_kernel import windowed_tiles
from coscale.train.backward import UNFUSED, UNFUSED_CE_FORWARD_BYTES, UNFUSED_CROSS_ENTROPY
from coscale.train.layout import TrainOptions
from coscale.train.precision import TrainingPrecision
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass
from coscale.workload.ops import Op
from coscale.workload.projections import gemm
from coscale.workload.shape import keys_per_query


@dataclass(frozen=True, kw_only=True, slots=True)
class ShardKey:
    """What the per-GPU operator shapes depend on (and what cost caches are keyed by)."""

    tp: int
    cp: int
    ep: int
    micro_batch: int
    seq_len: int


def training_pass(key: ShardKey, hardware: HardwareSpec, precision: TrainingPrecision) -> ForwardPass:
    """A training micro-batch is a prefill-shaped step (`micro_batch` sequences of seq_len / cp new
    tokens, no cache) through the same operator builder as inference, with GEMM operands at the
    recipe's own storage formats, block scales included (MXFP8 and FP8-block read 8.25-bit
    activations; their weights carry E8M0 / FP32 block scales)."""
    return ForwardPass.single(
        "prefill", key.micro_batch, key.seq_len // key.cp, 0, tp=key.tp, ep=key.ep,
        attention_dp=max(key.ep // key.tp, 1), weights=precision.weights, activations=precision.activations,
        kv_cache=precision.kv_cache, ssm_state=precision.ssm_state,
        gemm_class=resolve_compute_class(hardware, precision.gemm_class).used,
        attention_class=resolve_compute_class(hardware, precision.attention_class).used,
    )


def _full_sequence_attention(op: Op, key: ShardKey, layer: LayerSpec, p: ForwardPass) -> Op:
    if op.kind != "attention" or key.cp == 1 or layer.mixer is None:
        return op
    keys = keys_per_query(key.seq_len, 0, layer.mixer.sliding_window)  # type: ignore[union-attr]
    scale = keys / op.attn_len
    return replace(op, flops=op.flops * scale, attn_len=keys)


def _unfused_attention(op: Op, key: ShardKey, heads: int, dropout: bool) -> Op:
    """Pre-FlashAttention Megatron: QK^T over the whole s x s square (mask applied after), the
    scores written, read and rewritten by the fused scale-mask-softmax, dropout, then read by the
    AV GEMM: 2+4+2 (+5 with dropout) bytes per score element at 16 bits."""
    if op.kind != "attention":
        return op
    keys = float(key.seq_len)
    scores = heads * key.micro_batch * (key.seq_len / key.cp) * keys
    per_element = 8.0 + (5.0 if dropout else 0.0)
    return replace(op, name=op.name + UNFUSED, flops=op.flops * keys / op.attn_len, attn_len=keys,
                   act_bytes=op.act_bytes + per_element * scores)


def _activation_kernel(op: Op) -> list[Op]:
    """Training runs the MLP activation as its own kernel (its input is stored for the backward;
    inference fuses it into the GEMM epilogue): read the up-projection output (n wide), write the
    activated product (n/2 wide for gated units; the conservative mean of gated and plain)."""
    if op.kind not in ("gemm", "grouped_gemm") or not op.gemm_mnk or not op.name.endswith(("up_proj", "experts_up")):
        return [op]
    _, n, k = op.gemm_mnk
    rows = op.flops / (2.0 * n * k)
    act = Op(name=op.name + ".activation", kind="elementwise", layer=op.layer, count=op.count,
             flops=4.0 * rows * n, act_bytes=OUTPUT_BYTES * rows * 1.5 * n)
    return [op, act]


def _current_scaling(precision: TrainingPrecision) -> bool:
    """Per-tensor current scaling (TE Float8CurrentScaling): the scale comes from this tensor's own
    amax, so each cast first reads the whole tensor in a separate amax reduction and then casts it
    (delayed scaling reuses past amaxes; block scales are computed inside the cast kernel)."""
    quant = precision.linears.fprop_input if precision.linears else None
    return quant is not None and quant.scheme.endswith("_tensor") and quant.amax_history == 0


def _quantize_kernel(op: Op, precision: TrainingPrecision) -> list[Op]:
    """Low-precision recipes cast each GEMM input to FP8/FP4 (plus a transposed copy for the weight
    gradient): read 16-bit, write two low-precision copies (scales included); the backward casts dY
    the same way. Per-tensor current scaling reads the input once more for its amax."""
    if not precision.low_precision_gemms or op.kind not in ("gemm", "grouped_gemm"):
        return [op]
    if not op.gemm_mnk:
        return [op]
    _, n, k = op.gemm_mnk
    rows = op.flops / (2.0 * n * k)
    out_bytes = precision.activations.bytes_per_element
    amax_read = OUTPUT_BYTES if _current_scaling(precision) else 0.0
    # a grouped GEMM's input is quantized per expert (TE GroupedLinear: one quantize per split)
    cast = Op(name=op.name + ".cast", kind="elementwise", layer=op.layer, count=op.count,
              flops=2.0 * rows * k, act_bytes=rows * k * (OUTPUT_BYTES + amax_read + 2.0 * out_bytes),
              groups=op.groups)
    return [cast, op]


def _moe_permutation(layer: LayerSpec, p: ForwardPass, hidden: int) -> list[Op]:
    """Token permutation around the experts (Megatron's all-to-all dispatcher): gather each token's
    top_k copies into expert order (read tokens, write routed rows), and with EP re-sort the received
    chunks by local expert before the GEMMs and back after them (read + write routed rows each);
    unpermute reads the routed rows and scatter-adds them, weighted by the router probabilities, into
    the token rows. BF16 rows (the copies the all-to-all moves)."""
    moe = layer.ffn
    if not isinstance(moe, MoESpec):
        return []
    tokens = p.tokens
    rows = tokens * moe.top_k  # routed copies this GPU sends (and, balanced, receives)
    row, tok = rows * hidden * OUTPUT_BYTES, tokens * hidden * OUTPUT_BYTES
    sort = 2.0 * row if p.ep > 1 and moe.num_experts > p.ep else 0.0  # local experts > 1: chunk sort
    return [Op(name="moe.permute", kind="elementwise", layer=layer.kind, count=1, act_bytes=tok + row + sort),
            Op(name="moe.unpermute", kind="elementwise", layer=layer.kind, count=1, flops=2.0 * rows * hidden,
               act_bytes=sort + row + tok)]


def layer_forward_ops(model: ModelSpec, layer: LayerSpec, p: ForwardPass, key: ShardKey,
                      precision: TrainingPrecision, options: TrainOptions) -> list[Op]:
    """Forward operators of one instance of `layer` (embedding and head stripped)."""
    single = replace(model, layers=(layer,))
    ops = [op for op in forward_ops(single, p) if op.layer not in ("embedding", "lm_head")]
    ops += _moe_permutation(layer, p, model.hidden_size)
    ops = [_full_sequence_attention(op, key, layer, p) for op in ops]
    if not options.flash_attention and isinstance(layer.mixer, AttentionSpec):
        ops = [_unfused_attention(op, key, max(layer.mixer.num_heads // key.tp, 1), options.dropout) for op in ops]
    elif isinstance(layer.mixer, AttentionSpec):  # the fused kernel multiplies whole key tiles
        ops = [windowed_tiles(op, layer.mixer.sliding_window, key.seq_len) for op in ops]
    ops = [a for op in ops for a in _activation_kernel(op)]
    return [q for op in ops for q in _quantize_kernel(op, precision)]


def head_forward_ops(model: ModelSpec, p: ForwardPass, fused_loss: bool = True) -> tuple[list[Op], list[Op]]:
    """(first-stage ops, last-stage ops): embedding lookup; final norm + LM head over every token, and
    the loss (`fused_loss` False: Megatron's unfused FP32 vocab-parallel cross-entropy)."""
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
    if not fused_loss:
        loss = replace(loss, name=UNFUSED_CROSS_ENTROPY, act_bytes=UNFUSED_CE_FORWARD_BYTES * p.tokens * vocab)
    return embed, [head, loss]
