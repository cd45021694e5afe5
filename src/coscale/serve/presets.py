"""Engine presets: scheduler policy, KV memory rule, block size, batch limits and per-step host
overhead of vLLM, SGLang and TensorRT-LLM, each constant with its source and engine version."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.serve.scheduler import Policy, Victim

GiB = 2**30


@dataclass(frozen=True, kw_only=True, slots=True)
class EnginePreset:
    name: str
    version: str
    policy: Policy
    victim: Victim
    reserve_full: bool
    block_size: int
    # KV pool rule: "vllm" = fraction x capacity - weights - activation peak - non-torch memory;
    # "sglang" = fraction x capacity - weights; "trtllm" = fraction x (capacity - weights - activations - runtime)
    memory_rule: str
    host_overhead_s: float
    sources: tuple[str, ...]
    chunked_prefill: bool = True  # False: a prompt is prefilled whole in one step (vLLM V0 default)

    def memory_fraction(self, tp: int) -> float:
        if self.name == "sglang":  # sglang server_args.py: mem_fraction_static by TP size (v0.4.x)
            return 0.79 if tp >= 16 else 0.81 if tp >= 8 else 0.85 if tp >= 4 else 0.87 if tp >= 2 else 0.88
        return 0.9

    def batch_limits(self, gpu_memory_bytes: float, gpu_name: str) -> tuple[int, int]:
        """(max_num_seqs, max_batched_tokens) the engine picks by default for a server."""
        if self.name == "vllm":  # vllm/engine/arg_utils.py get_batch_defaults, OPENAI_API_SERVER (PR #17885)
            big = gpu_memory_bytes >= 70 * GiB and "a100" not in gpu_name.lower()
            return (1024, 8192) if big else (256, 2048)
        if self.name == "vllm-v0":  # vllm 0.2-0.5 config.py: max_num_seqs 256, max_num_batched_tokens =
            # max(max_model_len, 2048) without chunked prefill; max_model_len 16,384 assumed (the served
            # context: the Azure 2023 traces' longest request is 14,089 tokens)
            return 256, 16384
        if self.name == "sglang":  # server_args.py: chunked_prefill_size 2048 below 25 GB, else 8192
            return 4096, (2048 if gpu_memory_bytes < 25e9 else 8192)
        return 2048, 8192  # TensorRT-LLM BuildConfig / trtllm-serve: max_batch_size 2048, max_num_tokens 8192


PRESETS = {
    p.name: p for p in (
        EnginePreset(
            name="vllm", version="0.9-0.19 (V1 engine)", policy="decode_first", victim="newest", reserve_full=False,
            block_size=16, memory_rule="vllm",
            # V0-era profile: a 4 ms GPU bubble per decode step from scheduling, input preparation
            # and output processing (vLLM RFC #6854, 2024); V1 overlaps part of it (assumption:
            # the same figure is kept until a V1 measurement is sourced)
            host_overhead_s=4e-3,
            sources=("vllm/engine/arg_utils.py get_batch_defaults (PR #17885)",
                     "vLLM docs: block_size 16, gpu_memory_utilization 0.9, V1 preempts the newest request",
                     "vllm-project/vllm RFC #6854 (multi-step scheduling): ~4 ms GPU bubble per decode step")),
        EnginePreset(
            name="vllm-v0", version="0.2-0.5 (V0 engine, the baseline of DistServe, Splitwise and Mooncake)",
            policy="prefill_first", victim="newest", reserve_full=False, block_size=16, memory_rule="vllm",
            chunked_prefill=False,
            host_overhead_s=4e-3,  # vLLM RFC #6854: ~4 ms GPU bubble per decode step, measured on V0
            sources=("vllm 0.2-0.5 core/scheduler.py: waiting prompts are prefilled whole in a prefill-only step "
                     "before running decodes continue; preemption recomputes the latest-arrived request",
                     "vllm 0.2-0.5 config.py: max_num_seqs 256, max_num_batched_tokens = max(max_model_len, 2048)",
                     "vllm-project/vllm RFC #6854 (multi-step scheduling): ~4 ms GPU bubble per decode step")),
        EnginePreset(
            name="sglang", version="0.4.x", policy="prefill_first", victim="fewest_output", reserve_full=False,
            block_size=1, memory_rule="sglang",
            host_overhead_s=1e-3,  # assumption: SGLang's overlap scheduler hides most CPU work (no measurement sourced)
            sources=("sglang/srt/server_args.py: mem_fraction_static by TP, chunked_prefill_size, page_size 1",
                     "sglang scheduler: new prefill batches run before decode; retract_decode order")),
        EnginePreset(
            name="trtllm", version="0.x-1.0 (C++ executor / PyTorch backend)", policy="decode_first", victim="newest",
            reserve_full=True, block_size=32, memory_rule="trtllm", chunked_prefill=False,
            host_overhead_s=1e-3,  # assumption: C++ in-flight batching runtime (no measurement sourced)
            sources=("TensorRT-LLM KvCacheConfig: free_gpu_memory_fraction 0.9, tokens_per_block 32",
                     "TensorRT-LLM LLM API / trtllm-serve: enable_chunked_prefill False (a context runs whole in "
                     "one iteration; trtllm-bench throughput turns chunking on by default)",
                     "TensorRT-LLM BuildConfig: max_batch_size 2048, max_num_tokens 8192",
                     "TensorRT-LLM CapacitySchedulerPolicy.GUARANTEED_NO_EVICT (default)")),
    )
}


def get_preset(name: str) -> EnginePreset:
    if name not in PRESETS:
        raise CoscaleError(f"unknown engine '{name}'; use one of {', '.join(PRESETS)}.")
    return PRESETS[name]
