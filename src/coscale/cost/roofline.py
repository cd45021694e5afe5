"""Time of one operator on one GPU: roofline with efficiencies, or the collective model."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.cost.efficiency import EfficiencyModel
from coscale.specs.hardware import Link, System
from coscale.workload.ops import VECTOR, Collective, Op

Bound = str  # "compute" | "memory" | "network" | "latency"


@dataclass(frozen=True, kw_only=True, slots=True)
class OpCost:
    op: Op
    time_s: float  # one instance
    compute_s: float
    memory_s: float
    network_s: float
    bound: Bound
    compute_efficiency: float
    memory_efficiency: float

    @property
    def total_s(self) -> float:
        return self.time_s * self.op.count


def op_cost(op: Op, system: System, eff: EfficiencyModel) -> OpCost:
    if op.collective is not None:
        link = system.link_for(op.collective.group)
        t = collective_time(op.collective, link, eff)
        latency_bound = link.latency_s > t / 2
        return OpCost(op=op, time_s=t, compute_s=0.0, memory_s=0.0, network_s=t,
                      bound="latency" if latency_bound else "network", compute_efficiency=0.0,
                      memory_efficiency=0.0)
    hw = system.hardware
    c_eff = _compute_efficiency(op, eff, hw.compute_units)
    rate = _peak_rate(hw.peak_flops, op.compute_class) * c_eff
    compute_s = op.flops / rate if op.flops else 0.0
    m_eff = eff.memory_gemm if op.kind in ("gemm", "grouped_gemm") else eff.memory_stream
    memory_s = op.total_bytes / (hw.memory_bw_Bps * m_eff)
    t = max(compute_s, memory_s, eff.min_kernel_s)
    if t == eff.min_kernel_s and max(compute_s, memory_s) < eff.min_kernel_s:
        bound = "latency"
    else:
        bound = "compute" if compute_s >= memory_s else "memory"
    return OpCost(op=op, time_s=t, compute_s=compute_s, memory_s=memory_s, network_s=0.0, bound=bound,
                  compute_efficiency=c_eff, memory_efficiency=m_eff)


def _peak_rate(peaks: dict[str, float], compute_class: str) -> float:
    if compute_class == VECTOR:
        return peaks.get("fp32") or peaks.get("bf16", 0.0) / 8
    return peaks[compute_class]


def _compute_efficiency(op: Op, eff: EfficiencyModel, compute_units: int) -> float:
    if op.kind in ("gemm", "grouped_gemm") and op.gemm_mnk:
        m, n, k = op.gemm_mnk
        units = compute_units // op.groups if op.groups > 1 and compute_units else compute_units
        return eff.gemm_compute(op.compute_class, m, n, k, max(units, 1) if compute_units else 0)
    if op.kind == "attention":
        return eff.attention_compute(op.compute_class, op.attn_len)
    if op.compute_class == VECTOR:
        return eff.vector_peak
    return eff.attention_compute(op.compute_class, 4096.0)  # SSD chunk matmuls: long-sequence regime


def collective_time(c: Collective, link: Link | System, eff: EfficiencyModel) -> float:
    """Ring/pairwise algorithms on one link: bytes on the wire over its bandwidth, plus its latency.

    Pass the `Link` the group runs on (`System.link_for(group)` picks scale-up or scale-out).
    """
    if isinstance(link, System):  # compat: remove once callers pass a Link
        link = link.link_for(c.group)
    n = c.group
    if n <= 1 or c.bytes <= 0:
        return 0.0
    bw = link.bandwidth_Bps
    if c.kind == "all_reduce":
        wire = 2.0 * (n - 1) / n * c.bytes
    elif c.kind in ("all_gather", "reduce_scatter", "all_to_all"):
        wire = (n - 1) / n * c.bytes
    else:  # p2p
        wire = c.bytes
    link_eff = eff.collective_bandwidth(c.bytes)
    if c.kind == "all_to_all":
        link_eff *= eff.all_to_all_peak
    return link.latency_s + wire / (bw * link_eff)
