"""Activation quantization kernels of a serving engine: one cast per low-precision GEMM input.

TensorRT-LLM's PyTorch backend hands each quantized linear a BF16 activation and casts it first, in
a kernel of its own: FP8 linears call `static_quantize_e4m3_per_tensor` before `cublas_scaled_mm`,
NVFP4 linears `fp4_quantize` (E2M1 values + one E4M3 scale per 16) before the FP4 GEMM, and the
fused MoE quantizes its input the same way before the grouped GEMMs (tensorrt_llm/_torch/modules
linear.py and fused_moe; in the 2025 releases the RMSNorm before them writes BF16 at TP 1). The cast
reads the BF16 rows and writes them in the activation format, block scales included; it runs on
the vector units and is memory-bound. vLLM's B200 GEMM benchmarks time it separately (pull requests
#18778, #20646: the 'nvfp4' / 'fp8' columns with it, the '-noquant' columns without).

Modelled, when the pass asks for it (serving plans do; training passes add their own casts with
transposed copies, `coscale.train.passes`): every dense tensor-core GEMM whose activations are
narrower than BF16 gets one cast of its own input rows (m x k); a MoE layer gets one cast of its
token rows before the routed experts (the fused MoE quantizes before expanding tokens to their
top-k experts; the down projection's input is quantized inside the activation kernel between the
two grouped GEMMs, so it gets none). Left alone: the router (ModelOpt checkpoints keep it BF16),
per-group GEMMs (`phase` set: MLA's absorbed projections) and the BF16 LM head.
"""

from __future__ import annotations

from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass
from coscale.workload.ops import Op


def input_cast(op: Op, p: ForwardPass) -> Op | None:
    """The cast kernel feeding `op`, or None when `op` reads no quantized activations."""
    if op.kind not in ("gemm", "grouped_gemm") or op.phase or not op.gemm_mnk or op.name == "moe.router":
        return None
    if op.compute_class != p.gemm_class or p.act_bpe >= OUTPUT_BYTES:
        return None
    _, n, k = op.gemm_mnk
    if op.kind == "grouped_gemm":
        if op.name != "moe.experts_up":
            return None
        rows = p.tokens  # the layer's tokens, quantized once before they are expanded to their experts
    else:
        rows = op.flops / (2.0 * n * k)
    return Op(name=op.name + ".quantize", kind="elementwise", layer=op.layer, count=op.count,
              flops=2.0 * rows * k, act_bytes=rows * k * (OUTPUT_BYTES + p.act_bpe))


def with_input_casts(ops: list[Op], p: ForwardPass) -> list[Op]:
    """`ops` with each quantized GEMM preceded by its input cast (unchanged unless the pass asks)."""
    if not p.quantize_gemm_inputs:
        return ops
    out: list[Op] = []
    for op in ops:
        cast = input_cast(op, p)
        if cast is not None:
            out.append(cast)
        out.append(op)
    return out
