"""The operator record every cost model consumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OpKind = Literal["gemm", "grouped_gemm", "attention", "ssm", "elementwise", "embedding", "collective"]
CollectiveKind = Literal["all_reduce", "all_gather", "reduce_scatter", "all_to_all", "p2p"]
# who runs a collective: NCCL's ring / pairwise algorithms, whose achieved bandwidth ramps up with the
# message size; or DeepEP's MoE all-to-all kernels (SGLang's and vLLM's `deepep` backend), which reach
# their bandwidth from a few MB (DeepEP's measured tables: 7 MB low-latency to 155 MB normal batches,
# counted as DeepEP counts them)
CollectiveBackend = Literal["nccl", "deepep"]
COLLECTIVE_BACKENDS: tuple[CollectiveBackend, ...] = ("nccl", "deepep")
# DeepEP's kernels: `normal` (high-throughput: a token's rows deduplicated per destination rank, or per
# node across nodes) or `low_latency` (one row per token and expert); `auto` (SGLang's default) runs
# normal kernels in a step with prefill tokens and low-latency ones in a decode step
DeepEPMode = Literal["auto", "normal", "low_latency"]
DEEPEP_MODES: tuple[DeepEPMode, ...] = ("auto", "normal", "low_latency")
VECTOR = "vector"  # compute class of ops that run on CUDA cores / vector units, not tensor cores


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Collective:
    kind: CollectiveKind
    bytes: float  # message size per GPU (the buffer each rank contributes)
    group: int  # ranks taking part
    backend: CollectiveBackend = "nccl"


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Op:
    """One operator instance on one GPU for one forward pass; `count` identical instances run.

    FLOPs count a multiply-add as 2. Byte counts are what the op moves to/from device memory:
    weights (read once per instance), activations (inputs read + outputs written) and cache
    (KV cache or SSM state read + written). Sizes are floats, or numpy arrays when the pass is a
    sweep of step shapes (one element per step); an op with no work costs nothing.
    """

    name: str
    kind: OpKind
    layer: str  # layer kind that produced the op ("attention+mlp", "mamba2", "lm_head", ...)
    count: int
    flops: float = 0.0
    weight_bytes: float = 0.0
    act_bytes: float = 0.0
    cache_bytes: float = 0.0
    compute_class: str = VECTOR
    gemm_mnk: tuple[int, int, int] | None = None  # per-GPU GEMM shape (tokens, out, in) for efficiency
    groups: float = 1  # grouped GEMM: number of independent GEMMs (experts) sharing the launch
    attn_len: float = 0.0  # attention: keys per query (for the kernel efficiency ramp)
    collective: Collective | None = None
    phase: str = ""  # token group of a per-group op ("decode" / "prefill"); "" = every token of the step

    @property
    def total_bytes(self) -> float:
        return self.weight_bytes + self.act_bytes + self.cache_bytes
