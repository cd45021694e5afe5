"""Step time of one optimizer step: pipelined micro-batches, exposed communication, optimizer.

Per micro-batch and stage: forward + backward compute (+ what recompute re-runs), plus the part of
each collective that compute cannot hide. TP collectives with overlap (Megatron --tp-comm-overlap)
pipeline in tp chunks behind the adjacent GEMMs, so one chunk (or any excess over the GEMMs) stays
exposed; the CP ring exchange hides behind the attention kernel; the EP all-to-all is exposed.
Pipeline: m micro-batches through pp stages cost (m + (pp-1)/vp) stage-times, the (pp-1)/vp
part being the bubble (Narayanan et al. 2021, Sec. 2.2). Data parallel: gradient reduce-scatter
(all-reduce without ZeRO) overlaps the last micro-batch's backward and the parameter all-gather the
first forward, down to one bucket, behind the compute that TP/CP overlap has not used already;
ZeRO-3 gathers weights for every micro-batch's forward and backward. The optimizer is memory-bound
over the local FP32 state. Host issue time the GPU waits for (`train.host`: dropless MoE layers
synchronise the host) is its own term.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.train.context import ShardCosts, TrainingContext
from coscale.train.costs import PassTimes
from coscale.train.layout import TrainLayout
from coscale.train.passes import ShardKey
from coscale.train.topology import GroupPlacement, collective_s
from coscale.workload.ops import Collective

BUCKET_PARAMS = 40e6  # Megatron DDP bucket size (parameters) : the last bucket cannot be hidden
OPTIMIZER_BYTES_PER_PARAM = 16.0 + 14.0  # read FP32 master, m, v, grad; write master, m, v, BF16 weight


@dataclass(frozen=True, kw_only=True, slots=True)
class StepBreakdown:
    compute_s: float  # forward + backward, all micro-batches on the bottleneck stage
    recompute_s: float
    tp_comm_s: float  # exposed
    cp_comm_s: float
    ep_comm_s: float
    pp_bubble_s: float
    pp_p2p_s: float
    dp_comm_s: float
    optimizer_s: float
    host_s: float = 0.0  # GPU idle waiting for the host to issue kernels (train.host)

    @property
    def step_time_s(self) -> float:
        return (self.compute_s + self.recompute_s + self.tp_comm_s + self.cp_comm_s + self.ep_comm_s
                + self.pp_bubble_s + self.pp_p2p_s + self.dp_comm_s + self.optimizer_s + self.host_s)

    def as_dict(self) -> dict[str, float]:
        return {"compute": self.compute_s, "recompute": self.recompute_s, "host": self.host_s,
                "exposed_comm": {"tp": self.tp_comm_s, "cp": self.cp_comm_s, "ep": self.ep_comm_s,
                                 "pp_p2p": self.pp_p2p_s, "dp": self.dp_comm_s},
                "pipeline_bubble": self.pp_bubble_s, "optimizer": self.optimizer_s}


@dataclass(frozen=True, kw_only=True, slots=True)
class _Stage:
    fwd: PassTimes
    bwd: PassTimes
    recompute: PassTimes


def _stage_passes(ctx: TrainingContext, costs: ShardCosts, layout: TrainLayout) -> list[_Stage]:
    stages = ctx.stage_compositions(layout.pp, layout.vp)
    out = []
    seen: dict[tuple[object, bool, bool], _Stage] = {}
    for i, comp in enumerate(stages):
        tag = (comp, i == 0, i == len(stages) - 1)  # identical middle stages cost the same
        if tag in seen:
            out.append(seen[tag])
            continue
        fwd = bwd = rec = PassTimes()
        for code, n in comp:
            c = costs.layers[code]
            fwd, bwd = fwd + c.forward.scaled(n), bwd + c.backward.scaled(n)
            if layout.recompute == "selective" or (layout.recompute == "none"
                                                   and "core_attn" in ctx.options.recompute_modules):
                rec = rec + c.attention_forward.scaled(n)
            if layout.recompute == "full":
                rec = rec + c.forward.scaled(n)
            else:  # named modules (--recompute-modules) besides the core attention
                rec = rec + c.modules_forward.scaled(n)
        if i == 0:
            fwd, bwd = fwd + costs.first.forward, bwd + costs.first.backward
        if i == len(stages) - 1:
            fwd, bwd = fwd + costs.last.forward, bwd + costs.last.backward
        seen[tag] = _Stage(fwd=fwd, bwd=bwd, recompute=rec)
        out.append(seen[tag])
    return out


def _exposed(t: PassTimes, tp: int, overlap_tp: bool, overlap_cp: bool) -> tuple[float, float, float]:
    """(tp, cp, ep) communication that compute does not hide in one pass."""
    if overlap_tp and tp > 1:
        gemm_s = t.compute_s - t.attention_s
        tp_s = max(t.tp_comm_s / tp, t.tp_comm_s - gemm_s)
    else:
        tp_s = t.tp_comm_s
    cp_s = max(t.cp_comm_s - t.attention_s, 0.0) if overlap_cp else t.cp_comm_s
    return tp_s, cp_s, t.ep_comm_s


def _host_exposed(t: PassTimes, exposed: tuple[float, float, float]) -> float:
    """Host issue time of one pass the GPU waits for: what synchronising layers expose, plus any
    excess of the run-ahead part over the pass's device time (compute and exposed communication)."""
    busy = t.compute_s + sum(exposed)
    return t.host_exposed_s + max(t.host_s - busy, 0.0)


