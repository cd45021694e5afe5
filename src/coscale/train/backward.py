"""Backward operators derived from the forward list, so forward and backward share one network model.

A GEMM y[m,n] = x[m,k] W[k,n] has two backward GEMMs of the same FLOPs: the activation gradient
dX[m,k] = dY W^T (shape m,k,n) and the weight gradient dW[k,n] = X^T dY (shape k,n,m); each is
costed with its own tile/wave efficiency. FlashAttention's backward recomputes the scores and runs
five matmuls to the forward's two: 2.5x the forward FLOPs (Dao 2023, FlashAttention-2 Sec. 3.2).
Elementwise, scan and embedding ops read and write about twice the forward bytes (MoE token
permutations the same bytes: their backward is the inverse permutation). Collectives are
mirrored: the TP all-reduce of the forward becomes one in the backward (with sequence parallelism
an all-gather + reduce-scatter pair of the same total volume), MoE dispatch/combine run again.
"""

from __future__ import annotations

from dataclasses import replace

from coscale.workload.ops import Op

FLASH_BACKWARD_FLOP_RATIO = 2.5
# FlashAttention backward kernels reach a lower fraction of peak than the forward (more
# synchronisation, dQ accumulated with atomics): FA3 reports ~1.5-1.75x FA2 backward speed against
# 740 TFLOP/s forward, ~500-550 TFLOP/s at head dim 128 on H100 (Shah et al. 2024, Fig. 6-7): ~0.7.
FLASH_BACKWARD_RELATIVE_EFFICIENCY = 0.7
# pre-FlashAttention Megatron (train.passes._unfused_attention) runs attention as batched GEMMs and a
# fused softmax kernel that store the probabilities: its backward recomputes nothing and is not the
# FlashAttention kernel, so neither the 2.5x FLOPs nor the backward-kernel efficiency above applies
UNFUSED = ".unfused"
UNFUSED_BACKWARD_FLOP_RATIO = 2.0


# Megatron's unfused vocab-parallel cross-entropy (tensor_parallel.vocab_parallel_cross_entropy, run
# when --cross-entropy-loss-fusion is off): the logits are cast to FP32 (read 2, write 4 bytes per
# logit), reduced to their max (read 4), shifted (read 4, write 4), exponentiated in place (4 + 4),
# summed (4) and normalised in place (4 + 4): 38 bytes forward; the backward scales the stored softmax
# by the loss gradient in place (4 + 4) and casts it back to 16 bits for the LM head GEMM (4 + 2): 14.
# Counted from the code path, not measured.
UNFUSED_CROSS_ENTROPY = "cross_entropy.unfused"
UNFUSED_CE_FORWARD_BYTES = 38.0
UNFUSED_CE_BACKWARD_BYTES = 14.0


def is_flash_backward(op: Op) -> bool:
    """A FlashAttention backward kernel (runs at FLASH_BACKWARD_RELATIVE_EFFICIENCY of the forward's rate)."""
    return op.kind == "attention" and op.name.endswith(".bwd") and not op.name.endswith(UNFUSED + ".bwd")
# a permutation's backward is the inverse permutation: the same bytes (unpermute's backward gathers
# the token gradients to the routed rows, permute's scatter-adds them back)
PERMUTATIONS = ("moe.permute", "moe.unpermute")


def backward_ops(op: Op) -> list[Op]:
    """The operators the backward pass runs for one forward operator."""
    if op.kind in ("gemm", "grouped_gemm") and op.gemm_mnk is not None:
        m, n, k = op.gemm_mnk
        dgrad = replace(op, name=op.name + ".dgrad", gemm_mnk=(m, k, n))
        wgrad = replace(op, name=op.name + ".wgrad", gemm_mnk=(k, n, m))
        return [dgrad, wgrad]
    if op.kind == "attention" and op.name.endswith(UNFUSED):
        # the stored softmax P gives dV = P^T dO and dP = dO V^T, the softmax backward gives dS, then
        # dQ = dS K and dK = dS^T Q: four matmuls, nothing recomputed (2x the forward's two), and the
        # score-sized tensors read and written as in the forward (backward of each unfused kernel)
        return [replace(op, name=op.name + ".bwd", flops=UNFUSED_BACKWARD_FLOP_RATIO * op.flops,
                        act_bytes=2.0 * op.act_bytes, cache_bytes=2.0 * op.cache_bytes)]
    if op.kind == "attention":
        return [replace(op, name=op.name + ".bwd", flops=FLASH_BACKWARD_FLOP_RATIO * op.flops,
                        act_bytes=2.0 * op.act_bytes, cache_bytes=2.0 * op.cache_bytes)]
    if op.name == UNFUSED_CROSS_ENTROPY:
        return [replace(op, name=op.name + ".bwd", act_bytes=op.act_bytes * UNFUSED_CE_BACKWARD_BYTES
                        / UNFUSED_CE_FORWARD_BYTES)]
    if op.kind == "collective" or op.name in PERMUTATIONS:
        return [replace(op, name=op.name + ".bwd")]
    return [replace(op, name=op.name + ".bwd", flops=2.0 * op.flops, act_bytes=2.0 * op.act_bytes,
                    weight_bytes=op.weight_bytes, cache_bytes=2.0 * op.cache_bytes)]
