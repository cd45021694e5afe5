"""Prefill, decode and steady state of a fixed-shape workload, from step costs.

The formulas behind `predict inference`, written once over numbers or numpy arrays: the scalar
prediction calls them with one configuration, `predict_inference_sweep` with a million.

- TTFT is the prefill of the whole batch of prompts (pipelined over `pp` stages in micro-batches);
  `ttft_single` is one prompt on an idle instance.
- TPOT is one decode step of the batch at the mean decode context (input + (output - 1) / 2);
  with pp > 1, pp micro-batches are in flight, so a step of every sequence is one traversal of a
  micro-batch.
- Throughput is the steady state of the whole system: each sequence costs its share of chunked,
  pipelined prefill plus output_len - 1 decode steps shared with the rest of the batch (prefill
  emits the first token).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.cost.energy import gpu_energy_j
from coscale.cost.inference_memory import PREFILL_CHUNK_TOKENS
from coscale.cost.plan import ExecutionPlan
from coscale.cost.step import StepCost, step_cost
from coscale.workload.shape import Array, StepShape


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class InferencePhases:
    prefill: StepCost  # one micro-batch of prompts through every stage
    decode: StepCost  # one decode step of a micro-batch at the mean context
    chunk: StepCost  # one prefill chunk of PREFILL_CHUNK_TOKENS (steady-state prefill work)
    single: StepCost  # one prompt alone
    ttft_s: Array
    ttft_single_s: Array
    tpot_s: Array
    throughput_tok_s: Array  # output tokens/s of the whole system
    energy_j_per_token: Array


def attention_dp_prefill_sync(prompts: Array, input_len: Array, decode_steps: Array, ranks: int) -> Array:
    """How much longer the prefill of one attention-DP rank holds the whole group than the rank alone.

    The MoE all-to-all makes every step as slow as its most loaded rank, so a step in which any of the
    `ranks` ranks prefills costs a prefill. In steady state a rank admits a request when one finishes,
    so its prefill comes one prompt (in chunks of at most PREFILL_CHUNK_TOKENS) at a time: a share
    q = prompts x chunks per prompt / decode_steps of its steps carries one (capped at 1). With ranks
    scheduling their own requests independently (assumption), a share 1 - (1 - q)^ranks of the group's
    steps carries one: (1 - (1 - q)^ranks) / q times the rank's own prefill time (the expected maximum
    over ranks of Bernoulli(q) busy indicators). 1 for one rank or q = 1; up to `ranks` for rare prefills."""
    if ranks <= 1:
        return np.ones_like(np.asarray(prompts, dtype=np.float64))[()]
    chunks = np.ceil(np.asarray(input_len, dtype=np.float64) / PREFILL_CHUNK_TOKENS)
    steps = np.maximum(np.asarray(decode_steps, dtype=np.float64), 1.0)
    q = np.clip(np.asarray(prompts, dtype=np.float64) * chunks / steps, 1e-12, 1.0)
    return ((1.0 - (1.0 - q) ** ranks) / q)[()]


def inference_phases(plan: ExecutionPlan, batch: Array, input_len: Array, output_len: Array) -> InferencePhases:
    par = plan.parallel
    pp = par.pp
    seqs = np.maximum(np.ceil(np.asarray(batch, dtype=np.float64) / par.attention_dp), 1.0)  # busiest DP rank
    micro = np.maximum(np.ceil(seqs / pp), 1.0)
    prefill = step_cost(plan, StepShape.uniform(prefill_seqs=micro, prefill_new=input_len))
    stages = np.ceil(seqs / micro) + pp - 1
    ttft = stages * prefill.cost.time_s / pp + prefill.pipeline_s
    decode_ctx = input_len + (np.asarray(output_len) - 1) // 2
    decode = step_cost(plan, StepShape.uniform(decode_seqs=micro, decode_context=decode_ctx))
    chunk_seqs = np.maximum(np.minimum(seqs, PREFILL_CHUNK_TOKENS // np.asarray(input_len)), 1.0)
    chunk = step_cost(plan, StepShape.uniform(prefill_seqs=chunk_seqs, prefill_new=input_len))
    single = step_cost(plan, StepShape.uniform(prefill_seqs=1, prefill_new=input_len))
    prefill_busy = seqs / chunk_seqs / pp  # chunk traversals per GPU, pipelined over pp stages
    decode_steps = np.asarray(output_len) - 1
    sync = attention_dp_prefill_sync(seqs / pp, input_len, decode_steps, par.attention_dp)
    lifetime = prefill_busy * sync * chunk.cost.time_s + decode_steps * decode.time_s
    throughput = par.replicas * batch * output_len / lifetime
    hw = plan.system.hardware
    energy = (gpu_energy_j(hw, prefill_busy * chunk.cost.time_s, prefill_busy * chunk.cost.compute_s,
                           prefill_busy * chunk.cost.memory_s)
              + decode_steps * gpu_energy_j(hw, decode.time_s, decode.cost.compute_s, decode.cost.memory_s))
    energy_per_token = energy * par.instance_gpus / (batch * np.asarray(output_len))
    return InferencePhases(prefill=prefill, decode=decode, chunk=chunk, single=single, ttft_s=ttft,
                           ttft_single_s=single.time_s, tpot_s=decode.time_s, throughput_tok_s=throughput,
                           energy_j_per_token=energy_per_token)
