"""Mamba operators: Mamba-2 (SSD, chunked matmul form) and Mamba-1 (selective scan, Jamba).

A Mamba layer caches a constant-size state per sequence (conv window + SSM state), not a KV cache;
it is stored in the recipe's `ssm_state` format (BF16 in every recipe), whatever the KV-cache format.
"""

from __future__ import annotations

import math

from coscale.models.cache import ssm_state_elements
from coscale.specs.model import Mamba2Spec
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass, Phase
from coscale.workload.ops import VECTOR, Op
from coscale.workload.projections import gemm
from coscale.workload.shape import TokenGroup


def conv_channels(spec: Mamba2Spec) -> int:
    """Channels through the causal conv1d (Mamba-2 convolves x, B and C; Mamba-1 only x)."""
    if spec.version == 2:
        return spec.d_inner + 2 * spec.n_groups * spec.d_state
    return spec.d_inner


def mamba_ops(spec: Mamba2Spec, p: ForwardPass, layer: str, count: int, hidden: int) -> list[Op]:
    t = p.tokens
    d_inner = math.ceil(spec.d_inner / p.tp)
    groups_here = max(spec.n_groups // p.tp, 1)
    channels = math.ceil(conv_channels(spec) / p.tp)
    state_bytes = math.ceil(sum(ssm_state_elements(spec)) / p.tp) * p.ssm_state.bytes_per_element
    if spec.version == 2:
        heads = max(spec.num_heads // p.tp, 1)
        in_width = 2 * d_inner + 2 * groups_here * spec.d_state + heads
        ops = [gemm("mamba.in_proj", layer, count, p, t, in_width, hidden)]
    else:
        ops = [gemm("mamba.in_proj", layer, count, p, t, 2 * d_inner, hidden)]
    ops.append(Op(name="mamba.conv1d", kind="elementwise", layer=layer, count=count,
                  flops=2.0 * t * channels * spec.conv_kernel,
                  act_bytes=2.0 * t * channels * OUTPUT_BYTES))
    if spec.version == 1:
        ops.append(gemm("mamba.x_proj", layer, count, p, t, spec.dt_rank + 2 * spec.d_state, d_inner))
        ops.append(gemm("mamba.dt_proj", layer, count, p, t, d_inner, spec.dt_rank))
    ops += [_scan(spec, p, phase, g, layer, count, d_inner, groups_here, state_bytes) for phase, g in p.groups()]
    ops.append(gemm("mamba.out_proj", layer, count, p, t, hidden, d_inner))
    return ops


def _scan(spec: Mamba2Spec, p: ForwardPass, phase: Phase, g: TokenGroup, layer: str, count: int, d_inner: int,
          groups: int, state_bytes: float) -> Op:
    """The scan over one token group: a recurrent step per decode token, the SSD chunked form in prefill."""
    t = g.tokens
    n = spec.d_state
    if spec.version == 1:
        # selective scan: discretise, update and read out the state, ~9 FLOPs per (channel, state)
        # element and token (Gu & Dao 2023, Sec. 3.3); runs on vector units
        flops, cls = 9.0 * t * d_inner * n, VECTOR
    elif phase == "decode":
        # one recurrent step: h = exp(dt*A) h + dt B x (3 FLOPs/elem), y = C h (2 FLOPs/elem)
        flops, cls = 5.0 * t * d_inner * n, VECTOR
    else:
        # SSD chunked form (Dao & Gu 2024, Sec. 6): per token, causal intra-chunk C·B^T and its
        # product with X (chunk length Q, halved by the mask), plus chunk-state build and read-out
        flops = g.chunked_tokens(spec.chunk_size) * (n * groups + d_inner) + t * 4.0 * n * d_inner
        cls = p.attention_class
    io = t * (d_inner * 2 + 2 * groups * n) * OUTPUT_BYTES  # x, B, C in; y out
    cache = 2.0 * g.num_seqs * state_bytes  # read + write the recurrent state once per pass
    return Op(name="mamba.scan", kind="ssm", layer=layer, count=count, flops=flops, act_bytes=io,
              cache_bytes=cache, compute_class=cls, phase=phase)
