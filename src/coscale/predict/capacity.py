"""Serving memory against capacity: the largest batch that fits, over numbers or arrays."""

from __future__ import annotations

import numpy as np

from coscale.cost.inference_memory import InferenceMemory
from coscale.cost.plan import ExecutionPlan
from coscale.workload.shape import Array


def serving_memory(plan: ExecutionPlan, batch: Array, input_len: Array, output_len: Array) -> InferenceMemory:
    """Memory per GPU holding `batch` sequences of input_len + output_len tokens."""
    return plan.memory.memory(batch, np.asarray(input_len) + output_len, input_len)


def largest_fitting_batch(plan: ExecutionPlan, input_len: Array, output_len: Array, upper: Array) -> Array:
    """Largest batch in [1, upper] whose memory fits (1 where even one sequence does not: check
    `serving_memory(plan, 1, ...)` for that). Bisection on every element at once; memory grows
    with the batch, so this is the scalar binary search run element-wise."""
    capacity = plan.system.hardware.memory.hbm.capacity_bytes
    lo = np.ones(np.broadcast(input_len, output_len, upper).shape)
    hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), lo.shape).copy()
    while np.any(lo < hi):
        mid = np.floor((lo + hi + 1) / 2)
        fits = serving_memory(plan, mid, input_len, output_len).total <= capacity
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid - 1)
    return lo
