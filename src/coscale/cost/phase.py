"""Cost of a whole forward pass: per-op costs, their sum, and which resource binds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import OpCost, op_cost
from coscale.specs.hardware import System
from coscale.workload.ops import Op

BOUND_REASONS = {
    "compute": "tensor-core FLOP/s (large GEMMs / attention)",
    "memory": "HBM bandwidth (weight and KV-cache streaming)",
    "network": "interconnect bandwidth (TP/EP collectives)",
    "latency": "fixed per-kernel and per-collective latency (work too small to fill the GPU)",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class PassCost:
    ops: tuple[OpCost, ...]

    @property
    def time_s(self) -> float:
        return sum(c.total_s for c in self.ops)

    @property
    def compute_s(self) -> float:
        return sum(c.compute_s * c.op.count for c in self.ops)

    @property
    def memory_s(self) -> float:
        return sum(c.memory_s * c.op.count for c in self.ops)

    @property
    def flops(self) -> float:
        return sum(c.op.flops * c.op.count for c in self.ops)

    def time_by_bound(self) -> dict[str, float]:
        shares: dict[str, float] = defaultdict(float)
        for c in self.ops:
            shares[c.bound] += c.total_s
        return dict(shares)

    @property
    def bound(self) -> str:
        by = self.time_by_bound()
        return max(by, key=by.__getitem__) if by else "latency"


def pass_cost(ops: list[Op], system: System, eff: EfficiencyModel) -> PassCost:
    return PassCost(ops=tuple(op_cost(op, system, eff) for op in ops))
