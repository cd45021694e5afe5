"""Host (CPU) time to issue a training pass's kernels, and the part of it the GPU waits for.

Megatron-Core and Transformer Engine run training eagerly: Python modules, the autograd engine and
TE's C++ extensions issue every kernel from the host. Normally the host runs ahead of the GPU and
this time is hidden. A dropless MoE layer breaks that: `TEGroupedMLP` turns the per-expert token
counts into a host list (`tokens_per_expert.tolist()`, because TE's GroupedLinear takes its
`m_splits` as Python integers) and the all-to-all dispatcher sizes its exchange from host-side
split counts, so the host waits for the GPU once per MoE layer and the GPU then waits for the host
to issue the layer's kernels (Megatron-LM PR #3496: "The AlltoAll dispatcher and GroupedGEMM rely
on CPU-resident tensors for token-expert assignments ... host synchronizations"; NVIDIA's
"Boosting MoE Training Throughput with Advanced Fusion Kernels" (2026) names CPU boundedness as one
of the three MoE-block bottlenecks that sync-free kernels remove). TE's GroupedLinear issues one
GEMM (and, in FP8/MXFP8/FP4 recipes, one quantize) per local expert, so the host work of a layer
grows with the experts a GPU holds while their GEMMs shrink: fine-grained experts (128 experts of
width 768, 16 per GPU) become host-bound at small micro-batches.

Model: a synchronising (MoE) layer pass costs its device work plus its host issue time. The sync
drains the GPU's queue, and the layer's kernels form a dependent chain (route -> count -> permute ->
all-to-all -> per-expert quantize and GEMMs -> all-to-all -> unpermute) that the host feeds one
launch at a time, so host issue and device work serialise. This is the upper bound; the lower
bound, max(host, device), leaves the four Blackwell Qwen3 rows of the Megatron-Bridge 25.11 table
(B200 and GB200, micro-batch 1 and 4) 43-117 % too fast with the same constants, the serial form
2-23 % too fast: the choice of form is checked against that family, no constant is fitted to it.
Elsewhere the host runs ahead of the GPU and only the excess of a pass's host time over its device
time shows (never, for the dense validation cases).
"""

from __future__ import annotations

import numpy as np

from coscale.workload.ops import Op

# Host time to issue one kernel from eager Megatron-Core / Transformer Engine (Python module or
# autograd node, TE C++ dispatch, cuBLASLt / cuDNN plan look-up, launch). ASSUMPTION: bare PyTorch
# CUDA launches cost ~5-10 us of host time; Megatron/TE modules add Python and quantizer
# bookkeeping per call. No host-side measurement has been sourced for the published runs.
HOST_S_PER_LAUNCH = 20e-6

# Small kernels per MoE layer and pass besides those in the operator list: router softmax/top-k,
# routing map and probability normalisation, auxiliary load-balancing and z-losses, the token
# count for the split sizes and its device-to-host copy, permute / chunk sort / unpermute index
# kernels, per-expert padding for FP8 alignment (Megatron-Core moe_utils / token_dispatcher code
# paths). ASSUMPTION: a count from the code paths, not a profile.
MOE_ROUTING_LAUNCHES = 30.0


def launches(op: Op) -> float:
    """Kernels the host issues for one operator (all `count` instances): one per group for the
    per-expert GEMMs and quantizes of a grouped operator, one otherwise."""
    return float(np.asarray(op.groups)) * op.count


def host_issue_s(ops: list[Op]) -> float:
    """Host time to issue `ops` (collectives included: each is a NCCL kernel launch)."""
    return HOST_S_PER_LAUNCH * sum(launches(op) for op in ops)


def synchronises_host(ops: list[Op]) -> bool:
    """A dropless MoE layer (grouped expert GEMMs) waits for its per-expert token counts on the host."""
    return any(op.kind == "grouped_gemm" for op in ops)


def moe_routing_host_s() -> float:
    """Host time of the routing and permutation kernels of one MoE layer pass."""
    return HOST_S_PER_LAUNCH * MOE_ROUTING_LAUNCHES
