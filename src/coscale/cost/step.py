"""The step contract: `step_cost(plan, shape) -> StepCost`.

One engine step is one forward pass of the current batch — decode sequences and prefill chunks
together — through every pipeline stage. GEMMs see all the step's tokens at once (the weights are
read once); attention and the Mamba scan are costed per token group. `predict inference`, the
training planner, the serving simulator, the explorer and the report all price work through this
call (or through `StepCostTable`, which tabulates it), so a cost is derived in exactly one place.

Shapes may be arrays (`StepShape.uniform` with array arguments): every field of the result is
then an array with one element per step, from the same formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.cost.energy import gpu_energy_j
from coscale.cost.phase import PassCost, pass_cost
from coscale.cost.plan import ExecutionPlan
from coscale.cost.roofline import BOUNDS, OpCost, collective_time
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import OUTPUT_BYTES
from coscale.workload.ops import Collective
from coscale.workload.shape import Array, StepShape

# which provenance entries of the efficiency model explain an operator kind's time
_EFFICIENCY_SOURCES = {
    "gemm": ("gemm_peak.{cls}", "gemm_tile", "memory_gemm", "min_kernel_s"),
    "grouped_gemm": ("gemm_peak.{cls}", "gemm_tile", "memory_gemm", "min_kernel_s"),
    "attention": ("attention_peak.{cls}", "attention_ramp_keys", "memory_stream", "min_kernel_s"),
    "ssm": ("attention_peak.{cls}", "vector_peak", "memory_stream", "min_kernel_s"),
    "elementwise": ("vector_peak", "memory_stream", "min_kernel_s"),
    "embedding": ("memory_stream", "min_kernel_s"),
    "collective": ("collective_half_bytes", "all_to_all_peak"),
}


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class StepCost:
    """Cost of one step of one model instance (arrays over a sweep of shapes).

    `cost` lists the operators of every layer on one GPU column of the instance (one GPU per
    pipeline stage); `time_s` is the step's latency through all stages, hops included."""

    plan: ExecutionPlan
    shape: StepShape
    cost: PassCost
    pipeline_s: Array  # stage-to-stage activation transfers, all hops

    @property
    def time_s(self) -> Array:
        return self.cost.time_s + self.pipeline_s

    @property
    def energy_j(self) -> Array:
        """Energy of the GPUs running the step (the instance; one DP rank's with attention-DP + EP) over it
        (linear utilisation power model)."""
        hw = self.plan.system.hardware
        return gpu_energy_j(hw, self.time_s, self.cost.compute_s, self.cost.memory_s) * \
            self.plan.parallel.pass_gpus

    @property
    def time_by_bound(self) -> dict[str, Array]:
        """Seconds of the step spent in operators bound by each resource (pipeline hops: network)."""
        by = dict(zip(BOUNDS, self.cost.time_by_bound_arrays(), strict=True))
        by["network"] = by["network"] + self.pipeline_s
        return by

    @property
    def bound(self) -> str:
        """The resource that binds most of a single step's time."""
        by = {k: float(v) for k, v in self.time_by_bound.items()}
        return max(by, key=by.__getitem__)

    def breakdown(self) -> list[dict[str, object]]:
        """Per operator of a single step: work, time, bound, efficiency used and where it comes from."""
        return [operator_row(c, self.plan) for c in self.cost.ops if float(c.total_s) > 0]


def operator_row(c: OpCost, plan: ExecutionPlan) -> dict[str, object]:
    op = c.op
    eff = plan.efficiency
    paths = [k.format(cls=op.compute_class) for k in _EFFICIENCY_SOURCES.get(op.kind, ())]
    sources = [f"{p}: {src}" for p in paths if (src := eff.source(p)) is not None]
    return {"name": op.name, "kind": op.kind, "layer": op.layer, "phase": op.phase, "count": op.count,
            "flops": float(op.flops) * op.count, "bytes": float(op.total_bytes) * op.count,
            "time_s": float(c.total_s), "bound": c.bound, "compute_class": op.compute_class,
            "compute_efficiency": float(c.compute_efficiency), "memory_efficiency": float(c.memory_efficiency),
            "efficiency_source": "; ".join(sources)}


def step_cost(plan: ExecutionPlan, shape: StepShape) -> StepCost:
    """Exact cost of `shape` (one heterogeneous step, or an array of uniform steps) under `plan`."""
    fp = plan.forward_pass(shape)
    cost = pass_cost(forward_ops(plan.model, fp), plan.system, plan.efficiency)
    return StepCost(plan=plan, shape=shape, cost=cost, pipeline_s=pipeline_hops_s(plan, fp.tokens))


def pipeline_hops_s(plan: ExecutionPlan, tokens: Array) -> Array:
    """The pp - 1 stage-to-stage activation transfers of `tokens` tokens. A stage boundary crosses
    the scale-up domain once the instance spans more GPUs than it holds."""
    par = plan.parallel
    if par.pp == 1:
        return np.zeros_like(np.asarray(tokens, dtype=np.float64))
    hop = Collective(kind="p2p", bytes=tokens * plan.model.hidden_size * OUTPUT_BYTES, group=par.instance_gpus)
    return collective_time(hop, plan.system.link_for(hop.group), plan.efficiency) * (par.pp - 1)
