"""A precomputed step-cost table: the exact step cost, tabulated once per plan, looked up fast.

Like vidur's execution-time predictor (a grid over batch x KV length), but built from the exact
`step_cost` on numpy meshes in a few calls, and split so that lookups stay exact where the cost
is exact-by-construction:

- ops that see every token of the step depend on the token count T alone (tabulated at every T),
  the LM head on the number of sequences, the pipeline hops on T; with DeepEP's all-to-all they also
  depend on whether the step holds prefill tokens (normal kernels) or not (low-latency kernels), so
  they are tabulated for both;
- decode-group ops on (decode sequences n, mean context c): every integer n, c on a log grid with
  the sliding-window knots added;
- prefill GEMMs of one group (MLA's latent expansion) on the group's tokens;
- per-chunk prefill ops (attention, the SSD scan) on (new tokens t, cached prefix p) of each chunk.

The table stores each operator's compute and memory time *before* the roofline max and the
per-kernel floor; a lookup interpolates and sums those, then applies `kernel_time` once per
operator, exactly as the exact path costs one kernel per group. Attention compute time is
additive over chunks under the FlashAttention ramp, and decode attention is affine in the
context, so the only approximations are interpolation (in c, t, p) and, for sliding-window
layers, using the mean decode context. `tests/core/test_step_table.py` checks 1 % against exact.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coscale.cost.energy import gpu_energy_j
from coscale.cost.phase import PassCost
from coscale.cost.plan import ExecutionPlan
from coscale.cost.roofline import kernel_time
from coscale.cost.step import step_cost
from coscale.errors import CoscaleError
from coscale.specs.model import AttentionSpec
from coscale.workload.ops import Op
from coscale.workload.shape import Array, StepShape

_LOG_POINTS = 64  # log-spaced grid points for context / prefix axes
_EXACT_CHUNK = 512  # chunk sizes tabulated at every integer up to here, then every 1 %
_CHUNK_RATIO = 1.01
_FLOAT_CHUNKS_MAX = 64  # steps with up to this many prefill chunks are costed on floats, more on arrays
EXPERT_OPS = ("moe.experts_up", "moe.experts_down")  # the routed experts' grouped GEMMs (workload.ffn)
_GROUP_EXACT = 4096  # group token counts tabulated one by one for lock-step ranks' experts


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class _Component:
    """Per-op costs on a grid: arrays of shape (ops, *grid)."""

    counts: Array  # (ops,)
    compute: Array
    memory: Array
    network: Array  # collectives: final time (their latency is inside)

    def reshaped(self, grid_shape: tuple[int, ...]) -> _Component:
        def r(a: Array) -> Array:
            return a.reshape((a.shape[0], *grid_shape))

        return _Component(counts=self.counts, compute=r(self.compute), memory=r(self.memory), network=r(self.network))

    def time(self, compute: Array, memory: Array, network: Array, floor: float) -> tuple[Array, Array, Array]:
        """(time, compute, memory) summed over ops, from looked-up per-op values (ops first)."""
        t, _ = kernel_time(compute, memory, floor)
        c = self.counts.reshape((-1,) + (1,) * (compute.ndim - 1))
        return (((t + network) * c).sum(axis=0), (compute * c).sum(axis=0), (memory * c).sum(axis=0))


def _component(cost: PassCost, keep: object, grid_shape: tuple[int, ...]) -> _Component:
    ops = [c for c in cost.ops if keep(c.op)]  # type: ignore[operator]

    def stack(values: list[Array]) -> Array:
        return np.stack([np.broadcast_to(v, grid_shape) for v in values]) if values else np.zeros((0, *grid_shape))

    return _Component(counts=np.asarray([c.op.count for c in ops], dtype=np.float64),
                      compute=stack([c.compute_s for c in ops]), memory=stack([c.memory_s for c in ops]),
                      network=stack([c.network_s for c in ops]))


def _log_grid(upper: int, knots: list[float]) -> Array:
    points = np.concatenate([[0.0], np.geomspace(1.0, max(upper, 1), _LOG_POINTS), knots])
    return np.unique(np.round(points[(points >= 0) & (points <= upper)]))


def _chunk_grid(upper: int) -> Array:
    exact = np.arange(1.0, max(min(upper, _EXACT_CHUNK), 2) + 1)  # two points at least: it is interpolated
    if upper <= _EXACT_CHUNK:
        return exact
    n = int(np.ceil(np.log(upper / _EXACT_CHUNK) / np.log(_CHUNK_RATIO)))
    return np.unique(np.concatenate([exact, np.round(_EXACT_CHUNK * _CHUNK_RATIO ** np.arange(1, n + 1)), [upper]]))


def _bracket(grid: Array, x: Array) -> tuple[Array, Array]:
    """(lower index, weight of the upper point) for linear interpolation of x on grid."""
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    w = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, w


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class _FastTotals:
    """Component totals after the roofline, as Python lists: the scalar path indexes them directly."""

    token_time: list[float]
    token_compute: list[float]
    token_memory: list[float]
    # the same in steps that hold prefill tokens (the lists above when the mode changes nothing)
    token_pf_time: list[float]
    token_pf_compute: list[float]
    token_pf_memory: list[float]
    head_time: list[float]
    head_compute: list[float]
    head_memory: list[float]
    gemm_time: list[float]
    gemm_compute: list[float]
    gemm_memory: list[float]
    decode_time: list[list[float]]
    decode_compute: list[list[float]]
    decode_memory: list[list[float]]
    chunk_time: list[list[float]]
    chunk_compute: list[list[float]]
    chunk_memory: list[list[float]]
    hops: list[float]
    context_grid: list[float]
    chunk_grid: list[float]
    prefix_grid: list[float]
    idle_w: float
    dynamic_w: float
    pass_gpus: int  # GPUs running one step
    # per-chunk operators before the roofline (op -> chunk grid -> prefix grid), for several chunks
    chunk_op_counts: list[float]
    chunk_op_stack: Array  # (compute / memory / network, op, chunk grid, prefix grid)
    min_kernel_s: float
    # the routed experts' share of the token ops (time, compute, memory over T; empty without
    # attention-DP + EP): what a step whose group carries other than T x attention-DP tokens replaces
    # with the experts at the group's tokens (`group_experts`, at 0, 1, 2, ... group tokens)
    expert: list[list[float]]
    group_experts: list[list[float]]
    attention_dp: int

    @staticmethod
    def of(plan: ExecutionPlan, grids: tuple[Array, Array, Array], hops: Array, token: Array, token_pf: Array | None,
           head: Array, gemm: Array, decode: Array, chunk: Array, chunk_ops: _Component,
           expert: Array | None, group_experts: Array | None) -> _FastTotals:
        hw = plan.system.hardware
        parts = ("token", "token_pf", "head", "gemm", "decode", "chunk")
        names = [f"{part}_{what}" for part in parts for what in ("time", "compute", "memory")]
        tokens = token.tolist()
        rows = [*tokens, *(tokens if token_pf is None else token_pf.tolist()), *head.tolist(), *gemm.tolist(),
                *decode.tolist(), *chunk.tolist()]
        context_grid, chunk_grid, prefix_grid = (g.tolist() for g in grids)
        return _FastTotals(**dict(zip(names, rows, strict=True)),
                           hops=np.broadcast_to(hops, token.shape[1:]).tolist(), context_grid=context_grid,
                           chunk_grid=chunk_grid, prefix_grid=prefix_grid,
                           idle_w=hw.power.idle_w, dynamic_w=hw.power.tdp_w - hw.power.idle_w,
                           pass_gpus=plan.parallel.pass_gpus,
                           chunk_op_counts=chunk_ops.counts.tolist(),
                           chunk_op_stack=np.stack([chunk_ops.compute, chunk_ops.memory, chunk_ops.network]),
                           min_kernel_s=plan.efficiency.min_kernel_s, expert=[] if expert is None else expert.tolist(),
                           group_experts=[] if group_experts is None else group_experts.tolist(),
                           attention_dp=plan.parallel.attention_dp)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class StepCostTable:
    plan: ExecutionPlan
    max_tokens: int  # tokens per step (decode sequences + prefill tokens)
    max_seqs: int  # sequences per step (decode + prefill chunks)
    max_context: int  # cached tokens of any sequence
    token_ops: _Component  # over T = 0..max_tokens
    token_ops_prefill: _Component | None  # the same in steps holding prefill tokens; None: no difference
    hops: Array  # pipeline transfers over T
    head_ops: _Component  # over rows = 0..max_seqs
    decode_ops: _Component  # over (n = 0..max_seqs, context grid)
    prefill_gemm_ops: _Component  # over prefill tokens 0..max_tokens
    chunk_ops: _Component  # over (chunk grid, prefix grid)
    context_grid: Array
    chunk_grid: Array
    prefix_grid: Array
    # component totals after the roofline, for the scalar fast path: (time, compute, memory) rows
    _fast: _FastTotals

    @staticmethod
    def build(plan: ExecutionPlan, *, max_tokens: int = 16384, max_seqs: int = 1024,
              max_context: int | None = None) -> StepCostTable:
        """Tabulate `plan` for steps of up to `max_tokens` tokens, `max_seqs` sequences and contexts
        up to `max_context` (default: the model's context window, else 131072)."""
        ctx_max = int(max_context or plan.model.max_position_embeddings or 131072)
        if min(max_tokens, max_seqs, ctx_max) < 1:
            raise CoscaleError("a step-cost table needs max_tokens, max_seqs and max_context >= 1.")
        windows = sorted({float(layer.mixer.sliding_window) for layer in plan.model.layers
                          if isinstance(layer.mixer, AttentionSpec) and layer.mixer.sliding_window})
        context_grid = _log_grid(ctx_max, [w + d for w in windows for d in (-1.0, 0.0)])
        prefix_grid = _log_grid(ctx_max, windows)
        chunk_grid = _chunk_grid(max_tokens)

        def per_token(op: Op) -> bool:
            return op.phase == "" and op.name != "lm_head"

        def routed_expert(op: Op) -> bool:  # the expert GEMMs serve the whole attention-DP group's tokens
            return plan.parallel.attention_dp > 1 and op.name.startswith(EXPERT_OPS)

        tokens = np.arange(max_tokens + 1.0)
        dense = step_cost(plan, StepShape.uniform(decode_seqs=tokens))
        rows = np.arange(max_seqs + 1.0)
        head = step_cost(plan, StepShape.uniform(decode_seqs=rows))
        n, c = np.meshgrid(rows, context_grid, indexing="ij")
        decode = step_cost(plan, StepShape.uniform(decode_seqs=n.ravel(), decode_context=c.ravel()))
        prefill_rows = step_cost(plan, StepShape.uniform(prefill_seqs=tokens > 0, prefill_new=np.maximum(tokens, 1)))
        t, p = np.meshgrid(chunk_grid, prefix_grid, indexing="ij")
        chunks = step_cost(plan, StepShape.uniform(prefill_seqs=1, prefill_new=t.ravel(), prefill_prefix=p.ravel()))
        floor = plan.efficiency.min_kernel_s
        token_ops = _component(dense.cost, per_token, tokens.shape)
        # DeepEP runs its normal kernels in a step with prefill tokens, its low-latency ones in a decode step
        token_pf = (_component(prefill_rows.cost, per_token, tokens.shape)
                    if plan.moe_a2a == "deepep" and plan.deepep_mode == "auto" and plan.parallel.ep > 1 else None)
        expert_ops = _component(dense.cost, routed_expert, tokens.shape)
        # the experts again at every group token count up to _GROUP_EXACT (lock-step ranks of unequal
        # batches, `step(..., group_tokens=...)`); above it they come from `expert_ops` at the group's
        # mean per rank, interpolated between whole tokens per rank
        group_grid = np.arange(min(_GROUP_EXACT, max_tokens * plan.parallel.attention_dp) + 1.0)
        group_experts = None
        if len(expert_ops.counts):
            by_group = step_cost(plan, StepShape.uniform(decode_seqs=group_grid / plan.parallel.attention_dp,
                                                         group_tokens=group_grid))
            group_experts = _totals(_component(by_group.cost, routed_expert, group_grid.shape), floor)
        head_ops = _component(head.cost, lambda op: op.name == "lm_head", rows.shape)
        decode_ops = _component(decode.cost, lambda op: op.phase == "decode", (n.size,)).reshaped(n.shape)
        gemm_ops = _component(prefill_rows.cost, lambda op: op.phase == "prefill" and op.gemm_mnk, tokens.shape)
        chunk_ops = _component(chunks.cost, lambda op: op.phase == "prefill" and not op.gemm_mnk,
                               (t.size,)).reshaped(t.shape)
        grids = (context_grid, chunk_grid, prefix_grid)
        return StepCostTable(
            plan=plan, max_tokens=max_tokens, max_seqs=max_seqs, max_context=ctx_max,
            token_ops=token_ops, token_ops_prefill=token_pf, hops=dense.pipeline_s, head_ops=head_ops,
            decode_ops=decode_ops,
            prefill_gemm_ops=gemm_ops, chunk_ops=chunk_ops, context_grid=context_grid, chunk_grid=chunk_grid,
            prefix_grid=prefix_grid,
            _fast=_FastTotals.of(plan, grids, dense.pipeline_s, _totals(token_ops, floor),
                                 None if token_pf is None else _totals(token_pf, floor),
                                 *(_totals(c, floor) for c in (head_ops, gemm_ops, decode_ops, chunk_ops)), chunk_ops,
                                 _totals(expert_ops, floor) if len(expert_ops.counts) else None,
                                 group_experts))

    def lookup(self, shape: StepShape) -> tuple[Array, Array]:
        """(time_s, energy_j) of `shape`, as `step_cost(plan, shape)` would give them."""
        d, pf = shape.decode, shape.prefill
        n = d.num_seqs
        mean_ctx = np.divide(d.total(d.seqs * d.context), n, out=np.zeros_like(n), where=n > 0)
        tokens, rows, prefill_tokens = shape.tokens, shape.num_seqs, pf.tokens
        self._check(tokens, rows, np.max(d.context, initial=0.0), np.max(pf.context + pf.new_tokens, initial=0.0),
                    np.max(pf.new_tokens, initial=1.0))
        floor = self.plan.efficiency.min_kernel_s
        ti, ri, ni, pi = (np.asarray(x).astype(np.int64) for x in (tokens, rows, n, prefill_tokens))
        token = self._exact(self.token_ops, ti, floor)
        if self.token_ops_prefill is not None:
            with_prefill = self._exact(self.token_ops_prefill, ti, floor)
            token = tuple(np.where(pi > 0, b, a) for a, b in zip(token, with_prefill, strict=True))
        parts = [token, self._exact(self.head_ops, ri, floor), self._exact(self.prefill_gemm_ops, pi, floor)]
        ci, cw = _bracket(self.context_grid, mean_ctx)
        parts.append(self.decode_ops.time(*(_lerp(a[:, ni, ci], a[:, ni, ci + 1], cw) for a in self._arrays(
            self.decode_ops)), floor))
        parts.append(self._chunks(pf.seqs, pf.new_tokens, pf.context, floor))
        time = sum(p[0] for p in parts) + self.hops[ti]
        compute, memory = sum(p[1] for p in parts), sum(p[2] for p in parts)
        energy = gpu_energy_j(self.plan.system.hardware, time, compute, memory) * self.plan.parallel.pass_gpus
        return time, energy

    def time_s(self, shape: StepShape) -> Array:
        return self.lookup(shape)[0]

    def step(self, decode_seqs: int, decode_context_sum: float, chunks: Sequence[tuple[int, int]] = (),
             group_tokens: float | None = None) -> tuple[float, float]:
        """(time_s, energy_j) of one step from plain numbers, in microseconds of Python: `decode_seqs`
        sequences whose contexts sum to `decode_context_sum`, and prefill `chunks` of (new tokens,
        cached prefix); `group_tokens`: what the attention-DP group's ranks carry together when not
        every rank carries this one's (the routed experts then serve those, `_group_experts`). Decode
        attention is interpolated on its total, so it agrees with `lookup` except within a grid cell
        where an operator changes bound (well under 1 %)."""
        prefill = sum(c[0] for c in chunks)
        tokens, rows = decode_seqs + prefill, decode_seqs + len(chunks)
        if tokens > self.max_tokens or rows > self.max_seqs:
            self._check(np.float64(tokens), np.float64(rows), 0.0, 0.0, 1.0)
        fast = self._fast
        if prefill:
            tt, tc, tm = fast.token_pf_time, fast.token_pf_compute, fast.token_pf_memory
        else:
            tt, tc, tm = fast.token_time, fast.token_compute, fast.token_memory
        time = tt[tokens] + fast.head_time[rows] + fast.gemm_time[prefill] + fast.hops[tokens]
        busy_c = tc[tokens] + fast.head_compute[rows] + fast.gemm_compute[prefill]
        busy_m = tm[tokens] + fast.head_memory[rows] + fast.gemm_memory[prefill]
        if group_tokens is not None:
            dt, dc, dm = self._group_experts(tokens, group_tokens)
            time, busy_c, busy_m = time + dt, busy_c + dc, busy_m + dm
        if decode_seqs:
            mean = decode_context_sum / decode_seqs
            if mean > self.max_context:
                self._check(np.float64(tokens), np.float64(rows), mean, 0.0, 1.0)
            grid = fast.context_grid
            i = min(max(bisect.bisect_right(grid, mean) - 1, 0), len(grid) - 2)
            w = (mean - grid[i]) / (grid[i + 1] - grid[i])
            for j, row in enumerate((fast.decode_time, fast.decode_compute, fast.decode_memory)):
                a, b = row[decode_seqs][i], row[decode_seqs][i + 1]
                value = a + (b - a) * w
                if j == 0:
                    time += value
                elif j == 1:
                    busy_c += value
                else:
                    busy_m += value
        if len(chunks) == 1:  # the common case: one chunk, bilinear on its totals
            new, prefix = chunks[0]
            if new + prefix > self.max_context or new > self.max_tokens:
                self._check(np.float64(tokens), np.float64(rows), 0.0, float(new + prefix), float(new))
            cg, pg_ = fast.chunk_grid, fast.prefix_grid
            i = min(max(bisect.bisect_right(cg, new) - 1, 0), len(cg) - 2)
            j = min(max(bisect.bisect_right(pg_, prefix) - 1, 0), len(pg_) - 2)
            wi, wj = (new - cg[i]) / (cg[i + 1] - cg[i]), (prefix - pg_[j]) / (pg_[j + 1] - pg_[j])
            values = []
            for table in (fast.chunk_time, fast.chunk_compute, fast.chunk_memory):
                low = table[i][j] + (table[i][j + 1] - table[i][j]) * wj
                high = table[i + 1][j] + (table[i + 1][j + 1] - table[i + 1][j]) * wj
                values.append(low + (high - low) * wi)
            time, busy_c, busy_m = time + values[0], busy_c + values[1], busy_m + values[2]
        elif 1 < len(chunks) <= _FLOAT_CHUNKS_MAX:  # several chunks share one kernel per operator
            t, c, m = self._few_chunks(chunks, tokens, rows)
            time, busy_c, busy_m = time + t, busy_c + c, busy_m + m
        elif chunks:  # many chunks: the per-operator path on arrays
            arr = np.asarray(chunks, dtype=np.float64)
            self._check(np.float64(tokens), np.float64(rows), 0.0, float(np.max(arr.sum(axis=1))),
                        float(arr[:, 0].max()))
            t, c, m = self._chunks(np.ones(len(chunks)), arr[:, 0], arr[:, 1], self.plan.efficiency.min_kernel_s)
            time, busy_c, busy_m = time + float(t), busy_c + float(c), busy_m + float(m)
        if time <= 0:
            return 0.0, 0.0
        utilisation = min(max(busy_c, busy_m) / time, 1.0)  # cost.energy's power model, on floats
        return time, (fast.idle_w + fast.dynamic_w * utilisation) * time * fast.pass_gpus

    def decode_steps(self, decode_seqs: int, context_sums: Array, group_tokens: float | None = None
                     ) -> tuple[Array, Array]:
        """`step(decode_seqs, s, group_tokens=group_tokens)` for every context sum `s` of
        `context_sums` at once (pure-decode steps, e.g. a decode run whose contexts grow by one token
        per sequence each step): the same float operations in the same order on arrays, so each value
        equals the scalar path's."""
        n = decode_seqs
        sums = np.asarray(context_sums, dtype=np.float64)
        if n > self.max_tokens or n > self.max_seqs:
            self._check(np.float64(n), np.float64(n), 0.0, 0.0, 1.0)
        fast = self._fast
        time0 = fast.token_time[n] + fast.head_time[n] + fast.gemm_time[0] + fast.hops[n]
        busy_c0 = fast.token_compute[n] + fast.head_compute[n] + fast.gemm_compute[0]
        busy_m0 = fast.token_memory[n] + fast.head_memory[n] + fast.gemm_memory[0]
        if group_tokens is not None:
            dt, dc, dm = self._group_experts(n, group_tokens)
            time0, busy_c0, busy_m0 = time0 + dt, busy_c0 + dc, busy_m0 + dm
        if not n:
            time, busy_c, busy_m = (np.full(len(sums), v) for v in (time0, busy_c0, busy_m0))
        else:
            mean = sums / n
            if len(mean) and mean.max() > self.max_context:
                self._check(np.float64(n), np.float64(n), float(mean.max()), 0.0, 1.0)
            grid = np.asarray(fast.context_grid)
            i = np.minimum(np.maximum(np.searchsorted(grid, mean, side="right") - 1, 0), len(grid) - 2)
            w = (mean - grid[i]) / (grid[i + 1] - grid[i])
            out = []
            for base, row in ((time0, fast.decode_time), (busy_c0, fast.decode_compute),
                              (busy_m0, fast.decode_memory)):
                r = np.asarray(row[n])
                a, b = r[i], r[i + 1]
                out.append(base + (a + (b - a) * w))
            time, busy_c, busy_m = out
        positive = time > 0
        safe = np.where(positive, time, 1.0)
        utilisation = np.minimum(np.maximum(busy_c, busy_m) / safe, 1.0)
        energy = (fast.idle_w + fast.dynamic_w * utilisation) * time * fast.pass_gpus
        return np.where(positive, time, 0.0), np.where(positive, energy, 0.0)

    def _group_experts(self, tokens: int, group_tokens: float) -> tuple[float, float, float]:
        """(time, compute, memory) to add to a step of `tokens` tokens on this rank when its attention-DP
        group carries `group_tokens` together: the routed experts at the group's tokens in place of those
        at `tokens` x attention-DP (nothing when they are equal). Exact up to _GROUP_EXACT group tokens,
        above it interpolated between the whole tokens per rank around the group's mean."""
        fast = self._fast
        adp = fast.attention_dp
        if not fast.expert or group_tokens == tokens * adp:
            return 0.0, 0.0, 0.0
        g = int(group_tokens)
        if g == group_tokens and g < len(fast.group_experts[0]):
            return tuple(row[g] - own[tokens]  # type: ignore[return-value]
                         for row, own in zip(fast.group_experts, fast.expert, strict=True))
        mean = group_tokens / adp
        if mean > self.max_tokens:
            self._check(np.float64(mean), np.float64(0), 0.0, 0.0, 1.0)
        i = min(int(mean), self.max_tokens - 1)
        w = mean - i
        return tuple(row[i] + (row[i + 1] - row[i]) * w - row[tokens]  # type: ignore[return-value]
                     for row in fast.expert)

    def _few_chunks(self, chunks: Sequence[tuple[int, int]], tokens: int, rows: int) -> tuple[float, float, float]:
        """`_chunks` with the per-chunk interpolation on arrays and the rest on floats: the same
        operations in the same order (the sum over chunks as numpy's pairwise summation,
        `_numpy_sum`), so the values are equal."""
        fast = self._fast
        arr = np.asarray(chunks, dtype=np.float64)
        new, prefix = arr[:, 0], arr[:, 1]
        top_new, top_end = float(new.max()), float((new + prefix).max())
        if top_end > self.max_context or top_new > self.max_tokens:
            self._check(np.float64(tokens), np.float64(rows), 0.0, top_end, top_new)
        cg, pg_ = self.chunk_grid, self.prefix_grid
        i = np.minimum(np.maximum(np.searchsorted(cg, new, side="right") - 1, 0), len(cg) - 2)
        j = np.minimum(np.maximum(np.searchsorted(pg_, prefix, side="right") - 1, 0), len(pg_) - 2)
        wi = (new - cg[i]) / (cg[i + 1] - cg[i])
        wj = (prefix - pg_[j]) / (pg_[j + 1] - pg_[j])
        a = fast.chunk_op_stack  # (3, ops, chunk grid, prefix grid)
        a00, a01, a10, a11 = a[:, :, i, j], a[:, :, i, j + 1], a[:, :, i + 1, j], a[:, :, i + 1, j + 1]
        low = a00 + (a01 - a00) * wj
        high = a10 + (a11 - a10) * wj
        values = (low + (high - low) * wi).tolist()  # (3, ops, chunks)
        floor = fast.min_kernel_s
        n = len(chunks)
        time = busy_c = busy_m = 0.0
        for o, count in enumerate(fast.chunk_op_counts):
            compute, memory, network = (_numpy_sum(values[k][o], 0, n) for k in range(3))
            work = max(compute, memory)  # kernel_time on floats
            t = max(work, floor) if work > 0 else 0.0
            time += (t + network) * count
            busy_c += compute * count
            busy_m += memory * count
        return time, busy_c, busy_m

    @staticmethod
    def _arrays(comp: _Component) -> tuple[Array, Array, Array]:
        return comp.compute, comp.memory, comp.network

    def _exact(self, comp: _Component, index: Array, floor: float) -> tuple[Array, Array, Array]:
        return comp.time(comp.compute[:, index], comp.memory[:, index], comp.network[:, index], floor)

    def _chunks(self, seqs: Array, new: Array, prefix: Array, floor: float) -> tuple[Array, Array, Array]:
        """Per-chunk ops: interpolate each chunk's compute and memory, sum over chunks, then one kernel."""
        ti, tw = _bracket(self.chunk_grid, new)
        pi, pw = _bracket(self.prefix_grid, prefix)

        def summed(a: Array) -> Array:
            low = _lerp(a[:, ti, pi], a[:, ti, pi + 1], pw)
            high = _lerp(a[:, ti + 1, pi], a[:, ti + 1, pi + 1], pw)
            return np.sum(_lerp(low, high, tw) * seqs, axis=-1)

        return self.chunk_ops.time(*(summed(a) for a in self._arrays(self.chunk_ops)), floor)

    def _check(self, tokens: Array, rows: Array, context: float, prefix_end: float, chunk: float) -> None:
        limits = (("tokens", np.max(tokens), self.max_tokens), ("sequences", np.max(rows), self.max_seqs),
                  ("context", max(context, prefix_end), self.max_context), ("chunk tokens", chunk, self.max_tokens))
        for what, value, limit in limits:
            if value > limit:
                raise CoscaleError(f"step has {value:.0f} {what}, beyond this step-cost table's {limit}; "
                                   f"build the table with a larger limit.")


def _totals(comp: _Component, floor: float) -> Array:
    """(time, compute, memory) of a component at every grid point, stacked on a leading axis."""
    return np.stack(comp.time(comp.compute, comp.memory, comp.network, floor))


def _numpy_sum(v: list[float], lo: int, n: int) -> float:
    """`np.sum` of `v[lo:lo + n]` as numpy computes it (pairwise summation: fewer than 8 terms left
    to right, up to 128 in 8 interleaved partial sums, more split in halves), so floats match arrays."""
    if n < 8:
        total = -0.0
        for x in v[lo:lo + n]:
            total += x
        return total
    if n <= 128:
        r = v[lo:lo + 8]
        i = 8
        while i < n - n % 8:
            r = [r[j] + v[lo + i + j] for j in range(8)]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for x in v[lo + i:lo + n]:
            total += x
        return total
    half = n // 2
    half -= half % 8
    return _numpy_sum(v, lo, half) + _numpy_sum(v, lo + half, n - half)


def _lerp(a: Array, b: Array, w: Array) -> Array:
    return a + (b - a) * w
