"""What the fused attention kernel of a training pass does beyond the calibrated FLOP rate.

Two effects the project's attention curve (calibrated on head-dimension-128 causal attention) does
not see, both from how FlashAttention-style kernels (FA3/FA4, cuDNN fused attention) are built:

1. Sliding windows are computed in whole key tiles. A query tile of `QUERY_TILE` rows under a
   w-key window touches the keys from its first row's window start to its last row's position:
   w + QUERY_TILE - 1 keys, all multiplied, the ones outside the window masked afterwards. A
   128-key window (gpt-oss) therefore costs about twice its nominal FLOPs; full causal attention
   over thousands of keys loses only its diagonal tile, which the calibration already holds.

2. Per score element the kernel also does work outside the tensor cores at the 16-per-clock-per-SM
   rate of the special-function and conversion paths (CUDA C++ Programming Guide, 'Arithmetic
   Instructions' throughput table, sm_90 and sm_100: exponential and 32-bit float conversions):
   the forward one exponential and the 16-bit conversion of P for the PV GEMM (two per packed
   instruction: 0.5); the backward the recomputed exponential and the conversions of P and dS (1.5
   issue slots, counted from the FlashAttention-2 algorithm, Dao 2023). Warp-specialised kernels
   (FA3/FA4, cuDNN) overlap this with the tensor work, so a pass runs at the slower of the two.
   Tensor FLOPs per score element: 4 x head_dim forward (QK^T, PV), 10 x head_dim backward.
   Dense BF16 tensor FLOPs per clock per SM: Hopper 4096 (H100 SXM: 989.4 TFLOP/s = 132 SMs x 1.83
   GHz x 4096), Blackwell 8192 (twice Hopper per SM). The calibrated curve holds head dim 128, so
   only the change from there is applied: at head dim 64 the Blackwell forward and backward and
   the Hopper forward run into the special-function limit (slowdown 2.0 / 1.6 / 1.5 per FLOP); at
   128 and above nothing changes (wider heads would leave the limit, but no speed-up over the
   calibration is claimed: its other losses stay).

Checked, not fitted, against NVIDIA's cudnn-frontend training SDPA benchmark on GB200
(benchmark/sdpa_benchmark_training, gpt_oss config: head dim 64, BF16, causal with a sliding window,
batch 2, S=8192; TFLOP/s counted over the window, backward as 2.5x the forward FLOPs), on the
Blackwell attention curve (peak 0.75, 256-key ramp) with the backward factor of `train.backward`:
window 1024 (cuDNN 9.19, results/gb200_919_only_cudnn) forward 609 measured / 682 modelled (+12 %),
backward 646 / 597 (-8 %); window 128 (cuDNN 9.22, results/gpt_oss/gb200) forward 165 / 235
(+42 %), backward 187 / 205 (+10 %). The curve alone gives 1370 / 960 and 550 / 385.
"""

from __future__ import annotations

from dataclasses import replace

from coscale.workload.ops import Op

QUERY_TILE = 128  # query rows per tile of FlashAttention-2/3 and cuDNN's SDPA kernels (block M)
CALIBRATED_HEAD_DIM = 128  # the head dimension of every attention measurement behind attention_peak
SPECIAL_OPS_PER_CLOCK = 16.0  # exponentials / 32-bit conversions per clock per SM (sm_90, sm_100)
# tensor FLOPs per score element per head dimension, and special-function issue slots per score
# element, for the forward and the backward kernel (module docstring)
TENSOR_FLOPS_PER_SCORE_PER_DIM = {"forward": 4.0, "backward": 10.0}
SPECIAL_OPS_PER_SCORE = {"forward": 1.5, "backward": 2.0}
# dense BF16 tensor FLOPs per clock per SM; families not listed have no such limit in the model
TENSOR_FLOPS_PER_CLOCK = {"nvidia-hopper": 4096.0, "nvidia-blackwell": 8192.0}


def windowed_tiles(op: Op, window: int | None, seq_len: int) -> Op:
    """A sliding-window attention operator with the keys its kernel actually multiplies: the window
    plus one query tile (unchanged when the window covers the sequence)."""
    if op.kind != "attention" or not window or window >= seq_len or op.attn_len <= 0:
        return op
    keys = min(float(op.attn_len) + QUERY_TILE - 1.0, float(seq_len))
    scale = keys / float(op.attn_len)
    return replace(op, flops=op.flops * scale, attn_len=keys)


def special_function_slowdown(head_dim: int, family: str, direction: str) -> float:
    """Attention time of one pass ('forward' or 'backward') relative to the head-dim-128 calibration
    at the same FLOPs: the kernel runs at the slower of its tensor and special-function work."""
    tensor_rate = TENSOR_FLOPS_PER_CLOCK.get(family)
    if tensor_rate is None or head_dim <= 0:
        return 1.0
    per_dim, special = TENSOR_FLOPS_PER_SCORE_PER_DIM[direction], SPECIAL_OPS_PER_SCORE[direction]

    def clocks_per_flop(d: float) -> float:
        flops = per_dim * d
        return max(flops / tensor_rate, special / SPECIAL_OPS_PER_CLOCK) / flops

    # only a slowdown: wider heads leave the limit, but the calibration's other losses stay
    return max(clocks_per_flop(float(head_dim)) / clocks_per_flop(float(CALIBRATED_HEAD_DIM)), 1.0)
