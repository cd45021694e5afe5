"""Per-layer training costs of one micro-batch on one GPU, from the shared operator list.

Each forward op is costed with the project's roofline (`cost.roofline.op_cost`), its backward ops
(`train.backward`) likewise. Times are split by what can overlap with what: compute, TP
collectives (hidden behind the neighbouring GEMMs when TP overlap is on), EP all-to-all, and the
attention kernel (which hides the context-parallel ring exchange). Costs depend only on the
`ShardKey`, so the planner computes them once per (tp, cp, ep, micro-batch) and reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import op_cost
from coscale.specs.hardware import System
from coscale.specs.model import AttentionSpec, LayerSpec, ModelSpec
from coscale.train.attention_kernel import special_function_slowdown
from coscale.train.backward import FLASH_BACKWARD_RELATIVE_EFFICIENCY, UNFUSED, backward_ops, is_flash_backward
from coscale.train.host import host_issue_s, moe_routing_host_s, synchronises_host
from coscale.train.layout import TrainOptions
from coscale.train.passes import ShardKey, head_forward_ops, layer_forward_ops, training_pass
from coscale.train.precision import TrainingPrecision
from coscale.train.recompute_modules import recomputed_ops
from coscale.train.topology import GroupPlacement, collective_s
from coscale.workload.forward_pass import OUTPUT_BYTES
from coscale.workload.ops import Collective, Op


@dataclass(frozen=True, kw_only=True, slots=True)
class PassTimes:
    compute_s: float = 0.0  # GEMMs, attention, elementwise on the GPU
    attention_s: float = 0.0  # the attention kernels alone (part of compute_s)
    tp_comm_s: float = 0.0
    ep_comm_s: float = 0.0
    cp_comm_s: float = 0.0
    flops: float = 0.0
    host_s: float = 0.0  # host time to issue the kernels, where the host may run ahead of the GPU
    host_exposed_s: float = 0.0  # host time the GPU waits for (layers that synchronise the host)

    def __add__(self, other: PassTimes) -> PassTimes:
        return PassTimes(compute_s=self.compute_s + other.compute_s, attention_s=self.attention_s + other.attention_s,
                         tp_comm_s=self.tp_comm_s + other.tp_comm_s, ep_comm_s=self.ep_comm_s + other.ep_comm_s,
                         cp_comm_s=self.cp_comm_s + other.cp_comm_s, flops=self.flops + other.flops,
                         host_s=self.host_s + other.host_s, host_exposed_s=self.host_exposed_s + other.host_exposed_s)

    def scaled(self, k: float) -> PassTimes:
        return PassTimes(compute_s=self.compute_s * k, attention_s=self.attention_s * k, tp_comm_s=self.tp_comm_s * k,
                         ep_comm_s=self.ep_comm_s * k, cp_comm_s=self.cp_comm_s * k, flops=self.flops * k,
                         host_s=self.host_s * k, host_exposed_s=self.host_exposed_s * k)


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerCosts:
    forward: PassTimes
    backward: PassTimes
    attention_forward: PassTimes  # what selective recompute re-runs (the core attention)
    modules_forward: PassTimes = PassTimes()  # what TrainOptions.recompute_modules re-runs, core attention aside


def _times(ops: list[Op], system: System, eff: EfficiencyModel, groups: GroupPlacement,
           attention_slowdown: tuple[float, float] = (1.0, 1.0)) -> PassTimes:
    """Times of `ops`; fused attention kernels run `attention_slowdown` (forward, backward) times
    longer than the calibrated curve gives (`train.attention_kernel`: narrow heads)."""
    out = PassTimes(host_s=host_issue_s(ops))
    for op in ops:
        if op.collective is not None:
            t = float(collective_s(op.collective, groups, system, eff)) * op.count
            if op.collective.kind == "all_to_all":
                out = out + PassTimes(ep_comm_s=t)
            else:
                out = out + PassTimes(tp_comm_s=t)
            continue
        t = float(op_cost(op, system, eff).total_s)  # plain floats through the planner's hot loop
        if is_flash_backward(op):
            t *= attention_slowdown[1] / FLASH_BACKWARD_RELATIVE_EFFICIENCY
        elif op.kind == "attention" and not op.name.endswith(UNFUSED):
            t *= attention_slowdown[0]
        attn = t if op.kind == "attention" else 0.0
        out = out + PassTimes(compute_s=t, attention_s=attn, flops=float(op.flops) * op.count)
    return out


def _host_synchronised(t: PassTimes) -> PassTimes:
    """A layer pass that waits on the host (dropless MoE, `train.host`): its host issue time (its own
    kernels plus the routing kernels) is exposed in full, serialised with its device work."""
    return replace(t, host_s=0.0, host_exposed_s=t.host_s + moe_routing_host_s())


def _attention_slowdown(layer: LayerSpec, system: System, options: TrainOptions) -> tuple[float, float]:
    """(forward, backward) slowdown of the fused attention kernels at this layer's query-key head
    dimension (`train.attention_kernel`)."""
    mixer = layer.mixer
    if not options.flash_attention or not isinstance(mixer, AttentionSpec):
        return 1.0, 1.0
    head_dim = mixer.mla.qk_nope_head_dim + mixer.mla.qk_rope_head_dim if mixer.mla else mixer.head_dim
    family = system.hardware.efficiency.family
    return (special_function_slowdown(head_dim, family, "forward"),
            special_function_slowdown(head_dim, family, "backward"))


def _ring_attention_bytes(layer: LayerSpec, key: ShardKey) -> float:
    """K and V bytes one CP rank passes around the ring per layer (cp - 1 hops of its shard)."""
    mixer = layer.mixer
    if key.cp == 1 or not isinstance(mixer, AttentionSpec):
        return 0.0
    if mixer.mla:
        width = mixer.num_heads * (mixer.mla.qk_nope_head_dim + mixer.mla.qk_rope_head_dim + mixer.mla.v_head_dim)
    else:
        width = max(mixer.num_kv_heads // key.tp, 1) * (mixer.head_dim + mixer.v_head_dim)
    if mixer.mla:
        width //= key.tp
    return (key.cp - 1) * key.micro_batch * key.seq_len / key.cp * width * OUTPUT_BYTES


def layer_costs(model: ModelSpec, key: ShardKey, system: System, precision: TrainingPrecision,
                eff: EfficiencyModel, groups: GroupPlacement, options: TrainOptions,
                unique: tuple[LayerSpec, ...]) -> tuple[LayerCosts, ...]:
    """Costs of each of `unique` (the model's distinct layers), in that order."""
    p = training_pass(key, system.hardware, precision)
    out: list[LayerCosts] = []
    for layer in unique:
        fwd_ops = layer_forward_ops(model, layer, p, key, precision, options)
        bwd_ops = [b for op in fwd_ops for b in backward_ops(op)]
        ring = _ring_attention_bytes(layer, key)
        cp_fwd = collective_s(Collective(kind="p2p", bytes=ring, group=key.cp), groups, system, eff,
                              role="cp") if ring else 0.0
        slow = _attention_slowdown(layer, system, options)
        fwd = _times(fwd_ops, system, eff, groups, slow) + PassTimes(cp_comm_s=cp_fwd)
        bwd = _times(bwd_ops, system, eff, groups, slow) + PassTimes(cp_comm_s=2.0 * cp_fwd)  # K,V and dK,dV
        if options.moe_host_sync and synchronises_host(fwd_ops):
            fwd, bwd = _host_synchronised(fwd), _host_synchronised(bwd)
        attn = _times([op for op in fwd_ops if op.kind == "attention"], system, eff, groups, slow)
        others = tuple(m for m in options.recompute_modules if m != "core_attn")
        mods = _times(recomputed_ops(fwd_ops, others), system, eff, groups, slow)
        out.append(LayerCosts(forward=fwd, backward=bwd, attention_forward=attn,
                              modules_forward=replace(mods, host_s=0.0)))
    return tuple(out)


def head_costs(model: ModelSpec, key: ShardKey, system: System, precision: TrainingPrecision,
               eff: EfficiencyModel, groups: GroupPlacement,
               options: TrainOptions | None = None) -> tuple[LayerCosts, LayerCosts]:
    """(first stage: embedding, last stage: LM head + loss) forward and backward."""
    p = training_pass(key, system.hardware, precision)
    first, last = head_forward_ops(model, p, fused_loss=options.cross_entropy_fusion if options else True)
    result = []
    for ops in (first, last):
        bwd = [b for op in ops for b in backward_ops(op)]
        result.append(LayerCosts(forward=_times(ops, system, eff, groups), backward=_times(bwd, system, eff, groups),
                                 attention_forward=PassTimes()))
    return result[0], result[1]
