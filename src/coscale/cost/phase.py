"""Cost of a whole forward pass: per-op costs, their sum, and which resource binds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import BOUNDS, OpCost, op_cost
from coscale.specs.hardware import System
from coscale.workload.ops import Op
from coscale.workload.shape import Array

BOUND_REASONS = {
    "compute": "tensor-core FLOP/s (large GEMMs / attention)",
    "memory": "HBM bandwidth (weight and KV-cache streaming)",
    "network": "interconnect bandwidth (TP/EP collectives)",
    "latency": "fixed per-kernel and per-collective latency (work too small to fill the GPU)",
}


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class PassCost:
    """Costs of one pass's operators; every total is a float, or an array over a sweep of steps."""

    ops: tuple[OpCost, ...]

    @property
    def time_s(self) -> Array:
        return sum((c.total_s for c in self.ops), np.float64(0.0))

    @property
    def compute_s(self) -> Array:
        return sum((c.compute_s * c.op.count for c in self.ops), np.float64(0.0))

    @property
    def memory_s(self) -> Array:
        return sum((c.memory_s * c.op.count for c in self.ops), np.float64(0.0))

    @property
    def flops(self) -> Array:
        return sum((np.asarray(c.op.flops) * c.op.count for c in self.ops), np.float64(0.0))

    def time_by_bound_arrays(self) -> tuple[Array, ...]:
        """Time spent in ops bound by each resource, aligned with `BOUNDS`."""
        return tuple(sum((np.where(c.bound_code == code, c.total_s, 0.0) for c in self.ops), np.float64(0.0))
                     for code in range(len(BOUNDS)))

    def time_by_bound(self) -> dict[str, float]:
        """Single step: seconds per binding resource (only resources that bind some op)."""
        shares: dict[str, float] = {}
        for c in self.ops:
            if float(c.total_s) > 0:
                shares[c.bound] = shares.get(c.bound, 0.0) + float(c.total_s)
        return shares

    @property
    def bound_code(self) -> Array:
        return np.argmax(np.stack(self.time_by_bound_arrays()), axis=0)

    @property
    def bound(self) -> str:
        by = self.time_by_bound()
        return max(by, key=by.__getitem__) if by else "latency"


def pass_cost(ops: list[Op], system: System, eff: EfficiencyModel) -> PassCost:
    return PassCost(ops=tuple(op_cost(op, system, eff) for op in ops))
