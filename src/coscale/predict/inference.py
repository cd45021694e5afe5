"""Inference prediction: time to first token, time per output token, throughput, memory, energy.

Semantics (stated in the CLI output too):
- `batch` is the number of sequences one model instance holds concurrently (continuous batching);
  GPUs beyond one instance run independent replicas.
- TTFT is the prefill of the whole batch of prompts (a batch arriving at once; `ttft_single_s`
  is one prompt on an idle instance); TPOT is one decode step of the batch at the mean decode
  context (input + output/2).
- Throughput is steady-state output tokens/s of the whole system: every sequence costs its share
  of chunked prefill plus `output_len` decode steps shared with the rest of the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.energy import gpu_energy_j
from coscale.cost.inference_memory import PREFILL_CHUNK_TOKENS, InferenceMemory, inference_memory
from coscale.cost.phase import PassCost, pass_cost
from coscale.cost.roofline import collective_time
from coscale.errors import CoscaleError
from coscale.predict.layout_check import check_layout
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass, Phase
from coscale.workload.ops import Collective

GiB = 2**30


@dataclass(frozen=True, kw_only=True, slots=True)
class InferenceScenario:
    model: ModelSpec
    system: System
    parallel: Parallelism
    precision: PrecisionRecipe
    request: InferenceRequest
    batch: int | None = None  # None: the largest batch that fits, up to max_batch
    max_batch: int = 256
    efficiency: EfficiencyModel = field(default_factory=EfficiencyModel)


@dataclass(frozen=True, kw_only=True, slots=True)
class PhaseTiming:
    """One pipeline traversal of a phase: `cost` is the per-GPU op list over all layers."""

    cost: PassCost
    time_s: float  # wall time of the phase step, pipeline included
    pipeline_s: float  # stage-to-stage transfers


@dataclass(frozen=True, kw_only=True, slots=True)
class InferencePrediction:
    scenario: InferenceScenario
    batch: int
    ttft_s: float
    ttft_single_s: float  # prefill of one prompt alone (an idle server)
    tpot_s: float
    throughput_tok_s: float
    memory: InferenceMemory
    prefill: PhaseTiming
    decode: PhaseTiming
    energy_j_per_token: float
    notes: tuple[str, ...]


def predict_inference(s: InferenceScenario) -> InferencePrediction:
    check_layout(s.model, s.parallel)
    _check_context(s)
    hw = s.system.hardware
    gemm_cls = resolve_compute_class(hw, s.precision.activations.compute_class)
    classes = (gemm_cls.used, _attention_class(s), resolve_compute_class(hw, "bf16").used)
    notes = [n for n in (gemm_cls.note,) if n]
    notes += _format_notes(s)
    batch = _choose_batch(s)
    memory = _memory(s, batch)
    req, pp = s.request, s.parallel.pp

    def traverse(phase: Phase, seqs: int, new: int, ctx: int) -> PhaseTiming:
        """`seqs` sequences through every pipeline stage once (ops cover all layers of one GPU column)."""
        fp = _forward_pass(s, phase, seqs, new, ctx, classes)
        cost = pass_cost(forward_ops(s.model, fp), s.system, s.efficiency)
        hop = _pipeline_hop_s(s, fp.tokens) * (pp - 1)
        return PhaseTiming(cost=cost, time_s=cost.time_s + hop, pipeline_s=hop)

    def pipelined(phase: Phase, seqs: int, new: int, ctx: int) -> PhaseTiming:
        """All `seqs` sequences split into up to `pp` micro-batches that fill the pipeline:
        (micro-batches + pp - 1) stage times."""
        micro = max(math.ceil(seqs / pp), 1)
        one = traverse(phase, micro, new, ctx)
        stages = math.ceil(seqs / micro) + pp - 1
        return PhaseTiming(cost=one.cost, time_s=stages * one.cost.time_s / pp + one.pipeline_s,
                           pipeline_s=one.pipeline_s)

    seqs = max(math.ceil(batch / s.parallel.attention_dp), 1)  # the busiest attention-DP group
    prefill = pipelined("prefill", seqs, req.input_len, 0)
    # decode keeps pp micro-batches in flight, so one step of every sequence is one traversal of a
    # micro-batch; it runs at the mean context of the generation
    decode_ctx = req.input_len + (req.output_len - 1) // 2
    decode = traverse("decode", max(math.ceil(seqs / pp), 1), 1, decode_ctx)
    chunk_seqs = max(min(seqs, PREFILL_CHUNK_TOKENS // req.input_len), 1)
    chunk = traverse("prefill", chunk_seqs, req.input_len, 0)
    single = traverse("prefill", 1, req.input_len, 0)
    # steady state: each sequence costs its share of (pipelined) prefill chunks plus output_len - 1
    # decode steps shared with the rest of the batch (prefill emits the first token)
    prefill_busy = seqs / chunk_seqs / pp  # chunk traversals per GPU, pipelined over pp stages
    decode_steps = req.output_len - 1
    lifetime = prefill_busy * chunk.cost.time_s + decode_steps * decode.time_s
    throughput = s.parallel.replicas * batch * req.output_len / lifetime
    energy = (gpu_energy_j(hw, prefill_busy * chunk.cost.time_s, prefill_busy * chunk.cost.compute_s,
                           prefill_busy * chunk.cost.memory_s)
              + decode_steps * gpu_energy_j(hw, decode.time_s, decode.cost.compute_s, decode.cost.memory_s))
    energy_per_token = energy * s.parallel.instance_gpus / (batch * req.output_len)
    return InferencePrediction(
        scenario=s, batch=batch, ttft_s=prefill.time_s, ttft_single_s=single.time_s, tpot_s=decode.time_s,
        throughput_tok_s=throughput, memory=memory, prefill=prefill, decode=decode,
        energy_j_per_token=energy_per_token, notes=tuple(notes))


def _check_context(s: InferenceScenario) -> None:
    limit = s.model.max_position_embeddings
    total = s.request.input_len + s.request.output_len
    if limit and total > limit:
        raise CoscaleError(
            f"--input-len + --output-len = {total} exceeds the {limit}-token context of {s.model.name} "
            f"(max_position_embeddings); use at most {limit} tokens in all.")


def _forward_pass(s: InferenceScenario, phase: Phase, seqs: int, new: int, ctx: int,
                  classes: tuple[str, str, str]) -> ForwardPass:
    r, par = s.precision, s.parallel
    gemm_cls, attn_cls, head_cls = classes
    return ForwardPass(phase=phase, seqs=seqs, new_tokens=new, context=ctx, tp=par.tp, ep=par.ep,
                       attention_dp=par.attention_dp, weights=r.weights, activations=r.activations,
                       kv_cache=r.kv_cache, gemm_class=gemm_cls, attention_class=attn_cls, head_class=head_cls)


def _attention_class(s: InferenceScenario) -> str:
    """FP8 attention (FA3 / TRT-LLM FP8 FMHA) when both activations and KV cache are 8-bit floats."""
    hw = s.system.hardware
    wants_fp8 = s.precision.kv_cache.compute_class == "fp8" and s.precision.activations.compute_class in ("fp8", "fp4")
    return resolve_compute_class(hw, "fp8" if wants_fp8 else "bf16").used


def _format_notes(s: InferenceScenario) -> list[str]:
    hw, r = s.system.hardware, s.precision
    if r.weight_only:
        return [f"weight-only {r.weights.name.upper()}: weights are dequantised to {r.activations.name.upper()} "
                f"inside the GEMM; only weight bytes shrink"]
    fmt = r.activations
    if fmt.name.startswith(("mx", "nv")) and fmt.name not in hw.block_scaled_formats:
        return [f"{hw.name} has no native {fmt.name.upper()} block scaling: block scales are applied in software "
                f"around the GEMMs (no speed-up counted for them)"]
    return []


def _pipeline_hop_s(s: InferenceScenario, tokens: int) -> float:
    if s.parallel.pp == 1:
        return 0.0
    # a stage boundary crosses the scale-up domain once the instance spans more GPUs than it holds
    hop = Collective(kind="p2p", bytes=tokens * s.model.hidden_size * OUTPUT_BYTES, group=s.parallel.instance_gpus)
    return collective_time(hop, s.system, s.efficiency)


def _memory(s: InferenceScenario, batch: int) -> InferenceMemory:
    req = s.request
    return inference_memory(s.model, s.parallel, s.precision, batch, req.input_len + req.output_len,
                            req.input_len, s.system.hardware.memory_bytes)


def _choose_batch(s: InferenceScenario) -> int:
    capacity = s.system.hardware.memory_bytes
    one = _memory(s, 1)
    if one.total > capacity:
        raise CoscaleError(
            f"{s.model.name} does not fit on {s.system.hardware.name} at any batch: one sequence needs "
            f"{one.total / GiB:.1f} GiB per GPU (weights {one.weights / GiB:.1f} GiB) of {capacity / GiB:.1f} GiB; "
            f"use more --tp/--pp/--ep GPUs or a smaller --precision.")
    if s.batch is not None:
        needed = _memory(s, s.batch).total
        if needed > capacity:
            fits = _largest_fitting(s, s.batch)
            raise CoscaleError(
                f"batch {s.batch} needs {needed / GiB:.1f} GiB per GPU, more than the {capacity / GiB:.1f} GiB "
                f"of {s.system.hardware.name}; the largest batch that fits is {fits} (or use --batch auto).")
        return s.batch
    return _largest_fitting(s, s.max_batch)


def _largest_fitting(s: InferenceScenario, upper: int) -> int:
    lo, hi = 1, upper  # invariant: lo fits
    capacity = s.system.hardware.memory_bytes
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _memory(s, mid).total <= capacity:
            lo = mid
        else:
            hi = mid - 1
    return lo
