"""`predict inference` over numpy arrays: one plan, a million (batch, input, output) configurations.

The same formulas as the scalar prediction (`coscale.predict.phases` and `.capacity`), evaluated
once on arrays, with the same semantics: the largest batch that fits when `batch` is None (auto),
the memory fit of a given batch, the model's context limit, and the bound of each phase.
Infeasible configurations are kept, marked with a reason code, and carry NaN metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.cost.plan import ExecutionPlan
from coscale.cost.roofline import BOUNDS
from coscale.predict.capacity import largest_fitting_batch, serving_memory
from coscale.predict.phases import inference_phases
from coscale.workload.shape import Array

REASONS = ("ok", "model_does_not_fit", "batch_does_not_fit", "context_too_long")
OK, MODEL_DOES_NOT_FIT, BATCH_DOES_NOT_FIT, CONTEXT_TOO_LONG = range(len(REASONS))
METRICS = ("ttft_s", "ttft_single_s", "tpot_s", "throughput_tok_s", "memory_per_gpu_bytes", "energy_j_per_token")


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class InferenceSweep:
    """One element per configuration. `reason` indexes `REASONS`; bounds index `BOUNDS`."""

    plan: ExecutionPlan
    input_len: Array
    output_len: Array
    batch: Array
    reason: Array
    ttft_s: Array
    ttft_single_s: Array
    tpot_s: Array
    throughput_tok_s: Array
    memory_per_gpu_bytes: Array
    energy_j_per_token: Array
    prefill_bound: Array
    decode_bound: Array

    @property
    def feasible(self) -> Array:
        return self.reason == OK

    def __len__(self) -> int:
        return int(self.reason.size)

    def columns(self) -> dict[str, Array]:
        """Flat columns (names as in `predict inference --json`), for a table, Arrow or Parquet."""
        cols: dict[str, Array] = {"input_len": self.input_len, "output_len": self.output_len, "batch": self.batch,
                                  "feasible": self.feasible, "reason": np.asarray(REASONS)[self.reason]}
        cols.update({m: getattr(self, m) for m in METRICS})
        cols["prefill_bound"] = np.asarray(BOUNDS)[self.prefill_bound]
        cols["decode_bound"] = np.asarray(BOUNDS)[self.decode_bound]
        return cols


def predict_inference_sweep(plan: ExecutionPlan, input_len: Array, output_len: Array, batch: Array | None = None,
                            max_batch: Array = 256) -> InferenceSweep:
    """Predict every (input_len, output_len, batch) element (broadcast together) under `plan`.
    `batch=None` is `--batch auto`: the largest batch up to `max_batch` that fits in memory."""
    isl, osl = (np.asarray(x, dtype=np.float64) for x in (input_len, output_len))
    wanted = None if batch is None else np.asarray(batch, dtype=np.float64)
    isl, osl, upper = np.broadcast_arrays(isl, osl, np.asarray(max_batch if wanted is None else wanted, dtype=float))
    capacity = plan.system.hardware.memory.hbm.capacity_bytes
    reason = np.full(isl.shape, OK)
    limit = plan.model.max_position_embeddings
    if limit:
        reason = np.where(isl + osl > limit, CONTEXT_TOO_LONG, reason)
    reason = np.where(serving_memory(plan, 1, isl, osl).total > capacity, MODEL_DOES_NOT_FIT, reason)
    if wanted is None:
        chosen = largest_fitting_batch(plan, isl, osl, upper)
    else:
        chosen = upper
        too_big = serving_memory(plan, chosen, isl, osl).total > capacity
        reason = np.where((reason == OK) & too_big, BATCH_DOES_NOT_FIT, reason)
    ph = inference_phases(plan, chosen, isl, osl)
    memory = serving_memory(plan, chosen, isl, osl).total
    ok = reason == OK

    def masked(values: Array) -> Array:
        return np.where(ok, np.broadcast_to(values, isl.shape), np.nan)

    return InferenceSweep(
        plan=plan, input_len=isl, output_len=osl, batch=chosen, reason=reason, ttft_s=masked(ph.ttft_s),
        ttft_single_s=masked(ph.ttft_single_s), tpot_s=masked(ph.tpot_s),
        throughput_tok_s=masked(ph.throughput_tok_s), memory_per_gpu_bytes=masked(memory),
        energy_j_per_token=masked(ph.energy_j_per_token),
        prefill_bound=np.broadcast_to(ph.prefill.cost.bound_code, isl.shape),
        decode_bound=np.broadcast_to(ph.decode.cost.bound_code, isl.shape))