def _free_window(t: PassTimes, tp: int, overlap_tp: bool, overlap_cp: bool,
                 shares_link: tuple[bool, bool] = (True, True)) -> float:
    """Time of one pass in which the data-parallel link is free to hide DP traffic.

    Each link hides its own traffic once. TP (CP) traffic on the same link as the DP collective
    (`shares_link`: (tp, cp)) already uses the compute it hides behind, so that much of the window is
    taken and faster compute never un-hides more than it saves. TP traffic on another link (TP over
    NVLink, DP over the NICs) leaves the DP link idle: the whole compute time is a window, and so is
    the time the compute stream waits on that exposed TP (CP) transfer. Time the compute stream
    waits for the host is a window too: the communication stream runs then."""
    ex = _exposed(t, tp, overlap_tp, overlap_cp)
    window = t.compute_s
    for shared, comm, exposed in ((shares_link[0], t.tp_comm_s, ex[0]), (shares_link[1], t.cp_comm_s, ex[1])):
        window += -(comm - exposed) if shared else exposed
    return max(window, 0.0) + _host_exposed(t, ex)


def _overlapped(comm_s: float, window_s: float, bucket_fraction: float, overlap: bool) -> float:
    if not overlap:
        return comm_s
    return max(comm_s - window_s, comm_s * bucket_fraction)


def step_breakdown(ctx: TrainingContext, layout: TrainLayout) -> StepBreakdown:
    opts = ctx.options
    groups = GroupPlacement(tp=layout.tp, cp=layout.cp, dp=layout.dp, ep=layout.ep)
    key = ShardKey(tp=layout.tp, cp=layout.cp, ep=layout.ep, micro_batch=layout.micro_batch, seq_len=layout.seq_len)
    stages = _stage_passes(ctx, ctx.shard_costs(key, groups), layout)
    m = layout.num_microbatches

    def per_mb(s: _Stage) -> tuple[float, float, float, float, float, float]:
        passes = (s.fwd, s.bwd, s.recompute)
        ex = [_exposed(t, layout.tp, opts.tp_comm_overlap, opts.cp_overlap) for t in passes]
        host = sum(_host_exposed(t, e) for t, e in zip(passes, ex, strict=True))
        return (s.fwd.compute_s + s.bwd.compute_s, s.recompute.compute_s,
                sum(e[0] for e in ex), sum(e[1] for e in ex), sum(e[2] for e in ex), host)

    memo: dict[int, tuple[float, float, float, float, float, float]] = {}
    rows = []
    for s in stages:
        if id(s) not in memo:
            memo[id(s)] = per_mb(s)
        rows.append(memo[id(s)])
    totals = [sum(r) for r in rows]
    worst = max(range(len(rows)), key=totals.__getitem__)
    w = rows[worst]
    # pipeline p2p: activation (fwd) and its gradient (bwd) per chunk boundary, split over the TP ranks
    # when they hold sequence-parallel shards or scatter it (Narayanan et al. 2021 Sec. 4.1)
    p2p = 0.0
    if layout.pp > 1:
        sp = layout.tp if opts.sequence_parallel or opts.p2p_scatter_gather else 1
        msg = layout.micro_batch * layout.seq_len / layout.cp * ctx.model.hidden_size * 2.0 / sp
        p2p = 2.0 * layout.vp * collective_s(Collective(kind="p2p", bytes=msg, group=2), groups, ctx.system,
                                             ctx.efficiency, role="pp", links=ctx.links())
    mean_stage = sum(totals) / len(totals) + p2p
    bubble = (layout.pp - 1) / layout.vp * mean_stage
    dp_s = _dp_exposed(ctx, layout, groups, stages[worst])
    return StepBreakdown(compute_s=m * w[0], recompute_s=m * w[1], tp_comm_s=m * w[2], cp_comm_s=m * w[3],
                         ep_comm_s=m * w[4], pp_bubble_s=bubble, pp_p2p_s=m * p2p, dp_comm_s=dp_s,
                         optimizer_s=_optimizer_s(ctx, layout), host_s=m * w[5])


