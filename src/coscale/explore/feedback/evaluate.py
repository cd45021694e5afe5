"""A workload (one entry or a weighted mix) predicted on one chip: the objective and what binds.

Every number comes from `predict_inference_sweep` (the array form of `predict inference`) and
`coscale.explore.objectives.objective_values`; the binding resource is read from the same phase
step costs (`coscale.predict.phases.inference_phases`), as GPU time per request split by the bound
of each operator. Inputs may be arrays of input/output lengths (one entry), so a scan over the
input/output ratio is one call per chip.

Mix aggregation (stated, not fitted): throughput per GPU is total output tokens over total GPU time
(a token-weighted harmonic mean); per-token costs and energies are token-weighted means; latencies
and per-user speeds are request-weighted means; memory headroom is the smallest of the entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from coscale.cost.inference_memory import PREFILL_CHUNK_TOKENS
from coscale.cost.plan import ExecutionPlan, build_plan
from coscale.cost.roofline import BOUNDS
from coscale.errors import CoscaleError
from coscale.explore.feedback.workload import WorkloadEntry
from coscale.explore.objectives import get_objective, objective_values
from coscale.predict.phases import inference_phases
from coscale.predict.sweep import REASONS, predict_inference_sweep
from coscale.specs.hardware import HardwareSpec, System
from coscale.workload.shape import Array

TOKEN_WEIGHTED = frozenset({"cost_per_mtok", "joules_per_token"})


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class EntryResult:
    """One entry on one chip; arrays when the lengths were arrays."""

    entry: WorkloadEntry
    value: Array  # the objective (NaN where infeasible)
    batch: Array
    throughput_tok_s: Array
    ttft_s: Array
    tpot_s: Array
    reason: Array  # index into coscale.predict.sweep.REASONS
    prefill_bound: Array  # codes into BOUNDS
    decode_bound: Array
    gpu_s_by_bound: Array  # shape (len(BOUNDS), ...): GPU-seconds per request spent in ops of each bound


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Evaluation:
    objective: str
    value: float
    entries: tuple[EntryResult, ...]
    shares: tuple[float, ...]  # share of GPU time per request in each bound, aligned with BOUNDS

    @property
    def bound(self) -> str:
        return BOUNDS[int(np.argmax(self.shares))]

    @property
    def feasible(self) -> bool:
        return bool(np.isfinite(self.value))


def entry_plan(hw: HardwareSpec, entry: WorkloadEntry) -> ExecutionPlan:
    par = entry.parallel
    return build_plan(entry.model, System(hardware=hw, num_gpus=par.gpus), par, entry.precision)


def choose_batch(plan: ExecutionPlan, entry: WorkloadEntry, isl: Array, osl: Array) -> Array:
    """The batch each element runs at, by the entry's rule (given, rate-limited, or largest that fits)."""
    if entry.batch is not None:
        return np.broadcast_to(np.float64(entry.batch), np.broadcast(isl, osl).shape)
    auto = predict_inference_sweep(plan, isl, osl, None, entry.max_batch).batch
    if entry.rate is None or np.ndim(isl) or np.ndim(osl):
        return auto
    batches = np.arange(1.0, entry.max_batch + 1.0)
    sweep = predict_inference_sweep(plan, isl, osl, batches)
    serves = sweep.feasible & (sweep.throughput_tok_s >= entry.rate * float(osl))
    return np.float64(batches[np.argmax(serves)]) if serves.any() else auto


def evaluate_entry(hw: HardwareSpec, entry: WorkloadEntry, objective: str, usd_per_gpu_hour: float | None,
                   input_len: Array | None = None, output_len: Array | None = None) -> EntryResult:
    plan = entry_plan(hw, entry)
    isl = np.asarray(entry.input_len if input_len is None else input_len, dtype=np.float64)
    osl = np.asarray(entry.output_len if output_len is None else output_len, dtype=np.float64)
    batch = choose_batch(plan, entry, isl, osl)
    sweep = predict_inference_sweep(plan, isl, osl, batch)
    value = objective_values(sweep, objective, usd_per_gpu_hour)
    return EntryResult(entry=entry, value=value[()], batch=sweep.batch[()],
                       throughput_tok_s=sweep.throughput_tok_s[()], ttft_s=sweep.ttft_s[()],
                       tpot_s=sweep.tpot_s[()], reason=sweep.reason[()], prefill_bound=sweep.prefill_bound[()],
                       decode_bound=sweep.decode_bound[()],
                       gpu_s_by_bound=_gpu_seconds_by_bound(plan, sweep.batch, isl, osl))


