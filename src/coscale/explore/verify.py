"""Check a proposed design independently of the numbers that proposed it.

`verify_design` recomputes, from the specs, what an explorer row or an agent's design claims:

- layout: the shared layout rules (`layout_violations`);
- memory fit: the serving memory at the design's batch and full context, from the memory model,
  within the chip's capacity; and the weights on the busiest GPU are at least an even share of
  all weights (a lower bound counted from the parameter count, not from the memory model);
- KV conservation: the memory model's KV bytes of one sequence equal a recount over the model's
  attention layers (K and V heads x head dims, MLA latent, sliding windows capped) x the KV
  format's bytes, and one GPU of the layout holds between 1/(tp x pp) of it and all of it;
- roofline: no operator of the prefill or decode pass runs faster than the chip's peak rate for
  its compute class or than HBM bandwidth allows for its bytes;
- FLOP conservation: a one-GPU prefill of T tokens does at least 2 x (active non-embedding
  parameters) x T FLOPs and at most 2 x active x T plus full (non-causal) attention and an SSM
  allowance;
- claims: metrics a caller states (ttft_s, tpot_s, throughput_tok_s, memory_per_gpu_bytes)
  equal a fresh prediction of the design (relative tolerance 1e-6);
- replay (`replay=True`, off by default: it costs a step table and a simulation, ~0.1-1 s): the
  design runs through the request-level serving simulator (`coscale.serve`, vLLM preset) as a
  closed loop of `batch` clients per model instance (`max_num_seqs = batch`), fixed lengths
  `input_len` / `output_len`, `REPLAY_REQUESTS` requests (at least 10 batches), seed 0. The
  simulated output throughput must equal the analytic one within `REPLAY_TOL`, and the simulated
  mean TPOT must lie in [analytic TPOT, analytic lifetime / (output_len - 1)] widened by
  `REPLAY_TOL` on both sides: the analytic TPOT is a pure decode step, while in the simulator the
  prefill chunks of requests that restart interleave with other requests' decode steps, so a
  request's TPOT can grow up to the whole per-token lifetime (prefill work spread over the decode
  steps), which the analytic throughput already counts. The tolerance covers ramp-up and drain (the
  first and last batch are not at full concurrency), the step table's interpolation (~1 %) and
  chunks split at the token budget; the engine's per-step host overhead is set to 0 in the replay
  because the analytic model has none (with it, TPOT would only grow by that constant). Designs
  the replay cannot compare are reported as not replayed and do not fail the check: pp > 1, whose
  stage overlap the simulator leaves out (measured 16 % below the analytic throughput for
  Llama-3.1-70B TP4 PP2), and ep > 1, whose attention-DP ranks the simulator steps in lock-step as
  the analytic model does, but whose fixed-length closed loop keeps the ranks' prefills aligned
  where the analytic model takes them independent (`predict.phases.attention_dp_prefill_sync`):
  Qwen3-30B-A3B EP8 FP8 on H100 at batch 64 replayed +37.5 % above the analytic throughput with the
  decode step equal (6.462 vs 6.455 ms), EP2 at batch 16 +2.0 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from coscale.cost.inference_memory import ServingMemoryModel
from coscale.cost.plan import ExecutionPlan, build_plan
from coscale.cost.step import step_cost
from coscale.explore.evaluate import Evaluator
from coscale.explore.space import Design
from coscale.feasibility import layout_violations
from coscale.models.params import count_params
from coscale.predict.sweep import REASONS, predict_inference_sweep
from coscale.serve.capacity import kv_blocks
from coscale.serve.core_cost import CoreStepCost
from coscale.serve.metrics import Slo
from coscale.serve.presets import get_preset
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import AttentionSpec, Mamba2Spec, ModelSpec
from coscale.workload.forward_pass import EMBEDDING_BYTES
from coscale.workload.ops import VECTOR
from coscale.workload.shape import StepShape

REL = 1e-6  # relative tolerance of recomputed equalities (float summation order only)
NORM_SLACK = 1e-3  # the memory model leaves out norm vectors and biases' rounding (< 0.1 % of weights)
REPLAY_REQUESTS = 300  # requests of a replay; at least 10 batches are run when the batch is larger than 30
REPLAY_TOL = 0.10  # assumption: ramp-up/drain + table interpolation + chunk splitting stay within 10 % (see above)
REPLAY_ENGINE = "vllm"
CLAIMS = ("ttft_s", "tpot_s", "throughput_tok_s", "memory_per_gpu_bytes")


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    design: Design
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def reasons(self) -> tuple[str, ...]:
        """One line per failed check."""
        return tuple(f"{c.name}: {c.detail}" for c in self.checks if not c.passed)


def _kv_recount(model: ModelSpec, context: float, bytes_per_element: float) -> float:
    total = 0.0
    for layer in model.layers:
        a = layer.mixer
        if not isinstance(a, AttentionSpec):
            continue
        per_token = (a.mla.kv_lora_rank + a.mla.qk_rope_head_dim) if a.mla is not None else \
            a.num_kv_heads * a.head_dim + a.num_kv_heads * a.v_head_dim
        tokens = context if a.sliding_window is None else min(context, a.sliding_window)
        total += per_token * tokens
    return total * bytes_per_element


def _flop_bounds(model: ModelSpec, tokens: float) -> tuple[float, float]:
    counts = count_params(model)
    low = 2.0 * (counts.active - counts.embedding - counts.lm_head - counts.positions) * tokens
    high = 2.0 * counts.active * tokens + 2.0 * counts.lm_head * tokens
    for layer in model.layers:
        m = layer.mixer
        if isinstance(m, AttentionSpec):
            window = tokens if m.sliding_window is None else min(tokens, m.sliding_window)
            high += 2.0 * tokens * window * m.num_heads * (m.head_dim + m.v_head_dim)
        elif isinstance(m, Mamba2Spec):  # assumption: a generous bound on the scan's non-GEMM work
            high += 8.0 * tokens * m.d_inner * (m.d_state + m.chunk_size)
    high += 64.0 * model.hidden_size * tokens * len(model.layers)  # norms, activations, residuals (vector ops)
    return low, high


def roofline_violations(plan: ExecutionPlan, shape: StepShape, label: str) -> list[str]:
    hw = plan.system.hardware
    rates = dict(hw.compute.rates())
    fastest = max(rates.values())
    bad = []
    for c in step_cost(plan, shape).cost.ops:
        op = c.op
        if op.kind == "collective":
            continue
        t = float(np.max(np.asarray(c.time_s)))
        rate = fastest if op.compute_class == VECTOR else rates.get(op.compute_class, fastest)
        floor = max(float(np.max(np.asarray(op.flops))) / rate,
                    float(np.max(np.asarray(op.total_bytes))) / hw.memory.hbm.bandwidth_Bps)
        if t < floor * (1 - REL):
            bad.append(f"{label} {op.name} takes {t:.3g} s, below its roofline floor {floor:.3g} s")
    return bad


def replay_check(design: Design, plan: ExecutionPlan, *, input_len: int, output_len: int, batch: int) -> Check:
    """The serving-simulator replay of `design` at its batch against the analytic prediction."""
    if design.ep > 1 or design.pp > 1:
        return Check(name="replay", passed=True,
                     detail="not replayed: with ep > 1 the replay's equal clients keep the attention-DP ranks' "
                            "prefills aligned, while the analytic model takes them independent; the simulator "
                            "does not model the micro-batch overlap of pp > 1 stages yet")
    sweep = predict_inference_sweep(plan, input_len, output_len, batch)
    reason = REASONS[int(sweep.reason)]
    if reason != "ok":
        return Check(name="replay", passed=False, detail=f"no analytic prediction to compare: {reason}")
    hw = plan.system.hardware
    preset = get_preset(REPLAY_ENGINE)
    tokens = preset.batch_limits(hw.memory.hbm.capacity_bytes, hw.name)[1]
    dep = Deployment(model=design.model, hardware=design.hardware, gpus=design.total_gpus, tp=design.tp,
                     pp=design.pp, ep=design.ep, precision=design.precision, kv_precision=design.kv_precision,
                     engine=REPLAY_ENGINE, max_num_seqs=batch, max_batched_tokens=tokens, host_overhead_s=0.0)
    extra = batch if preset.policy != "decode_first" else 0
    built = build(dep, CoreStepCost(plan=plan, max_tokens=tokens + extra, max_seqs=batch + 1))
    if design.scales:  # build() loads the catalog chip; the KV pool must come from the scaled one
        budget = kv_blocks(built.model, built.parallel, built.precision, hw.memory.hbm.capacity_bytes, preset,
                           built.block_size, tokens, batch)
        built = replace(built, system=plan.system, budget=budget, num_blocks=budget.blocks)
    clients = batch * built.replicas
    work = WorkloadSpec(concurrency=clients, num_requests=max(REPLAY_REQUESTS, 10 * clients), input_len=input_len,
                        output_len=output_len, length_dist="fixed", seed=0)
    _, rep = run(dep, work, Slo(), built=built, overload=False)
    sim_tput = float(rep["throughput_tok_s"])
    sim_tpot = float(rep["tpot_s"]["mean"])  # type: ignore[index]
    tput = float(sweep.throughput_tok_s)
    tpot = float(sweep.tpot_s)
    ok = abs(sim_tput - tput) <= REPLAY_TOL * tput
    detail = f"throughput {sim_tput:.5g} tok/s simulated vs {tput:.5g} analytic ({sim_tput / tput - 1:+.1%})"
    if output_len > 1:
        ceiling = clients * output_len / tput / (output_len - 1)  # a sequence's lifetime per decode step
        ok = ok and tpot * (1 - REPLAY_TOL) <= sim_tpot <= ceiling * (1 + REPLAY_TOL)
        detail += f"; TPOT {sim_tpot:.4g} s simulated vs {tpot:.4g} s analytic decode step, " \
                  f"lifetime ceiling {ceiling:.4g} s"
    detail += f"; {rep['completed']} requests, {rep['preemptions']} preemptions, tolerance {REPLAY_TOL:.0%}"
    return Check(name="replay", passed=ok, detail=detail)


def verify_design(design: Design, *, input_len: int, output_len: int, batch: int,
                  claimed: Mapping[str, float] | None = None, evaluator: Evaluator | None = None,
                  replay: bool = False) -> Verdict:
    """Pass/fail with reasons for `design` serving `batch` sequences of `input_len` + `output_len`;
    `replay=True` adds the serving-simulator replay (see the module docstring)."""
    ev = evaluator if evaluator is not None else Evaluator()
    model = ev.model(design.model)
    hw = ev.chip(design.hardware, design.scales)
    recipe = ev.recipe(design.precision, design.kv_precision)
    gpus = design.total_gpus
    checks: list[Check] = []
    violations = layout_violations(model, tp=design.tp, pp=design.pp, ep=design.ep, gpus=gpus)
    checks.append(Check(name="layout", passed=not violations,
                        detail=violations[0].message if violations else "every layout rule holds"))
    if violations:
        return Verdict(design=design, checks=tuple(checks))
    par = Parallelism(gpus=gpus, tp=design.tp, pp=design.pp, ep=design.ep)
    capacity = hw.memory.hbm.capacity_bytes
    context = input_len + output_len
    mem_model = ServingMemoryModel.of(model, par, recipe, capacity)
    mem = mem_model.memory(batch, context, input_len)
    total = float(mem.total)
    checks.append(Check(name="memory_fit", passed=total <= capacity,
                        detail=f"{total / 2**30:.2f} GiB of {capacity / 2**30:.2f} GiB per GPU at batch {batch}"))
    counts = count_params(model)
    share = (counts.total - counts.embedding - counts.lm_head - counts.positions) * recipe.weights.bytes_per_element \
        + (counts.embedding + counts.lm_head + counts.positions) * EMBEDDING_BYTES
    even = share / par.instance_gpus
    checks.append(Check(name="weights_lower_bound", passed=mem.weights >= even * (1 - NORM_SLACK),
                        detail=f"busiest GPU holds {mem.weights:.4g} B of weights; an even share is {even:.4g} B"))
    kv_total = _kv_recount(model, context, recipe.kv_cache.bytes_per_element)
    single = float(ServingMemoryModel.of(model, Parallelism(), recipe, capacity).kv_bytes_per_sequence(context))
    per_gpu = float(mem_model.kv_bytes_per_sequence(context))
    kv_ok = abs(single - kv_total) <= REL * max(kv_total, 1.0) and \
        kv_total / (design.tp * design.pp) * (1 - REL) <= per_gpu <= kv_total * (1 + REL)
    checks.append(Check(name="kv_conservation", passed=kv_ok,
                        detail=f"recount {kv_total:.6g} B/sequence, memory model {single:.6g} B on one GPU, "
                               f"{per_gpu:.6g} B per GPU of this layout"))
    plan = build_plan(model, System(hardware=hw, num_gpus=gpus), par, recipe)
    seqs = max(int(np.ceil(batch / par.attention_dp)), 1)
    bad = roofline_violations(plan, StepShape.uniform(prefill_seqs=seqs, prefill_new=input_len), "prefill") + \
        roofline_violations(plan, StepShape.uniform(decode_seqs=seqs, decode_context=context - 1), "decode")
    checks.append(Check(name="roofline", passed=not bad,
                        detail=bad[0] if bad else "no operator beats peak compute or HBM bandwidth"))
    one = build_plan(model, System(hardware=hw, num_gpus=1), Parallelism(), recipe)
    flops = float(step_cost(one, StepShape.uniform(prefill_seqs=1, prefill_new=input_len)).cost.flops)
    low, high = _flop_bounds(model, input_len)
    checks.append(Check(name="flop_conservation", passed=low * (1 - REL) <= flops <= high,
                        detail=f"prefill of {input_len} tokens: {flops:.4g} FLOPs, bounds [{low:.4g}, {high:.4g}]"))
    if claimed:
        sweep = predict_inference_sweep(plan, input_len, output_len, batch)
        fresh = {"ttft_s": sweep.ttft_s, "tpot_s": sweep.tpot_s, "throughput_tok_s": sweep.throughput_tok_s,
                 "memory_per_gpu_bytes": sweep.memory_per_gpu_bytes}
        wrong = [f"{k} claimed {v:.6g}, recomputed {float(fresh[k]):.6g}" for k, v in claimed.items()
                 if k in fresh and not abs(v - float(fresh[k])) <= REL * abs(float(fresh[k]))]
        unknown = [k for k in claimed if k not in fresh]
        reason = REASONS[int(sweep.reason)]
        detail = wrong[0] if wrong else f"unknown claims {unknown}" if unknown else \
            f"prediction is infeasible ({reason})" if reason != "ok" else "every claim matches a fresh prediction"
        checks.append(Check(name="claims", passed=not wrong and not unknown and reason == "ok", detail=detail))
    if replay:
        checks.append(replay_check(design, plan, input_len=input_len, output_len=output_len, batch=batch))
    return Verdict(design=design, checks=tuple(checks))
