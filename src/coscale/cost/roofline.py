"""Time of one operator on one GPU: roofline with efficiencies, or the collective model.

Operator sizes may be floats or numpy arrays (a sweep of step shapes); every formula below is
written once with numpy so that both evaluate identically. An operator with no work costs 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.cost.compute_class import resolve_compute_class
from coscale.cost.curves import attention_efficiency, collective_link_fraction, gemm_efficiency
from coscale.cost.efficiency import EfficiencyModel
from coscale.specs.hardware import HardwareSpec, Link, System
from coscale.workload.ops import VECTOR, Collective, Op
from coscale.workload.shape import Array

BOUNDS = ("compute", "memory", "network", "latency")  # index = bound code
COMPUTE, MEMORY, NETWORK, LATENCY = range(4)
Bound = str  # one of BOUNDS


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class OpCost:
    op: Op
    time_s: Array  # one instance
    compute_s: Array
    memory_s: Array
    network_s: Array
    bound_code: Array  # index into BOUNDS
    compute_efficiency: Array
    memory_efficiency: float

    @property
    def total_s(self) -> Array:
        return self.time_s * self.op.count

    @property
    def bound(self) -> Bound:
        """The binding resource (for a single step; sweeps read `bound_code`)."""
        return BOUNDS[int(self.bound_code)]


def op_cost(op: Op, system: System, eff: EfficiencyModel) -> OpCost:
    if op.collective is not None:
        link = system.link_for(op.collective.group)
        t = collective_time(op.collective, link, eff)
        code = np.where(link.latency_s > t / 2, LATENCY, NETWORK)
        zero = np.zeros_like(t)[()]
        return OpCost(op=op, time_s=t, compute_s=zero, memory_s=zero, network_s=t, bound_code=code[()],
                      compute_efficiency=zero, memory_efficiency=0.0)
    hw = system.hardware
    rate = _peak_rate(hw, op.compute_class)
    c_eff = _compute_efficiency(op, eff, hw.compute.compute_units, rate)
    flops = np.asarray(op.flops, dtype=np.float64)
    compute_s = np.divide(flops, rate * c_eff, out=np.zeros_like(flops * c_eff), where=flops > 0)
    m_eff = eff.memory_gemm if op.kind in ("gemm", "grouped_gemm") else eff.memory_stream
    memory_s = np.asarray(op.total_bytes / (hw.memory.hbm.bandwidth_Bps * m_eff), dtype=np.float64)
    t, code = kernel_time(compute_s, memory_s, eff.min_kernel_s)
    return OpCost(op=op, time_s=t[()], compute_s=compute_s[()], memory_s=memory_s[()],
                  network_s=np.zeros_like(t)[()], bound_code=code[()], compute_efficiency=np.asarray(c_eff)[()],
                  memory_efficiency=m_eff)


def kernel_time(compute_s: Array, memory_s: Array, min_kernel_s: float) -> tuple[Array, Array]:
    """(time, bound code) of a kernel: the slower of compute and memory, never under the per-kernel
    floor; a kernel with no work is not launched (0 s)."""
    work = np.maximum(compute_s, memory_s)
    t = np.where(work > 0, np.maximum(work, min_kernel_s), 0.0)
    code = np.where(work < min_kernel_s, LATENCY, np.where(compute_s >= memory_s, COMPUTE, MEMORY))
    return t, code


# A chip that publishes no FP32 rate runs element-wise ops on its 16-bit units; the non-tensor
# (vector) rate is taken as 1/8 of the 16-bit tensor rate (assumption: H100 SXM has 67 TFLOP/s
# FP32 vs 495 dense BF16, ~1/7.4).
VECTOR_FRACTION_OF_16BIT = 1.0 / 8.0


def _peak_rate(hw: HardwareSpec, compute_class: str) -> float:
    """The rate an op of `compute_class` runs at: the class itself, or the fallback class a chip
    without those units computes in (`resolve_compute_class`), never 0 for a chip with any rate."""
    c = hw.compute
    if compute_class == VECTOR:
        return c.peak("fp32") or VECTOR_FRACTION_OF_16BIT * (c.peak("bf16") or c.peak("fp16") or c.peak("tf32")
                                                             or max(rate for _, rate in c.rates()))
    if c.supports(compute_class):
        return c.peak(compute_class)
    return c.peak(resolve_compute_class(hw, compute_class).used)


def _compute_efficiency(op: Op, eff: EfficiencyModel, compute_units: int, rate: float) -> Array:
    if op.kind in ("gemm", "grouped_gemm") and op.gemm_mnk:
        m, n, k = op.gemm_mnk
        units = np.floor(compute_units / np.asarray(op.groups, dtype=np.float64))
        units = np.maximum(units, 1.0) if compute_units else 0.0
        unit_rate = rate / compute_units if compute_units else 0.0  # one SM / CU of the whole chip
        return gemm_efficiency(eff, op.compute_class, np.asarray(m, dtype=np.float64), n, k, units, unit_rate)
    if op.kind == "attention":
        return attention_efficiency(eff, op.compute_class, np.asarray(op.attn_len, dtype=np.float64))
    if op.compute_class == VECTOR:
        return np.float64(eff.vector_peak)
    return attention_efficiency(eff, op.compute_class, np.float64(4096.0))  # SSD chunk matmuls: long sequences


def collective_time(c: Collective, link: Link, eff: EfficiencyModel) -> Array:
    """Ring/pairwise algorithms on one link: bytes on the wire over its bandwidth, plus its latency;
    a collective with nothing to send costs nothing.

    Pass the `Link` the group runs on (`System.link_for(group)` picks scale-up or scale-out).
    """
    n, size = c.group, c.bytes
    if n <= 1:
        return size * 0.0
    if c.kind == "all_reduce":
        wire = 2.0 * (n - 1) / n * size
    elif c.kind in ("all_gather", "reduce_scatter", "all_to_all"):
        wire = (n - 1) / n * size
    else:  # p2p
        wire = size
    link_eff = collective_link_fraction(eff, size) if c.backend == "nccl" else 1.0
    if c.kind == "all_to_all":
        link_eff = link_eff * eff.all_to_all_peak
    if not isinstance(size, np.ndarray):  # plain numbers (the planner's inner loop): no array round trip
        return link.latency_s + wire / (link.bandwidth_Bps * link_eff) if size > 0 else 0.0
    safe = np.where(size > 0, link_eff, 1.0)
    return np.where(size > 0, link.latency_s + wire / (link.bandwidth_Bps * safe), 0.0)