def dp_overlap_span(layout: TrainLayout) -> float:
    """Micro-batch passes (of the whole stage) the gradient reduce-scatter and the parameter all-gather
    can hide behind, once per step.

    Without interleaving a layer's gradient is final during the last micro-batch's backward, so the
    reduce-scatter hides behind one backward pass (and the all-gather behind the next step's first
    forward). Megatron's interleaved 1F1B schedule (`forward_backward_pipelining_with_interleaving`)
    runs each model chunk's passes in groups of `pp` micro-batches, chunks in turn: the last chunk's
    gradients are final while the last group still has (vp - 1) chunks x min(m, pp) micro-batches of
    backward ahead, each 1/vp of a stage pass, so the window is (min(m, pp) (vp - 1) + 1) / vp stage
    passes; the forward side is symmetric for the parameter all-gather. Derived from the schedule, not
    fitted."""
    if layout.vp <= 1 or layout.pp <= 1:
        return 1.0
    return (min(layout.num_microbatches, layout.pp) * (layout.vp - 1) + 1) / layout.vp


def gathered_param_bytes(ctx: TrainingContext) -> float:
    """Bytes per parameter the distributed optimizer all-gathers: the 16-bit working weight, or with
    FP8 parameters (`TrainOptions.fp8_param_gather`) the recipe's low-precision weight, scales included."""
    p = ctx.precision
    if ctx.options.fp8_param_gather and p.low_precision_gemms:
        return p.weights.bytes_per_element
    return p.working_weight_bytes


def _dp_exposed(ctx: TrainingContext, layout: TrainLayout, groups: GroupPlacement, stage: _Stage) -> float:
    params = max(ctx.stage_params(layout), key=lambda s: s.total)
    grad_bytes = 4.0 if ctx.options.fp32_grad_accum else 2.0
    param_bytes = gathered_param_bytes(ctx)
    dense_ranks, expert_ranks = layout.dp * layout.cp, layout.expert_dp
    overlap = ctx.options.dp_overlap

    def coll(kind: str, per_param: float) -> float:
        t = 0.0
        for n, ranks in ((params.dense, dense_ranks), (params.experts, expert_ranks)):
            if n and ranks > 1:
                c = Collective(kind=kind, bytes=n * per_param, group=ranks)  # type: ignore[arg-type]
                t += collective_s(c, groups, ctx.system, ctx.efficiency, role="dp", links=ctx.links())
        return t

    bucket = min(1.0, BUCKET_PARAMS / max(params.total, 1.0))
    opts = ctx.options
    domain = ctx.system.hardware.links.scaleup.domain_size
    dp_intra = groups.intra_domain("dp", domain)
    shares = (groups.intra_domain("tp", domain) == dp_intra, groups.intra_domain("cp", domain) == dp_intra)
    fwd_w = _free_window(stage.fwd, layout.tp, opts.tp_comm_overlap, opts.cp_overlap, shares)
    bwd_w = _free_window(stage.bwd, layout.tp, opts.tp_comm_overlap, opts.cp_overlap, shares)
    if layout.zero >= 3:  # gather weights for forward and backward, reduce-scatter grads, every micro-batch
        per_mb = 2.0 * coll("all_gather", param_bytes) + coll("reduce_scatter", grad_bytes)
        return layout.num_microbatches * _overlapped(per_mb, fwd_w + bwd_w, bucket, overlap)
    span = dp_overlap_span(layout)  # once per step: the window the schedule leaves after the last gradients
    if layout.zero == 0:
        return _overlapped(coll("all_reduce", grad_bytes), span * bwd_w, bucket, overlap)
    if layout.zero == 2:  # no full gradient buffer to accumulate into: reduce-scatter every micro-batch,
        # each behind its own micro-batch's backward
        grads = layout.num_microbatches * _overlapped(coll("reduce_scatter", grad_bytes), bwd_w, bucket, overlap)
    else:
        grads = _overlapped(coll("reduce_scatter", grad_bytes), span * bwd_w, bucket, overlap)
    gather = _overlapped(coll("all_gather", param_bytes), span * fwd_w, bucket, overlap)
    return grads + gather


def _optimizer_s(ctx: TrainingContext, layout: TrainLayout) -> float:
    params = max(ctx.stage_params(layout), key=lambda s: s.total)
    local = params.total
    if layout.zero >= 1:
        local = params.dense / (layout.dp * layout.cp) + params.experts / layout.expert_dp
    hw = ctx.system.hardware
    return local * OPTIMIZER_BYTES_PER_PARAM / (hw.memory.hbm.bandwidth_Bps * ctx.efficiency.memory_stream)