def _gpu_seconds_by_bound(plan: ExecutionPlan, batch: Array, isl: Array, osl: Array) -> Array:
    prefill, decode = phase_gpu_seconds_by_bound(plan, batch, isl, osl)
    return prefill + decode


def phase_gpu_seconds_by_bound(plan: ExecutionPlan, batch: Array, isl: Array, osl: Array) -> tuple[Array, Array]:
    """GPU time per request by bound, (prefill, decode): its share of a prefill chunk and its
    output_len - 1 decode steps, split as in `inference_phases` (a chunk of up to PREFILL_CHUNK_TOKENS
    tokens; one decode step of a micro-batch). Each has shape (len(BOUNDS), ...)."""
    par = plan.parallel
    ph = inference_phases(plan, batch, isl, osl)
    seqs = np.maximum(np.ceil(np.asarray(batch) / par.attention_dp), 1.0)
    micro = np.maximum(np.ceil(seqs / par.pp), 1.0)
    chunk_seqs = np.maximum(np.minimum(seqs, PREFILL_CHUNK_TOKENS // isl), 1.0)
    prefill = np.stack(np.broadcast_arrays(*ph.chunk.cost.time_by_bound_arrays())) / chunk_seqs
    decode = np.stack(np.broadcast_arrays(*ph.decode.cost.time_by_bound_arrays())) * (osl - 1) / micro
    return prefill * par.instance_gpus, decode * par.instance_gpus


def pin_batches(hw: HardwareSpec, entries: Sequence[WorkloadEntry]) -> tuple[WorkloadEntry, ...]:
    """Entries with the batch of a rate rule resolved once on `hw`, so every variant is compared at the
    concurrency the base chip needs for that rate (assumption: a faster chip then finishes the same
    requests sooner; re-resolving per variant would make gains jump with the integer batch). Given
    batches stay; 'auto' (largest that fits) is re-resolved per variant, so capacity can pay."""
    out = []
    for e in entries:
        if e.batch is None and e.rate is not None:
            plan = entry_plan(hw, e)
            b = float(choose_batch(plan, e, np.float64(e.input_len), np.float64(e.output_len)))
            e = replace(e, batch=int(b))
        out.append(e)
    return tuple(out)


def evaluate(hw: HardwareSpec, entries: Sequence[WorkloadEntry], objective: str,
             usd_per_gpu_hour: float | None) -> Evaluation:
    """The whole workload on `hw` (scalar lengths): the mix-aggregated objective and bound shares."""
    get_objective(objective)
    results = tuple(evaluate_entry(hw, e, objective, usd_per_gpu_hour) for e in entries)
    return Evaluation(objective=objective, value=aggregate(objective, results), entries=results,
                      shares=_shares(results))


def aggregate(objective: str, results: Sequence[EntryResult]) -> float:
    w = np.array([r.entry.weight for r in results])
    x = np.array([float(r.value) for r in results])
    tokens = w * np.array([r.entry.output_len for r in results])
    if objective == "throughput_per_gpu":
        return float(tokens.sum() / (tokens / x).sum())
    if objective in TOKEN_WEIGHTED:
        return float((tokens * x).sum() / tokens.sum())
    if objective == "memory_headroom":
        return float(x.min())
    return float((w * x).sum() / w.sum())


def _shares(results: Sequence[EntryResult]) -> tuple[float, ...]:
    total = sum(r.entry.weight * np.nan_to_num(np.asarray(r.gpu_s_by_bound, dtype=float)) for r in results)
    s = float(np.sum(total))
    return tuple(float(v) / s if s > 0 else 0.0 for v in total)


def require_feasible(ev: Evaluation, chip: str) -> None:
    """A base design the workload cannot run on has no elasticities: say which entry and why."""
    for r in ev.entries:
        if not np.isfinite(r.value):
            why = REASONS[int(r.reason)]
            raise CoscaleError(
                f"workload entry '{r.entry.name}' cannot run on {chip} ({why.replace('_', ' ')}); "
                f"use more GPUs (tp/ep/gpus), a smaller precision, a smaller batch or shorter lengths.")
